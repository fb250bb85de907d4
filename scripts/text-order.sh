#!/usr/bin/env bash
# Writes sidecar/text_order.txt: the functions remora-sidecar runs (start-up, HTTP/1 keep-alive
# and close, h2c, a policy-heavy YAML config, the admin and metrics endpoints), hottest first,
# as the linker's symbol names. The Release build links the sidecar with lld and this list
# (--symbol-ordering-file, sidecar/CMakeLists.txt): the code that runs sits together at the
# start of .text, and the kernel's fault-around (64 KiB around each page touched) maps little
# of the code that never runs. Idle RSS went from about 6.3 to 4.6 MiB with it.
#
#   bash scripts/text-order.sh        # after `make build`; about a minute; then rebuild
#
# Run it again when the sidecar's code changed much: functions missing from the list still
# work (they are placed after the listed ones) but cost idle RSS again. Needs valgrind and
# curl; h2load (nghttp2-client) adds multiplexed h2c. Traffic only goes to 127.0.0.1.
# Environment: REMORA_SIDECAR, REMORA_ECHO (default: the build/ binaries), OUT.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SIDECAR=${REMORA_SIDECAR:-$ROOT/build/sidecar/remora-sidecar}
ECHO=${REMORA_ECHO:-$ROOT/build/test/apps/echo/remora-echo}
OUT=${OUT:-$ROOT/sidecar/text_order.txt}
command -v valgrind >/dev/null || { echo "text-order: valgrind is not installed" >&2; exit 2; }
command -v curl >/dev/null || { echo "text-order: curl is not installed" >&2; exit 2; }
[[ -x $SIDECAR && -x $ECHO ]] || { echo "text-order: build first ($SIDECAR, $ECHO)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/remora-text-order.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

# wait_file FILE: up to 30 s (the sidecar starts slowly under valgrind).
wait_file() {
  local i
  for ((i = 0; i < 300; i++)); do
    [[ -s $1 ]] && return 0
    sleep 0.1
  done
  echo "text-order: $1 did not appear" >&2
  return 1
}
json_field() { /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

"$ECHO" --listen 127.0.0.1:0 --ready-file "$TMP/echo.ready" >/dev/null 2>&1 &
PIDS+=($!)
wait_file "$TMP/echo.ready"
UPSTREAM=$(json_field "$TMP/echo.ready" 'd["listen"]')

# profile NAME ARGS...: the sidecar under callgrind with ARGS, the traffic below, then a clean
# stop; leaves $TMP/cg.NAME.
profile() {
  local name=$1 pid main admin i
  shift
  rm -f "$TMP/$name.ready"
  valgrind --tool=callgrind --demangle=no --callgrind-out-file="$TMP/cg.$name" \
    "$SIDECAR" "$@" --admin 127.0.0.1:0 --ready-file "$TMP/$name.ready" \
    >"$TMP/$name.out" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_file "$TMP/$name.ready"
  main=$(json_field "$TMP/$name.ready" 'list(d["listeners"].values())[0]')
  admin=$(json_field "$TMP/$name.ready" 'd["admin"]')
  for ((i = 0; i < 20; i++)); do
    curl -s -o /dev/null -o /dev/null "http://$main/keep-alive/$i" "http://$main/second"
    curl -s -o /dev/null -H 'connection: close' "http://$main/close/$i"
    # (one URL per h2c curl: Debian 12's curl 7.88.1 fails a reused prior-knowledge connection
    # with error 16, curl pull request 10643)
    curl -s -o /dev/null --http2-prior-knowledge "http://$main/h2/$i"
    curl -s -o /dev/null -X POST --data-binary "body-$i" "http://$main/post/$i"
  done
  if command -v h2load >/dev/null; then
    h2load -n 200 -c 4 -m 10 "http://$main/h2load" >/dev/null 2>&1 || true
  fi
  for path in /ready /healthz /stats /stats/prometheus /clusters /listeners /requests /server_info; do
    curl -s -o /dev/null "http://$admin$path"
  done
  kill -INT "$pid"
  wait "$pid" || true
}

profile plain --listen 127.0.0.1:0 --upstream "$UPSTREAM" --concurrency 1
sed -e "s/@LISTEN@/127.0.0.1:0/" -e "s/@UPSTREAM@/$UPSTREAM/" \
  "$ROOT/test/bench/policy.yaml" >"$TMP/policy.yaml"
profile policy --config "$TMP/policy.yaml"

# The sidecar's own functions with any cost, hottest first; the plain run's first, then what
# only the policy run used. (Functions of the shared C libraries are not the binary's.)
{
  for name in plain policy; do
    callgrind_annotate --threshold=100 "$TMP/cg.$name" 2>/dev/null |
      grep -F "[$SIDECAR]" |
      sed -E 's/^ *[0-9,]+ +\([ 0-9.]+%\) +[^ ]*:([^ ]+) \[.*$/\1/'
  done
} | awk '!seen[$0]++' | grep -v '^0x' >"$TMP/order"
[[ $(wc -l <"$TMP/order") -gt 500 ]] || { echo "text-order: too few functions; see $TMP" >&2; exit 1; }
{
  echo "# remora-sidecar's functions that run, hottest first: written by scripts/text-order.sh"
  echo "# ($(date -u +%Y-%m-%d), $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)); see that script."
  cat "$TMP/order"
} >"$OUT"
echo "text-order: $(grep -vc '^#' "$OUT") functions written to $OUT"
