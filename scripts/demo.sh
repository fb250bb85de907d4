#!/usr/bin/env bash
# make demo: a whole remora mesh on this machine, from the manifests in k8s/examples/shop.
#
#   remora-control --manifests <copy of k8s/examples/shop, and of k8s/examples/shop-grpc in it>
#   eight workloads, each a remora-echo app with its own remora-sidecar (mesh mode, config over
#   xDS): frontend, catalog v1 (two instances, one of them failing 80% of its requests),
#   catalog v2, orders (two instances), and the gRPC service inventory: v1, and v2 failing 30% of
#   its calls with UNAVAILABLE
#
# Then it drives traffic through the mesh and shows, live: the 90/10 canary split, the flaky
# catalog instance hidden by retries and then ejected, the orders rate limit, gRPC calls
# frontend -> inventory (an 80/20 canary, v2's UNAVAILABLE hidden by retries, remoractl stat
# counting the calls by grpc-status), and a config change (the HTTPRoute's weights rewritten to
# 50/50 in the manifest) reaching every sidecar.
# It ends on its own with a summary; `make demo DEMO_ARGS=--keep-running` keeps the mesh up
# (dashboard and admin URLs printed) until Ctrl-C.
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
CONTROL=$BIN/control/remora-control
REMORACTL=$BIN/control/cli/remoractl
ECHO=$BIN/test/apps/echo/remora-echo
TRAFFIC="python3 $ROOT/scripts/demo_traffic.py"
GRPC_TRAFFIC="/usr/bin/python3 $ROOT/scripts/demo_traffic.py"  # Debian's python3-grpcio
WORK=$(mktemp -d /tmp/remora-demo.XXXXXX)
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

