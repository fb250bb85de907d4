#!/usr/bin/env bash
# e2e: Istio-style inbound capture with real iptables. A client network namespace and a pod
# network namespace are joined by a veth pair; in the pod, nat PREROUTING REDIRECTs every
# inbound TCP connection to the sidecar's inbound listener (15006, protocol DETECT), the sidecar
# runs as uid 1337 and remora-echo is the app on 127.0.0.1:8080. Inbound HTTP goes to
# 127.0.0.1:<the port the client dialled>.
#
# Detection (HTTP policies whatever the method or how the bytes are split): a route with a
# 1/minute rate limit and a request-header removal must hold for extension methods (PROPFIND),
# for requests pipelined behind them, for a leading CRLF and for a request line split across
# the detection timeout; the app must see x-request-id and the appended x-forwarded-for, never
# the removed header; the requests are in the access log and in /requests.
# The sidecar's own ports: a remote client dialling podIP:15000 (the admin port, bound to
# 127.0.0.1 in the pod) must not reach the admin API, whether it speaks HTTP at once or is
# silent past the detection timeout, and POST /quitquitquit must not stop the sidecar.
#
# Every check runs and reports; the exit code is 1 if any failed.
# Usage: inbound_capture_test.sh SIDECAR_BIN ECHO_BIN. Exit 77 = skipped (not root, no netns).
set -uo pipefail
SIDECAR=$1
ECHO=$2
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! command -v iptables >/dev/null ||
  ! command -v setpriv >/dev/null || ! command -v curl >/dev/null; then
  echo "SKIP: needs root, iproute2, iptables, setpriv and curl"; exit 77
