#!/usr/bin/env bash
# remora benchmark: the same load on the same upstream through each proxy, one
# run, one comparison table.  See docs/benchmarks.md.
#
#   bash test/bench/run.sh            # 10 s per scenario (about 5 minutes in all)
#   bash test/bench/run.sh --quick    # 2 s per scenario, smoke test
#
# Rows (all in front of ONE nginx upstream with one worker, generated config):
#   direct   wrk -> upstream nginx, no proxy (baseline)
#   remora   $REMORA_SIDECAR --concurrency 1 (skipped with a message if not built)
#   remora-policy  the same with a realistic policy set (LEAST_REQUEST, retries + budget,
#            outlier detection, breakers, a rate limit that never triggers); its cost is
#            printed as ratios to the remora row
#   haproxy  HAProxy, mode http, nbthread 1, http-reuse always, no logging
#   nginx    nginx reverse proxy, 1 worker, upstream keepalive 64, access_log off
# Scenarios (each against each row, same duration):
#   ka_small    keep-alive GET /      (3-byte body)     wrk -t1 -c$BENCH_CONNS
#   ka_4k       keep-alive GET /4k    (4 KiB file)      wrk
#   ka_64k      keep-alive GET /64k   (64 KiB file)     wrk
#   close_small new connection per request, GET /        wrk -H "Connection: close"
#   rate_small  fixed rate $BENCH_RATE req/s, GET /       test/bench/openloop.py
# Fixed-rate method: wrk2 is not in Debian, and wrk's Lua delay() hook can only
# space requests per connection in whole milliseconds and times each request
# from its actual write, which hides queueing (coordinated omission).  So the
# fixed-rate run uses openloop.py, a python3 open-loop generator: request i is
# due at t0 + i/rate, goes out on an idle keep-alive connection of a fixed
# pool (a backlog when all are busy), and its latency is measured from the
# intended send time.  Between sends it sleeps in select() when the next one is
# over 2 ms away and spins otherwise (at 5,000 req/s it spins: CPU 1 is busy for
# the run, as with wrk), because an idle vCPU takes up to milliseconds to wake.
# On one core it kept up with 10,000 req/s (every request sent, none left in
# the backlog) in a check here; its send lag p99 was under 1 ms at 5,000 req/s
# with CPU 1 quiet and several ms when other work shared the machine.  It
# reports its send lag and how many requests waited for a free connection,
# and the table prints both, so a generator that fell behind shows.
# Pinning: proxy and upstream share CPU 0 (taskset -c 0); wrk / openloop.py and
# the samplers run on CPU 1.  Proxy CPU = utime+stime of the proxy process tree
# (/proc/PID/stat) before/after each run; RSS = VmRSS of the tree, idle after
# start and the max sampled every 0.2 s under load.  remora also gets an RSS
# reading with $BENCH_IDLE_CONNS idle keep-alive connections (idleconns.py).
#
# Environment:
#   BENCH_DURATION   seconds per scenario (default 10; --quick: 2)
#   BENCH_CONNS      wrk / openloop connections (default 50)
#   BENCH_REPEAT     rounds per scenario (default 1). With N > 1 every row of a scenario runs
#                    N times, the order of the rows rotated each round, and the table shows
#                    each row's median; a ratio between rows is the median of the ratios
#                    within each round (runs seconds apart, so a drift in machine load
#                    between rounds cancels out)
#   BENCH_RATE       fixed-rate scenario, req/s (default 5000)
#   BENCH_OUT        results JSON (default build/bench/results.json in the repo)
#   BENCH_ROWS       comma list of rows to run (default direct,remora,remora-policy,haproxy,nginx)
#   BENCH_SCENARIOS  comma list of scenarios (default all five, in the order above)
#   BENCH_IDLE_CONNS idle keep-alive connections for the RSS reading (default 1000)
#   BENCH_IDLE_PEERS 1 = also take that reading for haproxy and nginx (default 0)
#   REMORA_SIDECAR   sidecar binary (default build/sidecar/remora-sidecar in the repo)
# Every process started here is stopped on exit; the temp dir is removed.
# Traffic only ever goes to 127.0.0.1.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
REMORA_SIDECAR=${REMORA_SIDECAR:-$HERE/../../build/sidecar/remora-sidecar}

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

