#!/usr/bin/env bash
# Instructions per proxied request, plain vs with a realistic policy set, counted by valgrind's
# callgrind: a figure that does not flake on a noisy machine (timings are compared as ratios in
# run.sh; this is the cross-check).
#
#   bash test/bench/policy_instructions.sh     # about a minute
#
# For each row the sidecar runs under callgrind twice, serving N1 and N2 keep-alive GETs
# from one client to a remora-echo upstream; (Ir(N2) - Ir(N1)) / (N2 - N1) is the cost of one
# request with start-up and shutdown cancelled out. Prints both figures and their ratio.
#
# Environment: REMORA_SIDECAR, REMORA_ECHO (default: the build/ binaries), N1 (300), N2 (1300).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SIDECAR=${REMORA_SIDECAR:-$ROOT/build/sidecar/remora-sidecar}
ECHO=${REMORA_ECHO:-$ROOT/build/test/apps/echo/remora-echo}
N1=${N1:-300}
N2=${N2:-1300}
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
[[ -x $SIDECAR && -x $ECHO ]] || { echo "build first: $SIDECAR / $ECHO missing" >&2; exit 2; }

TMP=$(mktemp -d /tmp/remora-instr.XXXXXX)
ECHO_PID=
cleanup() {
  [[ -n $ECHO_PID ]] && kill "$ECHO_PID" 2>/dev/null || true
  [[ -n ${KEEP_TMP:-} ]] || rm -rf "$TMP"
}
trap cleanup EXIT

"$ECHO" --listen 127.0.0.1:0 --id up --ready-file "$TMP/echo.ready" >/dev/null 2>&1 &
ECHO_PID=$!
for _ in $(seq 100); do [[ -s $TMP/echo.ready ]] && break; sleep 0.1; done
UP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listen"])' "$TMP/echo.ready")

# The plain row is quick mode, as in run.sh; the policy row is test/bench/policy.yaml.
sed -e "s/@LISTEN@/127.0.0.1:0/" -e "s/@UPSTREAM@/$UP/" "$HERE/policy.yaml" >"$TMP/policy.yaml"
declare -A ARGS=(
  [plain]="--listen 127.0.0.1:0 --upstream $UP --concurrency 1 --access-log off"
  [policy]="--config $TMP/policy.yaml"
)

# run ROW N: prints the instructions callgrind counted for a sidecar that served N requests.
run() {
  local cfg=$1 n=$2 out=$TMP/cg.$1.$2
  rm -f "$TMP/ready"
  # shellcheck disable=SC2086 # ARGS holds whole argument lists
  valgrind --tool=callgrind --callgrind-out-file="$out" "$SIDECAR" ${ARGS[$cfg]} \
    --admin 127.0.0.1:0 --ready-file "$TMP/ready" >/dev/null 2>"$TMP/vg.err" &
  local pid=$!
  for _ in $(seq 300); do [[ -s $TMP/ready ]] && break; sleep 0.1; done
  [[ -s $TMP/ready ]] || { echo "sidecar did not start under valgrind:" >&2; tail "$TMP/vg.err" >&2; exit 1; }
  local port admin
  port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listeners"]["main"])' "$TMP/ready")
  admin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$TMP/ready")
  python3 - "$port" "$n" <<'PY'
import http.client, sys
host, port = sys.argv[1].rsplit(":", 1)
c = http.client.HTTPConnection(host, int(port), timeout=30)
for _ in range(int(sys.argv[2])):
    c.request("GET", "/")
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
PY
  python3 -c 'import sys,urllib.request; urllib.request.urlopen(urllib.request.Request("http://"+sys.argv[1]+"/quitquitquit", method="POST"), timeout=30).read()' "$admin" >/dev/null
  wait "$pid" || true
  sed -n 's/^summary: *//p; s/^totals: *//p' "$out" | head -n 1
}

declare -A per_request
for cfg in plain policy; do
  a=$(run "$cfg" "$N1")
  b=$(run "$cfg" "$N2")
  per_request[$cfg]=$(( (b - a) / (N2 - N1) ))
  printf '%-7s %10d instructions per request   (Ir %d for %d requests, %d for %d)\n' \
    "$cfg" "${per_request[$cfg]}" "$a" "$N1" "$b" "$N2"
done
awk -v p="${per_request[policy]}" -v q="${per_request[plain]}" \
  'BEGIN { printf "policy / plain: %.3fx instructions per request\n", p / q }'
