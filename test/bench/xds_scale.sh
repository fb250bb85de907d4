#!/usr/bin/env bash
# Control plane scale benchmark (issue 4): 1,000 simulated sidecars (remora-xds-load, one
# process) and 1,000 services with 10 endpoints each, then one endpoint change and one policy
# change. Prints: time until every sidecar has the change (p50 / p99 / max), bytes sent,
# control plane CPU and RSS, and the RSS of one real remora-sidecar holding the whole config.
# See docs/benchmarks.md.
#
#   bash test/bench/xds_scale.sh                 # 1,000 sidecars x 1,000 services
#   SIDECARS=200 SERVICES=200 bash test/bench/xds_scale.sh   # smaller
#
# Needs a Release build in build/ (make build). Everything runs on 127.0.0.1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SIDECARS=${SIDECARS:-1000}
SERVICES=${SERVICES:-1000}
ENDPOINTS=${ENDPOINTS:-10}
CONTROL=$BUILD/control/remora-control
LOAD=$BUILD/test/remora-xds-load
SIDECAR=$BUILD/sidecar/remora-sidecar
for b in "$CONTROL" "$LOAD" "$SIDECAR"; do
  [ -x "$b" ] || { echo "missing $b: run make build first" >&2; exit 2; }
done
WORK=$(mktemp -d /tmp/remora-xds-scale.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# --- manifests: SERVICES Services, one EndpointSlice of ENDPOINTS endpoints each -------------
mkdir -p "$WORK/manifests"
python3 - "$WORK/manifests" "$SERVICES" "$ENDPOINTS" <<'PY'
import sys
out, n, e = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(f"{out}/services.yaml", "w") as f:
    for i in range(n):
        f.write(f"""---
apiVersion: v1
kind: Service
metadata: {{name: svc-{i}, namespace: bench}}
spec:
  ports: [{{name: http, port: 8080, targetPort: 8080}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: svc-{i}-a, namespace: bench, labels: {{kubernetes.io/service-name: svc-{i}}}}}
addressType: IPv4
endpoints:
""")
        for j in range(e):
            f.write(f"- addresses: [10.{i // 250}.{i % 250}.{j + 1}]\n")
        f.write("ports: [{name: http, port: 8080}]\n")
PY
cat > "$WORK/policy.yaml.new" <<YAML
apiVersion: policy.remora.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: svc-$((SERVICES / 2)), namespace: bench}
spec:
  targetRefs: [{group: "", kind: Service, name: svc-$((SERVICES / 2))}]
  loadBalancer: {type: LEAST_REQUEST}
  retry: {attempts: 2, retryOn: [5xx]}
YAML

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
TICK=$(getconf CLK_TCK)

"$CONTROL" --manifests "$WORK/manifests" --xds 127.0.0.1:0 --http 127.0.0.1:0 \
  --ready-file "$WORK/control.json" --log-level warn 2>"$WORK/control.log" &
CP=$!; PIDS+=("$CP")
for _ in $(seq 1 300); do [ -s "$WORK/control.json" ] && break; sleep 0.1; done
XDS=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['xds'])" "$WORK/control.json")
HTTP=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['http'])" "$WORK/control.json")
echo "control plane: xds $XDS, api $HTTP, $SERVICES services x $ENDPOINTS endpoints, RSS idle $(rss_kib $CP) KiB"

# --- one real sidecar with the whole config ---------------------------------------------------
"$SIDECAR" --xds "$XDS" --node-id real-0 --service svc-0 --namespace bench \
  --outbound 127.0.0.1:0 --inbound 127.0.0.1:0 --admin 127.0.0.1:0 --concurrency 2 \
  --access-log off --ready-file "$WORK/sidecar.json" --log-level warn 2>"$WORK/sidecar.log" &
SC=$!; PIDS+=("$SC")
for _ in $(seq 1 300); do [ -s "$WORK/sidecar.json" ] && break; sleep 0.1; done
[ -s "$WORK/sidecar.json" ] || { echo "sidecar never became ready" >&2; cat "$WORK/sidecar.log" >&2; exit 1; }

CPU0=$(cpu_ticks $CP)
"$LOAD" --xds "$XDS" --clients "$SIDECARS" --services "$SERVICES" --namespace bench \
  --trigger-endpoint "$HTTP,svc-$((SERVICES / 2)),bench" \
  --trigger-file "$WORK/manifests/policy.yaml:$WORK/policy.yaml.new" --timeout 120 \
  | tee "$WORK/load.txt"
CPU1=$(cpu_ticks $CP)
sleep 1.5  # the sidecar returns a replaced config's memory 0.5 s after an update
SC_RSS=$(rss_kib $SC)
CP_RSS=$(rss_kib $CP)
CP_HWM=$(hwm_kib $CP)
BYTES=$(curl -s "http://$HTTP/metrics" | awk '/^remora_control_xds_bytes_sent_total/ {print $2}')

get() { awk -v k="$1" '$1 == k {print $2}' "$WORK/load.txt"; }
echo
echo "== remora control plane scale: $SIDECARS sidecars, $SERVICES services x $ENDPOINTS endpoints =="
printf '%-34s %s\n' "initial sync, all sidecars" "$(get initial_sync_ms) ms, $(get initial_bytes) bytes"
printf '%-34s p50 %s ms, p99 %s ms, max %s ms, %s bytes (%s of %s reached)\n' "endpoint change -> every sidecar" \
  "$(get endpoint_change_p50_ms)" "$(get endpoint_change_p99_ms)" "$(get endpoint_change_max_ms)" \
  "$(get endpoint_change_bytes)" "$(get endpoint_change_reached)" "$SIDECARS"
printf '%-34s p50 %s ms, p99 %s ms, max %s ms, %s bytes (%s of %s reached)\n' "policy change -> every sidecar" \
  "$(get policy_change_p50_ms)" "$(get policy_change_p99_ms)" "$(get policy_change_max_ms)" \
  "$(get policy_change_bytes)" "$(get policy_change_reached)" "$SIDECARS"
printf '%-34s %s\n' "control plane bytes sent (total)" "$BYTES"
printf '%-34s %.2f s\n' "control plane CPU (whole run)" "$(echo "($CPU1 - $CPU0) / $TICK" | bc -l)"
printf '%-34s %s MiB now, %s MiB peak\n' "control plane RSS" "$((CP_RSS / 1024))" "$((CP_HWM / 1024))"
printf '%-34s %s MiB\n' "real sidecar RSS (whole config)" "$((SC_RSS / 1024))"
