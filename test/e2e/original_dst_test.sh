#!/usr/bin/env bash
# e2e: transparent interception. In a private network namespace, iptables REDIRECTs the app's
# outbound TCP to the sidecar (uid 1337 is exempt, as in Istio), and the sidecar routes by the
# original destination (SO_ORIGINAL_DST): by Host, by IP:PORT, passthrough, and opaque ports.
# Usage: original_dst_test.sh SIDECAR_BIN ECHO_BIN. Exit 77 = skipped (not root, no netns).
set -euo pipefail
SIDECAR=$1
ECHO=$2
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! command -v iptables >/dev/null; then
  echo "SKIP: needs root, iproute2 and iptables"; exit 77
fi
NS="remora-e2e-$$"
if ! ip netns add "$NS" 2>/dev/null; then echo "SKIP: cannot create a network namespace"; exit 77; fi
WORK=$(mktemp -d)
chmod 777 "$WORK"
cleanup() {
  for p in $(ip netns pids "$NS" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
in_ns() { ip netns exec "$NS" "$@"; }
fail() { echo "FAIL: $*"; echo "--- sidecar stderr"; cat "$WORK/sidecar.err" || true; exit 1; }
wait_file() { for _ in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.05; done; fail "$1 never appeared"; }

in_ns ip link set lo up
in_ns "$ECHO" --listen 127.0.0.1:18080 --id orders --ready-file "$WORK/orders.ready" --log-level warn &
in_ns "$ECHO" --listen 127.0.0.2:18081 --id direct --ready-file "$WORK/direct.ready" --log-level warn &
in_ns "$ECHO" --tcp --banner "220 db ready" --listen 127.0.0.2:3306 --ready-file "$WORK/db.ready" --log-level warn &
wait_file "$WORK/orders.ready"; wait_file "$WORK/direct.ready"; wait_file "$WORK/db.ready"

cat >"$WORK/sidecar.yaml" <<YAML
admin: {address: 127.0.0.1:15000}
concurrency: 2
listeners:
- {name: outbound, address: 127.0.0.1:15001, direction: OUTBOUND, route_config: out}
static_resources:
  clusters:
  - {name: orders, endpoints: [{address: 127.0.0.1:18080}]}
  routes:
  - name: out
    virtual_hosts:
    - name: orders
      domains: [orders, "orders:8080", "127.0.0.2:8080"]
      routes:
      - {match: {prefix: /}, route: {cluster: orders}}
YAML
in_ns setpriv --reuid=1337 --regid=1337 --clear-groups \
  "$SIDECAR" --config "$WORK/sidecar.yaml" --ready-file "$WORK/sidecar.ready" \
  >"$WORK/sidecar.out" 2>"$WORK/sidecar.err" &
wait_file "$WORK/sidecar.ready"

# The interception rules: the sidecar's own traffic (uid 1337) goes out untouched; everything
# else to 127.0.0.2 is redirected to the outbound listener.
in_ns iptables -t nat -A OUTPUT -p tcp -m owner --uid-owner 1337 -j RETURN
in_ns iptables -t nat -A OUTPUT -p tcp -d 127.0.0.2 -j REDIRECT --to-ports 15001

id_of() { in_ns curl -s -m 5 -D - -o /dev/null "$@" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-echo-id"{print $2}'; }

got=$(id_of http://127.0.0.2:8080/by-ip)
[ "$got" = orders ] || fail "original destination 127.0.0.2:8080 should route to orders, got '$got'"
got=$(id_of -H 'Host: orders' http://127.0.0.2:9999/by-host)
[ "$got" = orders ] || fail "Host: orders should route to orders, got '$got'"
got=$(id_of http://127.0.0.2:18081/passthrough)
[ "$got" = direct ] || fail "an unknown destination should pass through to 127.0.0.2:18081, got '$got'"
banner=$(in_ns timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.2/3306; head -c 12 <&3')
[ "$banner" = "220 db ready" ] || fail "opaque port 3306 should pass the server's banner through, got '$banner'"

stats=$(in_ns curl -s -m 5 http://127.0.0.1:15000/stats)
echo "$stats" | grep -q '^remora_tcp_cx_total{listener="outbound"} 1$' || fail "one opaque TCP connection expected: $(echo "$stats" | grep tcp_cx)"
echo "$stats" | grep -q '^remora_upstream_rq_total{cluster="PassthroughCluster",code_class="2xx"} 1$' \
  || fail "one passthrough request expected"
echo "PASS: redirected traffic routed by Host, by original destination, passthrough and opaque"
