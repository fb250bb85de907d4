#!/usr/bin/env bash
# e2e: `remora-sidecar iptables` installs the interception of two "pods". A client network
# namespace and a server network namespace are joined by a veth pair (IPv4, and IPv6 where
# ip6tables works); each runs its own remora-sidecar as uid 1337 (static config: outbound
# listener 15001 passing through to the original destination, inbound listener 15006 to
# 127.0.0.1:<the port dialled>), with rules written by the real command
# (`ip netns exec NS remora-sidecar iptables ...`). The server app is remora-echo on 127.0.0.1
# only, so a request from the client reaches it only through the server's inbound capture.
#
# Shown: a request to SERVER_IP:PORT is in the client sidecar's access log (listener outbound)
# and the server sidecar's (listener inbound) and reaches the app on the port the client
# dialled (SO_ORIGINAL_DST); an excluded outbound port, an excluded outbound range and an
# excluded inbound port (set through the REMORA_EXCLUDE_INBOUND_PORTS environment twin) bypass
# the proxy they name; the proxy's own uid is exempt (no loop, one log line per request) except
# when it dials its own pod's address, which goes through the inbound capture; the app reaches
# its own localhost and pod address directly; running the command twice leaves exactly the rules
# of one batch; --dry-run changes nothing; --cleanup removes every REMORA_ chain and leaves a
# foreign rule and chain alone, after which the server is unreachable again; a bad flag exits 2
# naming it; a failing ip6tables is reported and IPv4 goes on. IPv6 too where ip6tables works in
# the namespaces.
#
# Every check runs and reports; the exit code is 1 if any failed.
# Usage: iptables_interception_test.sh SIDECAR_BIN ECHO_BIN. Exit 77 = skipped.
set -uo pipefail
SIDECAR=$1
ECHO=$2
for tool in ip iptables iptables-save iptables-restore setpriv curl; do
  if ! command -v "$tool" >/dev/null; then echo "SKIP: needs $tool"; exit 77; fi
