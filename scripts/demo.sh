#!/usr/bin/env bash
# make demo: start three remora-echo backends and one remora-sidecar with the example static
# config (sidecar/examples/static.yaml), send traffic through it, and print what happened.
# Exits on its own; `make demo DEMO_ARGS=--keep-running` keeps everything up until Ctrl-C.
set -euo pipefail

KEEP=0
for arg in "$@"; do
  case "$arg" in
    --keep-running) KEEP=1 ;;
    *) echo "demo: unknown argument $arg (only --keep-running)" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BUILD:-$ROOT/build}
SIDECAR=$BIN/sidecar/remora-sidecar
ECHO=$BIN/test/apps/echo/remora-echo
CONFIG=$ROOT/sidecar/examples/static.yaml
WORK=$(mktemp -d)
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

wait_file() {  # wait_file FILE WHAT: up to 10 s
  for _ in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.1; done
  echo "demo: $2 did not come up; its log:" >&2
  cat "$WORK"/*.log >&2 || true
  exit 1
}

for port in 9001 9002 9003 15000 15001 15006 15021 15090; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "demo: port $port is already in use on 127.0.0.1; stop what holds it and retry" >&2
    exit 1
  fi
done

bold() { printf '\033[1m%s\033[0m\n' "$*"; }

bold "== starting backends: remora-echo echo-a :9001, echo-b :9002, local-app :9003"
"$ECHO" --listen 127.0.0.1:9001 --id echo-a --ready-file "$WORK/a.ready" >"$WORK/echo-a.log" 2>&1 &
PIDS+=($!)
"$ECHO" --listen 127.0.0.1:9002 --id echo-b --ready-file "$WORK/b.ready" >"$WORK/echo-b.log" 2>&1 &
PIDS+=($!)
"$ECHO" --listen 127.0.0.1:9003 --id local-app --ready-file "$WORK/c.ready" >"$WORK/local-app.log" 2>&1 &
PIDS+=($!)
wait_file "$WORK/a.ready" echo-a; wait_file "$WORK/b.ready" echo-b; wait_file "$WORK/c.ready" local-app

bold "== starting remora-sidecar --config sidecar/examples/static.yaml"
"$SIDECAR" --config "$CONFIG" --ready-file "$WORK/sidecar.ready" \
  >"$WORK/access.log" 2>"$WORK/sidecar.log" &
PIDS+=($!)
wait_file "$WORK/sidecar.ready" remora-sidecar
echo "   ready: $(cat "$WORK/sidecar.ready")"

# send NAME N curl-args...: N requests; records status, x-echo-id / x-remora-reason, time.
send() {
  local name=$1 n=$2; shift 2
  for _ in $(seq 1 "$n"); do
    curl -s -o /dev/null -D "$WORK/h" -w '%{http_code} %{time_total}\n' "$@" >>"$WORK/$name.codes" || echo "000 0" >>"$WORK/$name.codes"
    { grep -i '^x-echo-id:' "$WORK/h" || grep -i '^x-remora-reason:' "$WORK/h" || echo "-: -"; } \
      | tr -d '\r' | awk '{print $2}' >>"$WORK/$name.who"
  done
}

bold "== traffic"
echo "   outbound, Host: echo (round robin over echo-a / echo-b)     x 40"
send outbound 40 -H 'Host: echo' http://127.0.0.1:15001/hello
echo "   outbound as a forward proxy: curl -x 127.0.0.1:15001 http://echo:8080/  x 10"
send forward 10 -x http://127.0.0.1:15001 http://echo:8080/catalog
echo "   inbound to the local app (127.0.0.1:15006)                  x 20"
send inbound 20 http://127.0.0.1:15006/orders
echo "   outbound to a host no route knows (expect 404 no-route)     x 3"
send noroute 3 -H 'Host: payments' http://127.0.0.1:15001/pay
echo "   echo told to reset the connection (expect 502 upstream-reset) x 2"
send reset 2 -H 'Host: echo' -H 'x-echo-reset: 1' http://127.0.0.1:15001/boom
echo "   a 64 KiB body both ways, streamed                            x 5"
head -c 65536 /dev/urandom >"$WORK/body.bin"
send body 5 -H 'Host: echo' --data-binary @"$WORK/body.bin" http://127.0.0.1:15001/echo-body

bold "== what happened"
printf '   %-10s %-8s %-40s %s\n' "traffic" "requests" "status codes" "answered by (x-echo-id / x-remora-reason)"
for t in outbound forward inbound noroute reset body; do
  codes=$(awk '{print $1}' "$WORK/$t.codes" | sort | uniq -c | awk '{printf "%s x%s  ", $2, $1}')
  who=$(sort "$WORK/$t.who" | uniq -c | awk '{printf "%s x%s  ", $2, $1}')
  printf '   %-10s %-8s %-40s %s\n' "$t" "$(wc -l <"$WORK/$t.codes")" "$codes" "$who"
done
all=$(cat "$WORK"/*.codes | awk '$1 ~ /^2/ {print $2*1000}' | sort -n)
count=$(echo "$all" | wc -l)
p50=$(echo "$all" | awk -v n="$count" 'NR==int(n*0.5)+1{print; exit}')
p99=$(echo "$all" | awk -v n="$count" 'NR==int(n*0.99)+1{print; exit}')
echo "   client-side latency of the 2xx requests (curl, new connection each): p50 ${p50} ms, p99 ${p99} ms"

ADMIN=http://127.0.0.1:15000
echo
bold "== the sidecar's own view (admin API on $ADMIN)"
curl -s "$ADMIN/stats" | grep -E '^remora_(downstream_rq_total|upstream_rq_total)\{.*\} [1-9]' | sed 's/^/   /'
curl -s "$ADMIN/stats" | grep -E '^remora_upstream_rq_time_ms\{cluster="echo",quantile' | sed 's/^/   /'
echo "   last request's decision trail (GET $ADMIN/requests?limit=1):"
curl -s "$ADMIN/requests?limit=1" | sed 's/^/   /'
echo
echo "   access log (stdout of the sidecar), last 3 lines:"
sleep 1.1  # the access log is flushed once a second
tail -n 3 "$WORK/access.log" | sed 's/^/   /'
echo
bold "== where to look"
cat <<EOT
   $ADMIN/ready  /server_info  /stats  /stats/prometheus  /clusters  /listeners
   $ADMIN/config_dump  /requests  (POST /logging?level=debug, /drain, /quitquitquit)
   Prometheus scrape port: http://127.0.0.1:15090/stats/prometheus
   Readiness for kubelet:  http://127.0.0.1:15021/healthz/ready
EOT

if [ "$KEEP" = 1 ]; then
  bold "== running until Ctrl-C (outbound 127.0.0.1:15001, inbound 127.0.0.1:15006)"
  wait
else
  bold "== done (make demo DEMO_ARGS=--keep-running keeps it up)"
fi