fi
CLI="remora-e2e-cli-$$"
POD="remora-e2e-pod-$$"
if ! ip netns add "$CLI" 2>/dev/null; then echo "SKIP: cannot create a network namespace"; exit 77; fi
if ! ip netns add "$POD" 2>/dev/null; then ip netns del "$CLI"; echo "SKIP: cannot create a network namespace"; exit 77; fi
WORK=$(mktemp -d)
chmod 777 "$WORK"
cleanup() {
  for ns in "$CLI" "$POD"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  done
  sleep 0.2
  for ns in "$CLI" "$POD"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
in_cli() { ip netns exec "$CLI" "$@"; }
in_pod() { ip netns exec "$POD" "$@"; }
FAILED=0
fail() { echo "FAIL: $*"; FAILED=1; }
pass() { echo "ok: $*"; }
abort() { echo "FAIL: $*"; echo "--- sidecar stderr"; cat "$WORK/sidecar.err" 2>/dev/null; exit 1; }
wait_file() { for _ in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.05; done; abort "$1 never appeared"; }

CLI_IP=10.254.7.1
POD_IP=10.254.7.2
ip link add "rc$$" type veth peer name "rp$$" || abort "cannot create a veth pair"
ip link set "rc$$" netns "$CLI"
ip link set "rp$$" netns "$POD"
in_cli ip addr add "$CLI_IP/30" dev "rc$$"
in_pod ip addr add "$POD_IP/30" dev "rp$$"
for ns in "$CLI" "$POD"; do ip netns exec "$ns" ip link set lo up; done
in_cli ip link set "rc$$" up
in_pod ip link set "rp$$" up

in_pod "$ECHO" --listen 127.0.0.1:8080 --id app --ready-file "$WORK/app.ready" --log-level warn &
wait_file "$WORK/app.ready"

cat >"$WORK/sidecar.yaml" <<YAML
admin: {address: 127.0.0.1:15000}
concurrency: 2
listeners:
- {name: inbound, address: 0.0.0.0:15006, direction: INBOUND, route_config: in}
static_resources:
  clusters:
  - {name: local-app, type: ORIGINAL_DST}
  routes:
  - name: in
    virtual_hosts:
    - name: app
      domains: ["*"]
      routes:
      - name: limited
        match: {prefix: /limited}
        route: {cluster: local-app}
        rate_limit: {requests_per_unit: 1, unit: MINUTE}
        request_headers: {remove: [x-secret]}
      - name: app
        match: {prefix: /}
        route: {cluster: local-app}
        request_headers: {remove: [x-secret]}
YAML
in_pod setpriv --reuid=1337 --regid=1337 --clear-groups \
  "$SIDECAR" --config "$WORK/sidecar.yaml" --ready-file "$WORK/sidecar.ready" \
  >"$WORK/sidecar.out" 2>"$WORK/sidecar.err" &
wait_file "$WORK/sidecar.ready"
SIDECAR_PID=$(in_pod pgrep -u 1337 -n -f "$WORK/sidecar.yaml")
[ -n "$SIDECAR_PID" ] || abort "cannot find the sidecar's pid"

# The capture rule, as Istio's init container writes it: every TCP connection coming into the
# pod goes to the inbound listener. (Istio exempts its health and metrics ports, 15021 and
# 15090, so that kubelet and Prometheus reach them directly; this sidecar listens on neither.)
in_pod iptables -t nat -A PREROUTING -p tcp -j REDIRECT --to-ports 15006

# raw PORT FIRST PAUSE REST: from the client namespace, sends FIRST, waits PAUSE seconds, sends
# REST (printf %b escapes), then prints everything the server sends until it closes.
raw() {
  in_cli timeout 8 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1; printf "%b" "$2" >&3
    sleep "$3"; printf "%b" "$4" >&3; cat <&3' "$POD_IP" "$@" 2>/dev/null
}
statuses() { tr -d '\r' | grep -Eo '^HTTP/1\.[01] [0-9]{3}' | awk '{print $2}' | tr '\n' ' '; }
# The app's view of one request (remora-echo's JSON): policies applied or not.
check_app_view() {
  local what=$1 answer=$2
  if ! echo "$answer" | grep -q '"id":"app"'; then
    fail "$what: no answer from the app: $(echo "$answer" | head -c 300)"; return
  fi
  echo "$answer" | grep -q '"x-request-id":"' || fail "$what: the app got no x-request-id"
  echo "$answer" | grep -q "\"x-forwarded-for\":\"6.6.6.6, $CLI_IP\"" ||
    fail "$what: the app got x-forwarded-for $(echo "$answer" | grep -o '"x-forwarded-for":"[^"]*"'), not '6.6.6.6, $CLI_IP'"
  ! echo "$answer" | grep -q 's3cr3t' || fail "$what: the app got the removed header x-secret"
  echo "$answer" | grep -q '"x-forwarded-proto":"http"' || fail "$what: the app got no x-forwarded-proto"
}
SPOOF='x-forwarded-for: 6.6.6.6\r\nx-secret: s3cr3t\r\n'

# --- A.1: the same policies whatever the method and however the bytes arrive ---------------
s1=$(in_cli curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$POD_IP:8080/limited/1")
s2=$(in_cli curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$POD_IP:8080/limited/2")
if [ "$s1" = 200 ] && [ "$s2" = 429 ]; then pass "GET #1 $s1, GET #2 $s2"; else fail "GET #1 $s1, GET #2 $s2 (want 200, 429)"; fi

got=$(raw 8080 "PROPFIND /limited/p HTTP/1.1\r\nHost: app\r\n${SPOOF}\r\nGET /limited/g1 HTTP/1.1\r\nHost: app\r\n\r\nGET /limited/g2 HTTP/1.1\r\nHost: app\r\n\r\nGET /limited/g3 HTTP/1.1\r\nHost: app\r\nconnection: close\r\n\r\n" 0 "" | statuses)
if [ "$got" = "429 429 429 429 " ]; then pass "PROPFIND + 3 pipelined GETs: $got";
else fail "PROPFIND + 3 pipelined GETs on the rate-limited route got '$got' (want 429 x4)"; fi

answer=$(raw 8080 "PROPFIND /propfind HTTP/1.1\r\nHost: app\r\n${SPOOF}connection: close\r\n\r\n" 0 "")
check_app_view "PROPFIND" "$answer"
answer=$(raw 8080 "\r\nGET /leading-crlf HTTP/1.1\r\nHost: app\r\n${SPOOF}connection: close\r\n\r\n" 0 "")
check_app_view "a leading CRLF" "$answer"
answer=$(raw 8080 "GE" 0.6 "T /split HTTP/1.1\r\nHost: app\r\n${SPOOF}connection: close\r\n\r\n")
check_app_view "\"GE\", 0.6 s, \"T /split ...\"" "$answer"
[ "$FAILED" = 0 ] && pass "PROPFIND, leading CRLF and split request line got the header policies"

if grep -q 'no client bytes within' "$WORK/sidecar.err"; then
  fail "a client that sent bytes was logged as silent: $(grep 'no client bytes' "$WORK/sidecar.err" | head -1)"
fi
logged=0
for _ in $(seq 1 40); do
  if grep -q '"PROPFIND /limited/p HTTP/1.1" 429' "$WORK/sidecar.out" &&
    grep -q '"GET /limited/g3 HTTP/1.1" 429' "$WORK/sidecar.out" &&
    grep -q '"PROPFIND /propfind HTTP/1.1" 200' "$WORK/sidecar.out" &&
    grep -q '"GET /leading-crlf HTTP/1.1" 200' "$WORK/sidecar.out" &&
    grep -q '"GET /split HTTP/1.1" 200' "$WORK/sidecar.out"; then logged=1; break; fi
  sleep 0.1
done
if [ "$logged" = 1 ]; then pass "the requests are in the access log"; else
  fail "the access log lacks the PROPFIND / pipelined / CRLF / split requests:"; cat "$WORK/sidecar.out"; fi
reqs=$(in_pod curl -s -m 5 "http://127.0.0.1:15000/requests?limit=100")
for p in '"/limited/p"' '"/limited/g3"' '"/propfind"' '"/leading-crlf"' '"/split"'; do
  echo "$reqs" | grep -q "\"path\":$p" || fail "/requests lacks the request for $p"
done

# --- B.8: the sidecar's own ports are not reachable through the capture ---------------------
info=$(in_cli curl -s -m 5 -D "$WORK/h.txt" "http://$POD_IP:15000/server_info")
if echo "$info" | grep -q '"uptime'; then fail "remote GET podIP:15000/server_info reached the admin: $info";
elif grep -qi '^x-remora-reason: sidecar-port' "$WORK/h.txt" && head -1 "$WORK/h.txt" | grep -q ' 403'; then
  pass "remote GET podIP:15000/server_info: $(head -1 "$WORK/h.txt" | tr -d '\r'), sidecar-port"
else fail "remote GET podIP:15000/server_info: want 403 sidecar-port, got $(tr -d '\r' <"$WORK/h.txt" | tr '\n' ' ')"; fi

silent=$(raw 15000 "" 0.6 "GET /server_info HTTP/1.1\r\nHost: x\r\nconnection: close\r\n\r\n")
if echo "$silent" | grep -q '"uptime'; then fail "a client silent past the detection timeout reached the admin as TCP";
elif [ -n "$silent" ]; then fail "a client silent past the detection timeout got bytes back: $(echo "$silent" | head -c 200)";
else pass "a silent client to podIP:15000 was closed"; fi

quit=$(in_cli curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST "http://$POD_IP:15000/quitquitquit")
sleep 0.5
if kill -0 "$SIDECAR_PID" 2>/dev/null && in_pod curl -s -m 2 http://127.0.0.1:15000/ready | grep -q READY; then
  pass "remote POST podIP:15000/quitquitquit ($quit) left the sidecar running"
else fail "remote POST podIP:15000/quitquitquit ($quit) stopped the sidecar"; fi

stats=$(in_pod curl -s -m 5 http://127.0.0.1:15000/stats)
for line in 'remora_protocol_detect_total{listener="inbound",protocol="http",reason="partial-at-timeout"} 1' \
  'remora_protocol_detect_total{listener="inbound",protocol="tcp",reason="silent"} 1' \
  'remora_own_port_refused_total{listener="inbound",protocol="http"} 2' \
  'remora_own_port_refused_total{listener="inbound",protocol="tcp"} 1'; do
  echo "$stats" | grep -qF "$line" || fail "/stats lacks '$line': $(echo "$stats" | grep -E 'detect|own_port' | tr '\n' ' ')"
done
grep -q 'sidecar.*own port\|own port' "$WORK/sidecar.err" || fail "no log line about the refused own-port connections"

if [ "$FAILED" != 0 ]; then
  echo "--- sidecar stderr"; tail -n 30 "$WORK/sidecar.err"
  exit 1
fi
echo "PASS: inbound capture applies HTTP policies to every request and never reaches the sidecar's own ports"