wait_file() {  # wait_file FILE WHAT: up to 15 s
  for _ in $(seq 1 150); do [ -s "$1" ] && return 0; sleep 0.1; done
  echo "demo: $2 did not come up; logs in $WORK:" >&2
  tail -n 20 "$WORK"/*.log >&2 || true
  exit 1
}

# Workloads: name service version inbound-port app-port [echo flags]. An app run with --grpc
# speaks h2c only: its sidecar gets a config file whose local-app cluster is HTTP/2.
WORKLOADS=(
  "frontend    frontend v1 18080 18180"
  "catalog-v1  catalog  v1 18081 18181"
  "catalog-v1b catalog  v1 18085 18185 --fail-rate 0.8 --fail-status 503"
  "catalog-v2  catalog  v2 18082 18182"
  "orders-a    orders   v1 18083 18183"
  "orders-b    orders   v1 18084 18184"
  "inventory-v1 inventory v1 18086 18186 --grpc"
  "inventory-v2 inventory v2 18087 18187 --grpc --fail-rate 0.3"
)
for w in "${WORKLOADS[@]}"; do
  read -r _ _ _ in app _ <<<"$w"
  for port in $in $app; do
    if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
      echo "demo: port $port is already in use on 127.0.0.1; stop what holds it and retry" >&2
      exit 1
    fi
  done
done

cp -r "$ROOT/k8s/examples/shop" "$WORK/manifests"
cp -r "$ROOT/k8s/examples/shop-grpc" "$WORK/manifests/grpc"
bold "== remora-control --manifests k8s/examples/shop + shop-grpc (a copy in $WORK/manifests)"
"$CONTROL" --manifests "$WORK/manifests" --xds 127.0.0.1:0 --http 127.0.0.1:0 \
  --ready-file "$WORK/control.ready" 2>"$WORK/control.log" &
PIDS+=($!)
wait_file "$WORK/control.ready" remora-control
XDS=$(json "$WORK/control.ready" 'd["xds"]')
API=$(json "$WORK/control.ready" 'd["http"]')
echo "   xDS on $XDS, API and dashboard on http://$API/"

bold "== ${#WORKLOADS[@]} workloads: remora-echo app + remora-sidecar (mesh mode) each"
for w in "${WORKLOADS[@]}"; do
  read -r name service version in app flags <<<"$w"
  # shellcheck disable=SC2086
  "$ECHO" --listen 127.0.0.1:$app --id "$name" --ready-file "$WORK/$name-app.ready" $flags \
    >"$WORK/$name-app.log" 2>&1 &
  PIDS+=($!)
  APP=(--app "127.0.0.1:$app")
  if [[ " $flags " == *" --grpc "* ]]; then
    printf 'static_resources:\n  clusters:\n  - {name: local-app, protocol: HTTP2, endpoints: [{address: "127.0.0.1:%s"}]}\n' \
      "$app" >"$WORK/$name-sidecar.yaml"
    APP=(--config "$WORK/$name-sidecar.yaml")
  fi
  "$SIDECAR" --xds "$XDS" --node-id "$name" --service "$service" --namespace shop \
    --labels "version=$version" --inbound 127.0.0.1:$in --outbound 127.0.0.1:0 \
    "${APP[@]}" --admin 127.0.0.1:0 --concurrency 1 --access-log off \
    --ready-file "$WORK/$name.ready" 2>"$WORK/$name-sidecar.log" &
  PIDS+=($!)
done
for w in "${WORKLOADS[@]}"; do
  read -r name service version in app _ <<<"$w"
  wait_file "$WORK/$name-app.ready" "$name app"
  wait_file "$WORK/$name.ready" "$name sidecar"
  printf '   %-12s %-9s app :%s  sidecar inbound :%s  outbound %s  admin %s\n' "$name" \
    "$service" "$app" "$in" "$(json "$WORK/$name.ready" 'd["listeners"]["outbound"]')" \
    "$(json "$WORK/$name.ready" 'd["admin"]')"
done
FRONTEND_OUT=$(json "$WORK/frontend.ready" 'd["listeners"]["outbound"]')
FRONTEND_ADMIN=$(json "$WORK/frontend.ready" 'd["admin"]')
CATALOG_OUT=$(json "$WORK/catalog-v1.ready" 'd["listeners"]["outbound"]')
echo "   every sidecar is ready: it holds clusters, endpoints, routes and listeners from the control plane"

if [ -x "$REMORACTL" ] && "$REMORACTL" status --control "$API" >"$WORK/status.txt" 2>&1; then
  bold "== remoractl status"
  cat "$WORK/status.txt"
fi

share() {  # share FILE: "v1 x% (catalog-v1 a, catalog-v1b b), v2 y%"
  python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ids, codes = d["ids"], d["codes"]
n = sum(ids.values())
v1 = ids.get("catalog-v1", 0) + ids.get("catalog-v1b", 0)
v2 = ids.get("catalog-v2", 0)
ok = codes.get("200", 0)
print(f"v1 {100*v1/n:.1f}% (catalog-v1 {ids.get('catalog-v1',0)}, catalog-v1b {ids.get('catalog-v1b',0)}), "
      f"v2 {100*v2/n:.1f}%  |  {ok}/{n} answered 200 in {d['seconds']} s")
PY
}
metric() {  # metric ADMIN NAME LABELFILTER
  curl -s "http://$1/stats" | awk -v n="$2" -v f="$3" 'index($1, n"{")==1 && index($1, f) {s+=$2} END {print s+0}'
}

bold "== 1. the canary: 1,000 requests frontend -> catalog (HTTPRoute catalog-canary: 90% v1, 10% v2)"
$TRAFFIC split "$FRONTEND_OUT" 1000 >"$WORK/split1.json"
SPLIT1=$(share "$WORK/split1.json")
echo "   $SPLIT1"

bold "== 2. the flaky catalog v1 instance (80% of its answers are 503)"
RETRIES=$(metric "$FRONTEND_ADMIN" remora_upstream_rq_retry_total 'catalog-v1.shop')
EJECTIONS=$(metric "$FRONTEND_ADMIN" remora_outlier_ejections_total 'catalog-v1.shop')
echo "   the frontend's sidecar retried $RETRIES requests on another endpoint, so callers saw no 503;"
echo "   outlier detection ejected the flaky endpoint $EJECTIONS time(s). Its view of catalog-v1 now:"
curl -s "http://$FRONTEND_ADMIN/clusters" | python3 -c "$(cat <<'PY'
import json, sys
for c in json.load(sys.stdin)["clusters"]:
    if c["name"].startswith("catalog-v1."):
        for e in c["endpoints"]:
            print("     %-18s %-9s requests %5d, errors %4d" % (e["address"], e["health"], e["requests_total"], e["errors_total"]))
PY
)"

bold "== 3. the orders rate limit (TrafficPolicy orders: 100/s, burst 20, enforced by orders' own sidecars)"
$TRAFFIC burst "$CATALOG_OUT" orders.shop:8080 300 >"$WORK/burst.json"
LIMITED=$(json "$WORK/burst.json" 'd["codes"].get("429", 0)')
echo "   300 quick requests catalog -> orders: $(json "$WORK/burst.json" 'd["codes"].get("200", 0)') answered 200, $LIMITED rate-limited (429)"

GRPC_CALLS=300  # at 300 a second
bold "== 4. gRPC: $GRPC_CALLS calls frontend -> inventory in 1 s (HTTPRoute inventory-canary: 80% v1, 20% v2)"
echo "   inventory v2 fails 30% of its calls with UNAVAILABLE; TrafficPolicy inventory retries on"
echo "   unavailable. Every 20th call asks for an item that does not exist (NOT_FOUND: not retried)."
STAT_OK=0
if [ -x "$REMORACTL" ]; then
  # Sampled while the calls run: its first sample is taken before the gRPC client is up.
  "$REMORACTL" stat --control "$API" --window 1500ms >"$WORK/stat.txt" 2>&1 &
  STAT_PID=$!
  STAT_OK=1
fi
$GRPC_TRAFFIC grpc "$FRONTEND_OUT" inventory.shop:9090 "$GRPC_CALLS" 300 20 >"$WORK/grpc.json"
GRPC_SPLIT=$(python3 - "$WORK/grpc.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ids, codes = d["ids"], d["codes"]
n = sum(codes.values())
ok = sum(ids.values())
v1, v2 = ids.get("inventory-v1", 0), ids.get("inventory-v2", 0)
other = ", ".join(f"{c} {k}" for k, c in sorted(codes.items()) if k not in ("OK", "NOT_FOUND"))
print(f"{ok}/{n - d['asked_not_found']} OK (v1 {v1}, v2 {v2}: v2 {100*v2/max(ok,1):.1f}%), "
      f"{codes.get('NOT_FOUND', 0)} NOT_FOUND as asked" + (f", {other}" if other else "")
      + f"  |  {n} calls in {d['seconds']} s")
PY
)
GRPC_RETRIES=$(metric "$FRONTEND_ADMIN" remora_upstream_rq_retry_total 'inventory-v2.shop')
GRPC_LEAKED=$(metric "$FRONTEND_ADMIN" remora_grpc_requests_total 'inventory-v2.shop:9090",grpc_status="14"')
echo "   $GRPC_SPLIT"
echo "   the frontend's sidecar retried $GRPC_RETRIES calls to inventory v2 after UNAVAILABLE;"
echo "   $GRPC_LEAKED call(s) still ended UNAVAILABLE (every try failed)"
HTTP_2XX=$(( $(metric "$FRONTEND_ADMIN" remora_upstream_rq_total 'inventory-v1.shop:9090",code_class="2xx"') \
  + $(metric "$FRONTEND_ADMIN" remora_upstream_rq_total 'inventory-v2.shop:9090",code_class="2xx"') ))
if [ "$STAT_OK" = 1 ] && wait "$STAT_PID"; then
  echo "   the sidecar counted $HTTP_2XX of the $GRPC_CALLS answers as HTTP 2xx: a failed call comes in an HTTP 200"
  echo "   too, so remoractl stat (sampled while the calls ran) counts gRPC calls by grpc-status:"
  grep -E '^SERVICE|^inventory|^window' "$WORK/stat.txt" | sed 's/^/     /'
fi

bold "== 5. a config change: the HTTPRoute's weights rewritten to 50/50 in the manifest"
OLD_ROUTES=$(curl -s "http://$API/v1/proxies" | python3 -c 'import json,sys; print(json.load(sys.stdin)["proxies"][0]["types"]["routes"]["acked"])')
sed -i 's/weight: 90}/weight: 50}/; s/weight: 10}/weight: 50}/' "$WORK/manifests/routes.yaml"
T0=$(date +%s%N)
for _ in $(seq 1 100); do
  DONE=$(curl -s "http://$API/v1/proxies" | python3 -c '
import json, sys
ps = json.load(sys.stdin)["proxies"]
old = sys.argv[1]
print(sum(1 for p in ps if p["types"]["routes"]["acked"] not in ("", old) and p["types"]["routes"]["status"] == "SYNCED"), len(ps))' "$OLD_ROUTES")
  read -r synced total <<<"$DONE"
  [ "$synced" = "$total" ] && break
  sleep 0.05
done
MS=$(( ($(date +%s%N) - T0) / 1000000 ))
echo "   every sidecar ($synced/$total) runs the new routes $MS ms after the file was written"
$TRAFFIC split "$FRONTEND_OUT" 1000 >"$WORK/split2.json"
SPLIT2=$(share "$WORK/split2.json")
echo "   $SPLIT2"

bold "== summary"
printf '   %-34s %s\n' "canary 90/10:" "$SPLIT1"
printf '   %-34s %s\n' "flaky instance:" "$RETRIES retries hid its 503s; ejected $EJECTIONS time(s)"
printf '   %-34s %s\n' "orders rate limit:" "$LIMITED of 300 requests got 429"
printf '   %-34s %s\n' "gRPC canary 80/20, v2 30% failing:" "$GRPC_SPLIT"
printf '   %-34s %s\n' "gRPC retries on UNAVAILABLE:" "$GRPC_RETRIES retries; $GRPC_LEAKED call(s) ended UNAVAILABLE"
printf '   %-34s %s\n' "weights 50/50 written to the file:" "all $total sidecars updated in $MS ms"
printf '   %-34s %s\n' "canary after the change:" "$SPLIT2"

if [ "$KEEP" = 1 ]; then
  bold "== the mesh keeps running (Ctrl-C to stop)"
  echo "   dashboard:        http://$API/"
  echo "   control plane:    http://$API/v1/proxies  /v1/services  /v1/status  /metrics"
  for w in "${WORKLOADS[@]}"; do
    read -r name _ <<<"$w"
    echo "   $name admin: http://$(json "$WORK/$name.ready" 'd["admin"]')/   (remoractl proxy-config $(json "$WORK/$name.ready" 'd["admin"]'))"
  done
  echo "   traffic:          curl -H 'Host: catalog.shop:8080' http://$FRONTEND_OUT/items"
  echo "   gRPC:             test/grpc/echo_client.py $FRONTEND_OUT unary --authority inventory.shop:9090"
  echo "   manifests:        $WORK/manifests (edit them: changes are pushed within a second)"
  while true; do sleep 3600; done
fi
