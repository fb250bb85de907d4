#!/usr/bin/env bash
# remora HTTP/2 benchmark: h2load (h2c with prior knowledge) through each proxy to ONE nginx
# upstream, in one run, one table. See docs/benchmarks.md.
#
#   bash test/bench/h2.sh            # 10 s per scenario and row (about 4 minutes)
#   bash test/bench/h2.sh --quick    # 2 s each, smoke test
#
# Rows (upstream: nginx, 1 worker, HTTP/1.1 on one port and h2c on another):
#   direct-h2          h2load -> nginx h2c (no proxy, baseline)
#   remora-h2h1        remora-sidecar --concurrency 1, quick mode: h2c in, HTTP/1.1 out
#   remora-h2h2        remora-sidecar --concurrency 1, cluster protocol HTTP2: h2c both sides
#   nghttpx-h2h1       nghttpx --workers=1, backend proto=http/1.1
#   nghttpx-h2h2       nghttpx --workers=1, backend proto=h2
#   haproxy-h2h1       HAProxy nbthread 1, bind ... proto h2, plain HTTP/1.1 server
#   haproxy-h2h2       the same process, server ... proto h2
# Scenarios: h2_small GET / (3 bytes), h2_4k GET /4k, h2_64k GET /64k; each
#   h2load -t1 -c$H2_CONNS -m$H2_STREAMS -D$DURATION.
# Pinning and CPU as in run.sh: the servers (proxies and upstream) on CPU 0, h2load and this
# script on CPU 1; CPU = utime+stime of each process tree from /proc before and after a run.
# Printed per row and scenario: requests/s, proxy CPU microseconds per request, proxy CPU /
# upstream CPU, and for remora rows the ratios to the same-pair HAProxy and nghttpx rows.
#
# Environment: BENCH_DURATION (10), BENCH_REPEAT (1), H2_CONNS (10), H2_STREAMS (10), H2_ROWS
# (all, comma list), H2_SCENARIOS (all), REMORA_SIDECAR (build/sidecar/remora-sidecar).
# With BENCH_REPEAT=N > 1 every row of a scenario runs N times, the order of the rows rotated
# each round; the table shows each row's median, and a ratio is the median of the ratios
# within each round (as in run.sh).
# Traffic only ever goes to 127.0.0.1; every process started here is stopped on exit.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
REMORA_SIDECAR=${REMORA_SIDECAR:-$ROOT/build/sidecar/remora-sidecar}
DURATION=${BENCH_DURATION:-10}
REPEAT=${BENCH_REPEAT:-1}
[[ ${1:-} == --quick ]] && DURATION=2
[[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0; }
CONNS=${H2_CONNS:-10}
STREAMS=${H2_STREAMS:-10}
ROWS_WANTED=${H2_ROWS:-direct-h2,remora-h2h1,nghttpx-h2h1,haproxy-h2h1,remora-h2h2,nghttpx-h2h2,haproxy-h2h2}
SCENARIOS_WANTED=${H2_SCENARIOS:-h2_small,h2_4k,h2_64k}

log() { printf '[h2bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
for tool in h2load nghttpx haproxy nginx taskset curl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found: run 'bash scripts/setup.sh --bench' first"
done
[[ -x $REMORA_SIDECAR ]] || die "$REMORA_SIDECAR not built (make build)"
(($(getconf _NPROCESSORS_ONLN) >= 2)) || die "needs two CPUs (servers on 0, load on 1)"
taskset -pc 1 $$ >/dev/null
PY=$(python3 -c 'import sys; print(sys.executable)')
py() { "$PY" "$HERE/benchlib.py" "$@"; }

TMP=$(mktemp -d /tmp/remora-h2bench.XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
  local rc=$? p
  trap - EXIT
  for p in "${PIDS[@]}"; do
    pkill -TERM -P "$p" 2>/dev/null || true
    kill -TERM "$p" 2>/dev/null || true
  done
  sleep 0.3
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
LAST=
start() { # NAME CMD...: on CPU 0, in the background; its pid in LAST
  local name=$1
  shift
  taskset -c 0 "$@" >"$TMP/$name.out" 2>&1 &
  LAST=$!
  PIDS+=("$LAST")
}
serves() { # PORT: a 200 over h2c within 5 s
  local i
  for ((i = 0; i < 50; i++)); do
    [[ $(curl -s --http2-prior-knowledge -o /dev/null -w '%{http_code}' --max-time 2 \
      "http://127.0.0.1:$1/" 2>/dev/null) == 200 ]] && return 0
    sleep 0.1
  done
  return 1
}

read -r UP UP2 R1 R2 N1 N2 H1 H2 < <(py ports 8)
mkdir -p "$TMP/www" "$TMP/up"
head -c 4096 /dev/urandom >"$TMP/www/4k"
head -c 65536 /dev/urandom >"$TMP/www/64k"
chmod 755 "$TMP/www" && chmod 644 "$TMP/www/4k" "$TMP/www/64k"
cat >"$TMP/up/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/up/nginx.pid;
error_log $TMP/up/error.log warn;
events { worker_connections 4096; }
http {
    client_body_temp_path $TMP/up/cb; proxy_temp_path $TMP/up/p; fastcgi_temp_path $TMP/up/f;
    uwsgi_temp_path $TMP/up/u; scgi_temp_path $TMP/up/s;
    access_log off;
    keepalive_requests 1000000;
    http2_max_requests 1000000;
    http2_max_concurrent_streams 256;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$UP backlog=4096;
        listen 127.0.0.1:$UP2 http2 backlog=4096;
        root $TMP/www;
        location = / { return 200 "ok\n"; }
        location = /4k { }
        location = /64k { }
    }
}
EOF
start upstream nginx -p "$TMP/up/" -c "$TMP/up/nginx.conf" -e "$TMP/up/error.log"
UP_PID=$LAST
serves "$UP2" || die "nginx h2c upstream did not come up: $(cat "$TMP/up/error.log")"

cat >"$TMP/remora-h2h2.yaml" <<EOF
admin: {address: 127.0.0.1:0}
concurrency: 1
access_log: {enabled: false}
listeners:
- {name: main, address: "127.0.0.1:$R2", direction: INBOUND, protocol: HTTP, route_config: r}
static_resources:
  clusters:
  - {name: upstream, protocol: HTTP2, endpoints: [{address: "127.0.0.1:$UP2"}]}
  routes:
  - name: r
    virtual_hosts:
    - {name: all, domains: ["*"], routes: [{name: all, match: {prefix: /}, route: {cluster: upstream}}]}
EOF
cat >"$TMP/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe_h2h1
    bind 127.0.0.1:$H1 proto h2
    default_backend be_h1
frontend fe_h2h2
    bind 127.0.0.1:$H2 proto h2
    default_backend be_h2
backend be_h1
    server up 127.0.0.1:$UP
backend be_h2
    server up2 127.0.0.1:$UP2 proto h2
EOF

declare -A PORT PID CMD
want() { [[ ",$ROWS_WANTED," == *",$1,"* ]]; }
add() { # ROW PORT PID CMD
  if serves "$2"; then
    PORT[$1]=$2 PID[$1]=$3 CMD[$1]=$4
    log "$1 serving on 127.0.0.1:$2"
  else
    log "$1 did not serve h2c on $2: row skipped"
  fi
}
if want direct-h2; then add direct-h2 "$UP2" "" "nginx h2c (no proxy)"; fi
if want remora-h2h1; then
  start remora-h2h1 "$REMORA_SIDECAR" --listen "127.0.0.1:$R1" --upstream "127.0.0.1:$UP" \
    --concurrency 1 --admin 127.0.0.1:0 --access-log off
  add remora-h2h1 "$R1" "$LAST" "remora-sidecar --listen --upstream --concurrency 1 --access-log off"
fi
if want remora-h2h2; then
  start remora-h2h2 "$REMORA_SIDECAR" --config "$TMP/remora-h2h2.yaml"
  add remora-h2h2 "$R2" "$LAST" "remora-sidecar --config (cluster protocol HTTP2)"
fi
for pair in h2h1:"$N1":"$UP":http/1.1 h2h2:"$N2":"$UP2":h2; do
  IFS=: read -r name port upport proto <<<"$pair"
  want "nghttpx-$name" || continue
  # --conf=/dev/null: Debian's /etc/nghttpx/nghttpx.conf adds a frontend on port 3000 (which
  # only the first of two instances can bind) and sends the error log to syslog.
  start "nghttpx-$name" nghttpx --conf=/dev/null --workers=1 --frontend="127.0.0.1,$port;no-tls" \
    --backend="127.0.0.1,$upport;;proto=$proto" --errorlog-file="$TMP/nghttpx-$name.err" \
    --pid-file="$TMP/nghttpx-$name.pid" --no-ocsp --no-via --no-server-rewrite
  add "nghttpx-$name" "$port" "$LAST" "nghttpx --workers=1 backend proto=$proto"
done
if want haproxy-h2h1 || want haproxy-h2h2; then
  haproxy -c -q -f "$TMP/haproxy.cfg" || die "haproxy config check failed"
  start haproxy haproxy -db -f "$TMP/haproxy.cfg"
  p=$LAST
  if want haproxy-h2h1; then add haproxy-h2h1 "$H1" "$p" "haproxy nbthread 1, bind proto h2"; fi
  if want haproxy-h2h2; then add haproxy-h2h2 "$H2" "$p" "haproxy nbthread 1, bind and server proto h2"; fi
fi

ticks() { if [[ -n $1 ]]; then py cpu "$1"; else echo 0; fi; }
RESULTS=$TMP/results.tsv
: >"$RESULTS"
log "$DURATION s per run, h2load -c$CONNS -m$STREAMS; servers on CPU 0, load on CPU 1"
ALL_ROWS=(direct-h2 remora-h2h1 nghttpx-h2h1 haproxy-h2h1 remora-h2h2 nghttpx-h2h2 haproxy-h2h2)
for scen in h2_small h2_4k h2_64k; do
  [[ ",$SCENARIOS_WANTED," == *",$scen,"* ]] || continue
  case $scen in h2_small) path=/ ;; h2_4k) path=/4k ;; h2_64k) path=/64k ;; esac
  for ((round = 0; round < REPEAT; round++)); do
    # Round r starts r rows further on, so no row is always first (or last) after a pause.
    order=()
    for ((k = 0; k < ${#ALL_ROWS[@]}; k++)); do
      order+=("${ALL_ROWS[$(((k + round) % ${#ALL_ROWS[@]}))]}")
    done
    for row in "${order[@]}"; do
      [[ -n ${PORT[$row]:-} ]] || continue
      pid=${PID[$row]}
      c0=$(ticks "$pid") u0=$(py cpu "$UP_PID")
      out=$(h2load -t1 -c"$CONNS" -m"$STREAMS" -D"$DURATION" "http://127.0.0.1:${PORT[$row]}$path" 2>&1) ||
        die "$row $scen: h2load failed: $out"
      c1=$(ticks "$pid") u1=$(py cpu "$UP_PID")
      rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
      done_n=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$out")
      failed=$(sed -n 's/^requests: .* \([0-9]*\) failed, \([0-9]*\) errored.*/\1 \2/p' <<<"$out" |
        awk '{print $1 + $2}')
      non2xx=$(sed -n 's/^status codes: [0-9]* 2xx, \([0-9]*\) 3xx, \([0-9]*\) 4xx, \([0-9]*\) 5xx.*/\1 \2 \3/p' \
        <<<"$out" | awk '{print $1 + $2 + $3}')
      [[ -n $rps && -n $done_n ]] || die "$row $scen: cannot read h2load's output: $out"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$row" "$round" "$rps" "$done_n" \
        "$((c1 - c0))" "$((u1 - u0))" "${failed:-0}" "${non2xx:-0}" >>"$RESULTS"
      log "$scen $row (round $((round + 1))/$REPEAT): $rps req/s (${failed:-0} failed or errored, ${non2xx:-0} not 2xx)"
    done
  done
done

"$PY" - "$RESULTS" "$(getconf CLK_TCK)" <<'PY'
import statistics
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
tck = int(sys.argv[2])
runs = {}  # (scenario, row) -> {round: figures}
for scen, row, rnd, rps, n, cpu, up, failed, bad in rows:
    n = int(n)
    runs.setdefault((scen, row), {})[int(rnd)] = dict(
        rps=float(rps), us=(int(cpu) / tck * 1e6 / n) if n else 0,
        ratio=(int(cpu) / int(up)) if int(up) else 0, failed=int(failed), bad=int(bad))
med = statistics.median
rounds = max((len(v) for v in runs.values()), default=1)
if rounds > 1:
    print(f"{rounds} rounds: each figure is the row's median; each ratio the median of the ratios within a round")
print("| scenario | row | req/s | proxy CPU us/req | proxy CPU / upstream CPU | req/s vs haproxy | CPU/req vs haproxy | req/s vs nghttpx | CPU/req vs nghttpx | failed / not 2xx |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for (scen, row), by_round in runs.items():
    pair = row.split("-")[-1]
    cells = []
    for peer in ("haproxy", "nghttpx"):
        p = runs.get((scen, f"{peer}-{pair}"))
        same = [r for r in by_round if p and r in p and p[r]["rps"] and p[r]["us"]]
        if row.startswith("remora") and same:
            cells += [f"{med(by_round[r]['rps'] / p[r]['rps'] for r in same):.2f}x",
                      f"{med(by_round[r]['us'] / p[r]['us'] for r in same):.2f}x"]
        else:
            cells += ["", ""]
    figs = list(by_round.values())
    direct = row.startswith("direct")
    us = "" if direct else f"{med(f['us'] for f in figs):.1f}"
    ratio = "" if direct else f"{med(f['ratio'] for f in figs):.2f}"
    failed = sum(f["failed"] for f in figs)
    bad = sum(f["bad"] for f in figs)
    print(f"| {scen} | {row} | {med(f['rps'] for f in figs):,.0f} | {us} | {ratio} | " + " | ".join(cells) +
          f" | {failed} / {bad} |")
PY