done
if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (network namespaces, iptables)"; exit 77; fi
CLI="remora-e2e-ipt-cli-$$"
SRV="remora-e2e-ipt-srv-$$"
if ! ip netns add "$CLI" 2>/dev/null; then echo "SKIP: cannot create a network namespace"; exit 77; fi
if ! ip netns add "$SRV" 2>/dev/null; then ip netns del "$CLI"; echo "SKIP: cannot create a network namespace"; exit 77; fi
WORK=$(mktemp -d)
chmod 777 "$WORK"
cleanup() {
  for ns in "$CLI" "$SRV"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  done
  sleep 0.2
  for ns in "$CLI" "$SRV"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
in_cli() { ip netns exec "$CLI" "$@"; }
in_srv() { ip netns exec "$SRV" "$@"; }
# proxy_curl NS URL: the HTTP status of a request made as the proxy's uid and gid (1337).
proxy_curl() {
  ip netns exec "$1" setpriv --reuid=1337 --regid=1337 --clear-groups \
    curl -s -m 5 -o /dev/null -w '%{http_code}' "$2"
}
FAILED=0
fail() { echo "FAIL: $*"; FAILED=1; }
pass() { echo "ok: $*"; }
abort() {
  echo "FAIL: $*"
  for f in "$WORK"/*.err; do [ -e "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }; done
  exit 1
}
wait_file() { for _ in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.05; done; abort "$1 never appeared"; }

CLI_IP=10.254.9.1
SRV_IP=10.254.9.2
SRV_IP_EXCLUDED=10.254.9.3
CLI_IP6=fd00:7e:9::1
SRV_IP6=fd00:7e:9::2
ip link add "ic$$" type veth peer name "is$$" || abort "cannot create a veth pair"
ip link set "ic$$" netns "$CLI"
ip link set "is$$" netns "$SRV"
in_cli ip addr add "$CLI_IP/24" dev "ic$$"
in_srv ip addr add "$SRV_IP/24" dev "is$$"
in_srv ip addr add "$SRV_IP_EXCLUDED/24" dev "is$$"
for ns in "$CLI" "$SRV"; do ip netns exec "$ns" ip link set lo up; done

# IPv6 where the kernel has it and ip6tables works in a fresh namespace. bindv6only lets the
# sidecar's [::]:15001 listener sit next to 0.0.0.0:15001 (one socket per family, so that each
# reads its own family's original destination).
V6=0
if [ -d /proc/sys/net/ipv6 ] && command -v ip6tables-save >/dev/null &&
  in_cli ip6tables-save -t nat >/dev/null 2>&1 && in_srv ip6tables-save -t nat >/dev/null 2>&1; then
  V6=1
  for ns in "$CLI" "$SRV"; do ip netns exec "$ns" sysctl -qw net.ipv6.bindv6only=1; done
  in_cli ip addr add "$CLI_IP6/64" dev "ic$$" nodad
  in_srv ip addr add "$SRV_IP6/64" dev "is$$" nodad
else
  echo "note: ip6tables does not work here; IPv6 not tested"
fi
in_cli ip link set "ic$$" up
in_srv ip link set "is$$" up

# The server pod's apps: 8080, 8081 and 8082 on 127.0.0.1 only (reachable from outside only
# through the inbound capture), 9090 on every address (its port is excluded from the capture).
for port in 8080 8081 8082; do
  in_srv "$ECHO" --listen "127.0.0.1:$port" --id "app-$port" --ready-file "$WORK/app-$port.ready" --log-level warn &
done
in_srv "$ECHO" --listen 0.0.0.0:9090 --id direct-9090 --ready-file "$WORK/direct-9090.ready" --log-level warn &
for port in 8080 8081 8082; do wait_file "$WORK/app-$port.ready"; done
wait_file "$WORK/direct-9090.ready"

# A foreign rule and chain in the client's nat table: the remora command must leave them alone.
in_cli iptables -t nat -N KEEP_ME
in_cli iptables -t nat -A OUTPUT -p udp --dport 5353 -j KEEP_ME

nat_rules() { ip netns exec "$1" "${2:-iptables}-save" -t nat | grep -v '^#'; }

# --- dry run and bad flags change nothing ---------------------------------------------------
before=$(nat_rules "$CLI")
if in_cli "$SIDECAR" iptables --dry-run >"$WORK/dry.out" 2>"$WORK/dry.err" &&
  grep -qx -- '-A OUTPUT -p tcp -j REMORA_OUTPUT' "$WORK/dry.out" &&
  [ "$(nat_rules "$CLI")" = "$before" ]; then
  pass "--dry-run printed the batch ($(grep -c '^-A' "$WORK/dry.out") -A lines) and changed nothing"
else fail "--dry-run: exit/output/table wrong: $(head -c 300 "$WORK/dry.out") $(cat "$WORK/dry.err")"; fi
in_cli "$SIDECAR" iptables --exclude-outbound-ip-ranges 10.0.0.0/33 >/dev/null 2>"$WORK/bad.err"
rc=$?
if [ "$rc" = 2 ] && grep -q -- '--exclude-outbound-ip-ranges' "$WORK/bad.err" && [ "$(wc -l <"$WORK/bad.err")" = 1 ] &&
  [ "$(nat_rules "$CLI")" = "$before" ]; then
  pass "a bad CIDR exits 2 naming the flag: $(cat "$WORK/bad.err")"
else fail "a bad CIDR: exit $rc, stderr '$(cat "$WORK/bad.err")'"; fi

# Where ip6tables does not work (here: an ip6tables-save that fails), IPv4 goes on alone.
mkdir -p "$WORK/no-ip6tables"
printf '#!/bin/sh\necho "ip6tables: IPv6 nat table not supported here" >&2\nexit 3\n' >"$WORK/no-ip6tables/ip6tables-save"
chmod 755 "$WORK/no-ip6tables/ip6tables-save"
in_cli env PATH="$WORK/no-ip6tables:$PATH" "$SIDECAR" iptables --dry-run >"$WORK/nov6.out" 2>"$WORK/nov6.err"
rc=$?
if [ "$rc" = 0 ] && grep -q 'IPv6 left alone: ip6tables does not work here (ip6tables: IPv6 nat table not supported here); IPv4 only' "$WORK/nov6.err" &&
  grep -q '^# IPv4: ' "$WORK/nov6.out" && ! grep -q '^# IPv6' "$WORK/nov6.out"; then
  pass "a failing ip6tables is reported on stderr and IPv4 goes on: $(cat "$WORK/nov6.err")"
else fail "a failing ip6tables: exit $rc, stderr '$(cat "$WORK/nov6.err")', headers $(grep '^# ' "$WORK/nov6.out" | tr '\n' ' ')"; fi

# --- install (the server's exclusion comes from the environment twin) -----------------------
CLI_FLAGS=(--exclude-outbound-ports 8081 --exclude-outbound-ip-ranges "$SRV_IP_EXCLUDED/32")
in_cli "$SIDECAR" iptables "${CLI_FLAGS[@]}" >"$WORK/install-cli.out" 2>"$WORK/install-cli.err" ||
  abort "client install failed: $(cat "$WORK/install-cli.err")"
in_srv env REMORA_EXCLUDE_INBOUND_PORTS=9090 "$SIDECAR" iptables >"$WORK/install-srv.out" 2>"$WORK/install-srv.err" ||
  abort "server install failed: $(cat "$WORK/install-srv.err")"
grep -qx -- '-A REMORA_INBOUND -p tcp -m tcp --dport 9090 -j RETURN' "$WORK/install-srv.out" ||
  fail "REMORA_EXCLUDE_INBOUND_PORTS=9090 did not exempt port 9090"
if [ "$V6" = 1 ] && [ "$(nat_rules "$CLI" ip6tables | grep -c REMORA_)" = 0 ]; then
  fail "IPv6: no REMORA rules in ip6tables: $(cat "$WORK/install-cli.err")"
fi

# --- the two sidecars ----------------------------------------------------------------------
{
  echo "admin: {address: 127.0.0.1:15000}"
  echo "concurrency: 1"  # one worker: access log lines in request order
  echo "listeners:"
  echo "- {name: outbound, address: 0.0.0.0:15001, direction: OUTBOUND, route_config: out}"
  echo "- {name: inbound, address: 0.0.0.0:15006, direction: INBOUND, route_config: in}"
  if [ "$V6" = 1 ]; then
    echo "- {name: outbound6, address: '[::]:15001', direction: OUTBOUND, route_config: out}"
    echo "- {name: inbound6, address: '[::]:15006', direction: INBOUND, route_config: in}"
  fi
  cat <<'YAML'
static_resources:
  clusters:
  - {name: original-dst, type: ORIGINAL_DST}
  - {name: local-app, type: ORIGINAL_DST}
  routes:
  - name: out
    virtual_hosts:
    - {name: any, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: original-dst}}]}
  - name: in
    virtual_hosts:
    - {name: app, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: local-app}}]}
YAML
} >"$WORK/sidecar.yaml"
for ns in "$CLI" "$SRV"; do
  ip netns exec "$ns" setpriv --reuid=1337 --regid=1337 --clear-groups \
    "$SIDECAR" --config "$WORK/sidecar.yaml" --ready-file "$WORK/$ns.ready" --drain-grace 0s --drain-timeout 1s \
    >"$WORK/$ns.log" 2>"$WORK/$ns.err" &
done
wait_file "$WORK/$CLI.ready"
wait_file "$WORK/$SRV.ready"
CLI_LOG="$WORK/$CLI.log"
SRV_LOG="$WORK/$SRV.log"

# fetch NS URL [curl args]: "CODE ECHO_ID" of one request (ECHO_ID "-" when there is none).
fetch() {
  local ns=$1 url=$2
  shift 2
  ip netns exec "$ns" curl -s -m 5 -g -D "$WORK/headers" -o /dev/null -w '%{http_code}' "$@" "$url" >"$WORK/code"
  local id
  id=$(tr -d '\r' <"$WORK/headers" 2>/dev/null | awk -F': ' 'tolower($1)=="x-echo-id"{print $2}')
  echo "$(cat "$WORK/code") ${id:--}"
  rm -f "$WORK/headers"
}
# The access log lines of a path, one per line ("" when none).
log_lines() { grep -F "\"GET $2 HTTP/1.1\"" "$1"; }
# Waits (bounded) until the access log has a line for the path.
wait_log() {
  for _ in $(seq 1 60); do log_lines "$1" "$2" >/dev/null && return 0; sleep 0.1; done
  return 1
}
expect() {  # expect WHAT GOT WANT
  if [ "$2" = "$3" ]; then pass "$1: $2"; else fail "$1: got '$2', want '$3'"; fi
}

# --- requests -----------------------------------------------------------------------------
expect "client -> $SRV_IP:8080 (captured both sides)" "$(fetch "$CLI" "http://$SRV_IP:8080/captured")" "200 app-8080"
expect "client -> $SRV_IP:8082 (original port honoured)" "$(fetch "$CLI" "http://$SRV_IP:8082/port-8082")" "200 app-8082"
expect "client -> $SRV_IP:8081 (excluded outbound port)" "$(fetch "$CLI" "http://$SRV_IP:8081/excluded-outbound-port")" "200 app-8081"
expect "client -> $SRV_IP:9090 (excluded inbound port)" "$(fetch "$CLI" "http://$SRV_IP:9090/excluded-inbound-port")" "200 direct-9090"
expect "client -> $SRV_IP_EXCLUDED:9090 (excluded outbound range)" "$(fetch "$CLI" "http://$SRV_IP_EXCLUDED:9090/excluded-range")" "200 direct-9090"
expect "client as uid 1337 -> $SRV_IP:8080 (proxy uid exempt outbound)" "$(proxy_curl "$CLI" "http://$SRV_IP:8080/as-proxy-uid")" "200"
expect "client app -> its own admin 127.0.0.1:15000 (loopback not captured)" "$(in_cli curl -s -m 5 http://127.0.0.1:15000/ready | tr -d '\n')" "READY"
expect "server app -> its own pod address :9090 (not captured)" "$(fetch "$SRV" "http://$SRV_IP:9090/app-to-own-pod")" "200 direct-9090"
expect "server proxy uid -> its own pod address :8080 (inbound capture)" "$(proxy_curl "$SRV" "http://$SRV_IP:8080/proxy-to-own-pod")" "200"
if [ "$V6" = 1 ]; then
  expect "client -> [$SRV_IP6]:8080 (IPv6, captured both sides)" "$(fetch "$CLI" "http://[$SRV_IP6]:8080/captured-v6")" "200 app-8080"
fi
# A last request captured by both sidecars: once its lines are logged, so are the earlier ones
# (one worker each), and the absence checks below cannot race the log's flush.
expect "client -> $SRV_IP:8080 (barrier)" "$(fetch "$CLI" "http://$SRV_IP:8080/barrier")" "200 app-8080"
wait_log "$CLI_LOG" /barrier || fail "the client sidecar never logged /barrier"
wait_log "$SRV_LOG" /barrier || fail "the server sidecar never logged /barrier"

# in_log WHAT LOG PATH PATTERN...: exactly one line for PATH, matching every pattern.
in_log() {
  local what=$1 log=$2 path=$3
  shift 3
  local lines n
  lines=$(log_lines "$log" "$path")
  n=$(printf '%s' "$lines" | grep -c .)
  if [ "$n" != 1 ]; then fail "$what: $n access log lines for $path (want 1): $lines"; return; fi
  for pattern in "$@"; do
    printf '%s' "$lines" | grep -qF -- "$pattern" || { fail "$what: '$pattern' not in: $lines"; return; }
  done
  pass "$what"
}
not_in_log() {
  if log_lines "$2" "$3" >/dev/null; then fail "$1: $(log_lines "$2" "$3")"; else pass "$1"; fi
}
in_log "client sidecar captured /captured outbound" "$CLI_LOG" /captured \
  '" 200 ' "upstream=$SRV_IP:8080" 'listener=outbound'
in_log "server sidecar captured /captured inbound" "$SRV_LOG" /captured \
  '" 200 ' 'upstream=127.0.0.1:8080' 'listener=inbound'
in_log "client sidecar: /port-8082 to the original destination" "$CLI_LOG" /port-8082 "upstream=$SRV_IP:8082"
in_log "server sidecar: /port-8082 to the app on the port dialled" "$SRV_LOG" /port-8082 'upstream=127.0.0.1:8082'
not_in_log "excluded outbound port 8081 bypassed the client sidecar" "$CLI_LOG" /excluded-outbound-port
in_log "excluded outbound port 8081 still captured inbound by the server" "$SRV_LOG" /excluded-outbound-port 'listener=inbound'
in_log "excluded inbound port 9090 captured outbound by the client" "$CLI_LOG" /excluded-inbound-port 'listener=outbound'
not_in_log "excluded inbound port 9090 bypassed the server sidecar" "$SRV_LOG" /excluded-inbound-port
not_in_log "excluded outbound range bypassed the client sidecar" "$CLI_LOG" /excluded-range
not_in_log "uid 1337's own request bypassed the client sidecar" "$CLI_LOG" /as-proxy-uid
in_log "uid 1337's request was captured inbound by the server" "$SRV_LOG" /as-proxy-uid 'listener=inbound'
not_in_log "the server app's request to its own pod address bypassed its sidecar" "$SRV_LOG" /app-to-own-pod
in_log "the proxy uid's request to its own pod address went through the inbound capture" "$SRV_LOG" /proxy-to-own-pod \
  'upstream=127.0.0.1:8080' 'listener=inbound'
if [ "$V6" = 1 ]; then
  in_log "IPv6: client sidecar captured /captured-v6 outbound" "$CLI_LOG" /captured-v6 "upstream=[$SRV_IP6]:8080" 'listener=outbound6'
  in_log "IPv6: server sidecar captured /captured-v6 inbound" "$SRV_LOG" /captured-v6 'upstream=127.0.0.1:8080' 'listener=inbound6'
fi
# No loop: the client sidecar's upstream connection was not captured again (that would show as
# more outbound connections than requests, or more lines per request).
cli_cx=$(in_cli curl -s -m 5 http://127.0.0.1:15000/stats | awk '/^remora_downstream_cx_total\{listener="outbound"\}/{print $2}')
expect "client outbound connections (v4 requests: captured, port-8082, excluded-inbound, barrier)" "${cli_cx:-none}" 4

# --- idempotency, dry run after install, cleanup -----------------------------------------
# The -A lines of the batch a command prints for one family ("IPv4" / "IPv6").
batch_rules() { awk -v fam="# $2:" 'index($0, fam) == 1 {on = 1; next} /^# / {on = 0} on && /^-A /' "$1" | sort; }
remora_rules() { nat_rules "$1" "$2" | grep '^-A ' | grep 'REMORA_' | sort; }
in_cli "$SIDECAR" iptables "${CLI_FLAGS[@]}" >"$WORK/again.out" 2>"$WORK/again.err" || fail "second install failed: $(cat "$WORK/again.err")"
families="IPv4:iptables"
[ "$V6" = 1 ] && families="$families IPv6:ip6tables"
for f in $families; do
  fam=${f%%:*} tool=${f#*:}
  want=$(batch_rules "$WORK/again.out" "$fam")
  got=$(remora_rules "$CLI" "$tool")
  if [ -n "$want" ] && [ "$got" = "$want" ]; then
    pass "$fam: after two installs the table holds each of the $(echo "$want" | wc -l) rules once"
  else fail "$fam: after two installs the table differs from one batch:"; diff <(echo "$want") <(echo "$got"); fi
done
expect "a request after reinstalling" "$(fetch "$CLI" "http://$SRV_IP:8080/after-reinstall")" "200 app-8080"
before=$(nat_rules "$CLI")
in_cli "$SIDECAR" iptables --dry-run --cleanup >"$WORK/dry-cleanup.out" 2>&1 || fail "--dry-run --cleanup failed"
grep -qx -- '-X REMORA_OUTPUT' "$WORK/dry-cleanup.out" || fail "--dry-run --cleanup did not print the removal"
expect "--dry-run --cleanup left the table alone" "$(nat_rules "$CLI" | md5sum)" "$(echo "$before" | md5sum)"

in_cli "$SIDECAR" iptables --cleanup >"$WORK/cleanup.out" 2>&1 || fail "client --cleanup failed: $(cat "$WORK/cleanup.out")"
for f in $families; do
  tool=${f#*:}
  expect "client $tool REMORA_ lines after --cleanup" "$(nat_rules "$CLI" "$tool" | grep -c REMORA_)" 0
done
expect "the foreign chain and rule after --cleanup" \
  "$(nat_rules "$CLI" | grep -c -e '^:KEEP_ME' -e '^-A OUTPUT -p udp -m udp --dport 5353 -j KEEP_ME$')" 2
in_cli "$SIDECAR" iptables --cleanup >"$WORK/cleanup2.out" 2>&1 || fail "a second --cleanup failed"
grep -q 'no remora rules to remove' "$WORK/cleanup2.out" || fail "a second --cleanup did not say there was nothing to remove"
expect "client -> $SRV_IP:8080 after the client's cleanup" "$(fetch "$CLI" "http://$SRV_IP:8080/after-client-cleanup")" "200 app-8080"
in_srv "$SIDECAR" iptables --cleanup >"$WORK/cleanup-srv.out" 2>&1 || fail "server --cleanup failed"
expect "client -> $SRV_IP:8080 after both cleanups (the app listens on 127.0.0.1 only)" \
  "$(fetch "$CLI" "http://$SRV_IP:8080/after-both-cleanups")" "000 -"
wait_log "$SRV_LOG" /after-client-cleanup || fail "the server sidecar never logged /after-client-cleanup"
# A barrier for the client's log: a request sent to the outbound listener itself (not
# redirected, so it has no original destination: 503) is logged after the one before it.
in_cli curl -s -m 5 -o /dev/null "http://127.0.0.1:15001/client-barrier"
wait_log "$CLI_LOG" /client-barrier || fail "the client sidecar never logged /client-barrier"
not_in_log "after the client's cleanup its sidecar sees nothing" "$CLI_LOG" /after-client-cleanup

if [ "$FAILED" != 0 ]; then
  for f in "$CLI" "$SRV"; do echo "--- $f sidecar stderr"; tail -n 20 "$WORK/$f.err"; echo "--- $f access log"; cat "$WORK/$f.log"; done
  echo "--- client nat table"; nat_rules "$CLI"
  exit 1
fi
echo "PASS: remora-sidecar iptables captures both pods' traffic, honours its exclusions, is idempotent and cleans up"