QUICK=0
for arg in "$@"; do
  case $arg in
    --quick) QUICK=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

DURATION=${BENCH_DURATION:-10}
if ((QUICK)); then DURATION=2; fi
CONNS=${BENCH_CONNS:-50}
RATE=${BENCH_RATE:-5000}
OUT=${BENCH_OUT:-$ROOT/build/bench/results.json}
ROWS_WANTED=${BENCH_ROWS:-direct,remora,remora-policy,haproxy,nginx}
IDLE_CONNS=${BENCH_IDLE_CONNS:-1000}
IDLE_PEERS=${BENCH_IDLE_PEERS:-0}
REPEAT=${BENCH_REPEAT:-1}
for v in DURATION CONNS RATE IDLE_CONNS REPEAT; do
  if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
    echo "run.sh: $v must be a positive integer, got '${!v}'" >&2; exit 2
  fi
done
ALL_SCENARIOS=(ka_small ka_4k ka_64k close_small rate_small)
SCENARIOS=()
for s in "${ALL_SCENARIOS[@]}"; do
  if [[ ",${BENCH_SCENARIOS:-ka_small,ka_4k,ka_64k,close_small,rate_small}," == *",$s,"* ]]; then
    SCENARIOS+=("$s")
  fi
done
((${#SCENARIOS[@]} > 0)) || { echo "run.sh: BENCH_SCENARIOS selects nothing" >&2; exit 2; }

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for tool in wrk nginx haproxy taskset curl python3 timeout pgrep; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "$tool not found: run 'bash scripts/setup.sh --bench' first"
done

NCPU=$(getconf _NPROCESSORS_ONLN)
SERVER_CPU=0
LOAD_CPU=1
if ((NCPU < 2)); then
  log "WARNING: only $NCPU CPU: load generator shares CPU 0 with the servers"
  LOAD_CPU=0
fi
CLK_TCK=$(getconf CLK_TCK)
# This script and every helper it runs (python, curl, samplers) stay on the
# load generator's CPU; only the servers are started with taskset -c 0.
taskset -pc "$LOAD_CPU" $$ >/dev/null
# The interpreter itself, not a version-manager shim (one less fork per call).
PY=$(python3 -c 'import sys; print(sys.executable)')
py() { "$PY" "$HERE/benchlib.py" "$@"; }

# Enough descriptors for the idle-connection reading (inherited by every child).
need_fd=$((IDLE_CONNS + 1024))
if [[ $(ulimit -n) != unlimited ]] && (($(ulimit -n) < need_fd)); then
  ulimit -n "$need_fd" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  if (($(ulimit -n) < need_fd)); then
    log "WARNING: ulimit -n is $(ulimit -n); the $IDLE_CONNS-connection reading may fail"
  fi
fi

# Other people's load skews every figure: measure it, warn, record it.
BUSY_BEFORE=$(py busy 1)
if awk -v b="$BUSY_BEFORE" 'BEGIN{exit !(b > 10)}'; then
  log "WARNING: the machine is already ${BUSY_BEFORE}% busy: results will be noisy"
fi

# ------------------------------------------------------------ processes ----
TMP=$(mktemp -d /tmp/remora-bench.XXXXXX)
chmod 755 "$TMP"   # nginx workers run as an unprivileged user and read files here
PIDS=()
LAST_PID=

alive() { # PID: running and not a zombie
  local st
  st=$(sed -E 's/^.*\) (.).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != Z ]]
}

stop_tree() { # PID: TERM it and its children, KILL after 3 s, reap
  local pid=$1 p i any kids=()
  if alive "$pid"; then
    mapfile -t kids < <(pgrep -P "$pid" 2>/dev/null || true)
    kill -TERM "$pid" "${kids[@]}" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
      any=0
      for p in "$pid" "${kids[@]}"; do if alive "$p"; then any=1; fi; done
      ((any)) || break
      sleep 0.1
    done
    kill -KILL "$pid" "${kids[@]}" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_tree "${PIDS[i]}"; done
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_bg() { # NAME CMD...: start in background, output to $TMP/NAME.out; sets LAST_PID
  local name=$1
  shift
  "$@" >"$TMP/$name.out" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

wait_exit() { # PID TENTHS: wait up to TENTHS/10 s for PID to exit by itself
  local i
  for ((i = 0; i < $2; i++)); do
    alive "$1" || return 0
    sleep 0.1
  done
}

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null || true; }

wait_http() { # URL PID: bounded wait (5 s) for a 200 while PID lives
  local i
  for ((i = 0; i < 50; i++)); do
    alive "$2" || return 1
    [[ $(http_code "$1") == 200 ]] && return 0
    sleep 0.1
  done
  return 1
}

# --------------------------------------------------------------- configs ----
read -r UP_PORT REMORA_PORT HAPROXY_PORT NGINX_PORT REMORA_POLICY_PORT < <(py ports 5)
mkdir -p "$TMP/www" "$TMP/up" "$TMP/ngx" "$TMP/hap"
head -c 4096 /dev/urandom >"$TMP/www/4k"
head -c 65536 /dev/urandom >"$TMP/www/64k"
chmod 755 "$TMP/www" && chmod 644 "$TMP/www/4k" "$TMP/www/64k"

nginx_common() { # DIR: paths that must not point at /var
  cat <<EOF
    client_body_temp_path $1/client_body;
    proxy_temp_path $1/proxy;
    fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi;
    scgi_temp_path $1/scgi;
EOF
}

cat >"$TMP/up/nginx.conf" <<EOF
# upstream for the remora benchmark (generated)
worker_processes 1;
daemon off;
master_process on;
pid $TMP/up/nginx.pid;
error_log $TMP/up/error.log warn;
worker_rlimit_nofile 8192;
events { worker_connections 4096; }
http {
$(nginx_common "$TMP/up")
    access_log off;
    sendfile on;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$UP_PORT backlog=4096;
        root $TMP/www;
        location = / { return 200 "ok\n"; }
        location = /4k { }
        location = /64k { }
    }
}
EOF

cat >"$TMP/ngx/nginx.conf" <<EOF
# nginx as reverse proxy for the remora benchmark (generated)
worker_processes 1;
daemon off;
master_process on;
pid $TMP/ngx/nginx.pid;
error_log $TMP/ngx/error.log warn;
worker_rlimit_nofile 8192;
events { worker_connections 4096; }
http {
$(nginx_common "$TMP/ngx")
    access_log off;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    upstream up {
        server 127.0.0.1:$UP_PORT;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT backlog=4096;
        location / {
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # 64 KiB replies fit in memory buffers: no temp files.
            proxy_buffer_size 8k;
            proxy_buffers 16 8k;
        }
    }
}
EOF

cat >"$TMP/hap/haproxy.cfg" <<EOF
# HAProxy for the remora benchmark (generated); no 'log' lines: no logging
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
    timeout http-request 10s
    timeout http-keep-alive 30s
    timeout queue 5s
frontend fe
    bind 127.0.0.1:$HAPROXY_PORT
    default_backend be
backend be
    server up 127.0.0.1:$UP_PORT
EOF

# ------------------------------------------------------------ start all ----
JSONL=$TMP/results.jsonl
: >"$JSONL"
declare -A ROW_PORT ROW_PID
ROWS=()
row_wanted() { [[ ",$ROWS_WANTED," == *",$1,"* ]]; }

log "temp dir $TMP; ports: upstream $UP_PORT remora $REMORA_PORT haproxy $HAPROXY_PORT nginx $NGINX_PORT"
log "duration ${DURATION}s per scenario, $CONNS connections, fixed rate $RATE req/s, CPU $SERVER_CPU servers / CPU $LOAD_CPU load"

start_bg upstream taskset -c "$SERVER_CPU" nginx -p "$TMP/up/" -c "$TMP/up/nginx.conf" -e "$TMP/up/error.log"
UP_PID=$LAST_PID
if ! wait_http "http://127.0.0.1:$UP_PORT/" "$UP_PID"; then
  cat "$TMP/upstream.out" "$TMP/up/error.log" >&2 2>/dev/null || true
  die "upstream nginx did not come up"
fi
for p in 4k:4096 64k:65536; do
  got=$(curl -s --max-time 2 -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$UP_PORT/${p%%:*}" || true)
  [[ $got == "200 ${p#*:}" ]] || die "upstream /${p%%:*} returned '$got'"
done

add_row() { # NAME PORT PID COMMAND: check it serves, record idle RSS
  local name=$1 port=$2 pid=$3 cmd=$4 code size rss
  code=$(http_code "http://127.0.0.1:$port/")
  if [[ $code != 200 ]]; then
    log "$name: GET / through it returned '$code': row skipped"
    py emit row row="$name" status="failed: GET / returned $code" command="$cmd" >>"$JSONL"
    [[ -n $pid ]] && stop_tree "$pid"
    return 0
  fi
  size=$(curl -s --max-time 5 -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$port/64k" || true)
  [[ $size == "200 65536" ]] || log "WARNING: $name: GET /64k gave '$size' (expected '200 65536')"
  if [[ -n $pid ]]; then
    sleep 0.5
    rss=$(py rss "$pid")
    py emit row row="$name" status=ok port="$port" pid="$pid" idle_rss_kib="$rss" \
      idle_rss_mib="$(awk -v k="$rss" 'BEGIN{printf "%.1f", k/1024}')" command="$cmd" >>"$JSONL"
  else
    py emit row row="$name" status=ok port="$port" command="$cmd" >>"$JSONL"
  fi
  ROWS+=("$name")
  ROW_PORT[$name]=$port
  ROW_PID[$name]=$pid
  log "$name: serving on 127.0.0.1:$port${pid:+ (pid $pid, idle RSS $((rss / 1024)) MiB)}"
}

if row_wanted direct; then
  add_row direct "$UP_PORT" "" "wrk -> nginx upstream (no proxy)"
fi

# start_remora ROW PORT ARGS...: one remora-sidecar row, ready-file gated.
start_remora() {
  local row=$1 port=$2
  shift 2
  if [[ ! -x $REMORA_SIDECAR ]]; then
    echo "remora-sidecar not built: skipped"
    py emit row row="$row" status="skipped: $REMORA_SIDECAR not built" >>"$JSONL"
    return 0
  fi
  local ready=$TMP/$row.ready
  local rcmd=("$REMORA_SIDECAR" "$@" --admin 127.0.0.1:0 --access-log off --ready-file "$ready")
  start_bg "$row" taskset -c "$SERVER_CPU" "${rcmd[@]}"
  local rpid=$LAST_PID i
  for ((i = 0; i < 100; i++)); do # ready file: at most 10 s
    [[ -e $ready ]] && break
    alive "$rpid" || break
    sleep 0.1
  done
  if [[ -e $ready ]] && alive "$rpid"; then
    add_row "$row" "$port" "$rpid" "${rcmd[*]}"
  else
    log "$row did not become ready within 10 s (alive: $(alive "$rpid" && echo yes || echo no)); output:"
    tail -n 20 "$TMP/$row.out" >&2 || true
    py emit row row="$row" status="failed: not ready within 10 s" command="${rcmd[*]}" >>"$JSONL"
    stop_tree "$rpid"
  fi
}

if row_wanted remora; then
  start_remora remora "$REMORA_PORT" --listen "127.0.0.1:$REMORA_PORT" \
    --upstream "127.0.0.1:$UP_PORT" --concurrency 1
fi

# The same proxy with the realistic policy set of test/bench/policy.yaml (telemetry is always
# on). Its cost is reported as ratios to the plain remora row.
if row_wanted remora-policy; then
  sed -e "s/@LISTEN@/127.0.0.1:$REMORA_POLICY_PORT/" -e "s/@UPSTREAM@/127.0.0.1:$UP_PORT/" \
    "$HERE/policy.yaml" >"$TMP/remora-policy.yaml"
  start_remora remora-policy "$REMORA_POLICY_PORT" --config "$TMP/remora-policy.yaml"
fi

if row_wanted haproxy; then
  haproxy -c -q -f "$TMP/hap/haproxy.cfg" || die "haproxy config check failed"
  start_bg haproxy taskset -c "$SERVER_CPU" haproxy -db -f "$TMP/hap/haproxy.cfg"
  if wait_http "http://127.0.0.1:$HAPROXY_PORT/" "$LAST_PID"; then
    add_row haproxy "$HAPROXY_PORT" "$LAST_PID" "haproxy -db -f haproxy.cfg (nbthread 1)"
  else
    tail -n 20 "$TMP/haproxy.out" >&2 || true
    py emit row row=haproxy status="failed: did not serve within 5 s" >>"$JSONL"
  fi
fi

if row_wanted nginx; then
  start_bg nginxproxy taskset -c "$SERVER_CPU" nginx -p "$TMP/ngx/" -c "$TMP/ngx/nginx.conf" -e "$TMP/ngx/error.log"
  if wait_http "http://127.0.0.1:$NGINX_PORT/" "$LAST_PID"; then
    add_row nginx "$NGINX_PORT" "$LAST_PID" "nginx -c nginx.conf (1 worker, proxy_pass, keepalive 64)"
  else
    cat "$TMP/nginxproxy.out" "$TMP/ngx/error.log" >&2 2>/dev/null || true
    py emit row row=nginx status="failed: did not serve within 5 s" >>"$JSONL"
  fi
fi

((${#ROWS[@]} > 0)) || die "no row is serving"

# ------------------------------------------------------------------ runs ----
WRK_BOUND=$((DURATION + 30)) # hard bound on one load run, seconds

run_one() { # ROW SCENARIO ROUND
  local row=$1 scen=$2 round=$3 port=${ROW_PORT[$1]} pid=${ROW_PID[$1]} base rc=0 kind=wrk
  local cpu0=- cpu1=- up0 up1 me0 me1 sampler=
  local -a rss_args=()
  base=$TMP/run-$row-$scen-$round
  if [[ -n $pid ]] && ! alive "$pid"; then
    log "$row is no longer running: $scen not run"
    py emit run row="$row" scenario="$scen" ok=false error="proxy not running" >>"$JSONL"
    return 0
  fi
  py procstat >"$base.stat0"
  me0=$(py cpu --with-children "$$")
  up0=$(py cpu "$UP_PID")
  if [[ -n $pid ]]; then
    cpu0=$(py cpu "$pid")
    rm -f "$base.stop"
    start_bg "sampler-$row-$scen" taskset -c "$LOAD_CPU" "$PY" "$HERE/benchlib.py" sample \
      --pid "$pid" --out "$base.rss" --stop-file "$base.stop" --max-seconds "$WRK_BOUND"
    sampler=$LAST_PID
    rss_args=(--rss-file "$base.rss")
  fi
  local url=http://127.0.0.1:$port
  case $scen in
    ka_small | ka_4k | ka_64k | close_small)
      local path=/ extra=()
      case $scen in
        ka_4k) path=/4k ;;
        ka_64k) path=/64k ;;
        close_small) extra=(-H "Connection: close") ;;
      esac
      timeout -k 5 "$WRK_BOUND" taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" \
        --timeout 2s --latency -s "$HERE/wrk_report.lua" "${extra[@]}" "$url$path" \
        >"$base.out" 2>&1 || rc=$?
      ;;
    rate_small)
      kind=openloop
      timeout -k 5 "$WRK_BOUND" taskset -c "$LOAD_CPU" "$PY" "$HERE/openloop.py" \
        --port "$port" --path / --rate "$RATE" --duration "$DURATION" --conns "$CONNS" \
        >"$base.out" 2>&1 || rc=$?
      ;;
  esac
  if [[ -n $sampler ]]; then
    touch "$base.stop"
    wait_exit "$sampler" 30
    stop_tree "$sampler"
    cpu1=$(py cpu "$pid")
  fi
  up1=$(py cpu "$UP_PID")
  me1=$(py cpu --with-children "$$")
  py procstat >"$base.stat1"
  py record --row "$row" --scenario "$scen" --round "$round" --kind "$kind" --out "$base.out" \
    --exit-code "$rc" \
    --cpu0 "$cpu0" --cpu1 "$cpu1" --up0 "$up0" --up1 "$up1" --me0 "$me0" --me1 "$me1" \
    --load-cpu "cpu$LOAD_CPU" "${rss_args[@]}" \
    --stat0 "$base.stat0" --stat1 "$base.stat1" --clk-tck "$CLK_TCK" >>"$JSONL"
}

log "warm-up: 1 s of keep-alive GET / per row (not recorded)"
for row in "${ROWS[@]}"; do
  timeout -k 5 20 taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:${ROW_PORT[$row]}/" \
    >/dev/null 2>&1 || log "warm-up of $row failed"
done

# Scenario-major order: the rows of one scenario run back to back, so slow
# drift in machine load spreads over all rows instead of hitting one. With
# BENCH_REPEAT > 1 the rows run round after round, the order rotated by one
# each round, so every row takes every place in the order.
for scen in "${SCENARIOS[@]}"; do
  log "scenario $scen"
  for ((round = 0; round < REPEAT; round++)); do
    for ((k = 0; k < ${#ROWS[@]}; k++)); do
      run_one "${ROWS[$(((k + round) % ${#ROWS[@]}))]}" "$scen" "$round"
      sleep 1
    done
  done
done

# ------------------------------------------------ idle connections RSS ----
idle_rss() { # ROW: RSS with $IDLE_CONNS idle keep-alive connections open
  local row=$1 port=${ROW_PORT[$1]} pid=${ROW_PID[$1]} ready stop hpid i best=0 r before
  ready=$TMP/idle-$row.ready
  stop=$TMP/idle-$row.stop
  alive "$pid" || { log "$row not running: idle-connection reading skipped"; return 0; }
  # The cost of a connection: RSS with them open minus RSS just before (after the load runs,
  # so neither reading counts what the load left behind).
  before=$(py rss "$pid")
  log "$row: opening $IDLE_CONNS idle keep-alive connections"
  start_bg "idle-$row" timeout -k 5 120 taskset -c "$LOAD_CPU" "$PY" "$HERE/idleconns.py" \
    --port "$port" --conns "$IDLE_CONNS" --ready-file "$ready" --stop-file "$stop" \
    --setup-max 60 --hold 60
  hpid=$LAST_PID
  for ((i = 0; i < 700; i++)); do # at most 70 s
    [[ -e $ready ]] && break
    alive "$hpid" || break
    sleep 0.1
  done
  if [[ ! -e $ready ]]; then
    log "$row: idle-connection helper did not get ready"
    stop_tree "$hpid"
    return 0
  fi
  sleep 1
  for ((i = 0; i < 5; i++)); do
    r=$(py rss "$pid")
    if ((r > best)); then best=$r; fi
    sleep 0.2
  done
  touch "$stop"
  wait_exit "$hpid" 50
  stop_tree "$hpid"
  py emit idle_conns row="$row" conns="$IDLE_CONNS" rss_kib="$best" rss_before_kib="$before" \
    rss_mib="$(awk -v k="$best" 'BEGIN{printf "%.1f", k/1024}')" \
    kib_per_conn="$(awk -v a="$best" -v b="$before" -v n="$IDLE_CONNS" 'BEGIN{printf "%.2f", (a-b)/n}')" \
    "@$TMP/idle-$row.out" >>"$JSONL"
  log "$row: RSS with $IDLE_CONNS idle connections: $((best / 1024)) MiB ($(((best - before) * 1000 / IDLE_CONNS)) bytes each)"
}

for row in "${ROWS[@]}"; do
  case $row in
    direct) ;;
    remora) idle_rss remora ;;
    remora-policy) ;;
    *) if [[ $IDLE_PEERS == 1 ]]; then idle_rss "$row"; fi ;;
  esac
done

# ---------------------------------------------------------------- report ----
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
BUSY_AFTER=$(py busy 1)
py report --jsonl "$JSONL" --out "$OUT" \
  --meta date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --meta command="$(env | grep -E '^(BENCH_[A-Z_]+|REMORA_SIDECAR)=' | sort | tr '\n' ' ')bash test/bench/run.sh${*:+ $*}" \
  --meta duration_s="$DURATION" --meta conns="$CONNS" --meta rate="$RATE" --meta repeat="$REPEAT" \
  --meta idle_conns="$IDLE_CONNS" \
  --meta busy_before_pct="$BUSY_BEFORE" --meta busy_after_pct="$BUSY_AFTER" \
  --meta cpus="$NCPU" --meta cpu_model="$cpu_model" --meta kernel="$(uname -r)" \
  --meta server_cpu="$SERVER_CPU" --meta load_cpu="$LOAD_CPU" \
  --meta git_commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)" \
  --meta nginx="$(nginx -v 2>&1 | sed 's/^nginx version: //')" \
  --meta haproxy="$(haproxy -v 2>/dev/null | head -n 1)" \
  --meta wrk="$(wrk -v 2>&1 | head -n 1 | awk '{print $2}' || true)" \
  --meta remora_sidecar="$REMORA_SIDECAR"
