#!/usr/bin/env bash
# `make test-cluster`: remora in a real single-node Kubernetes cluster (kubelet and containerd
# running real pods), end to end:
#   1. the cluster's binaries (built once into the cache, test/k8s/build-apiserver.sh) and
#      packages; the cluster started in its own network namespace (test/cluster/node.sh);
#   2. the images of k8s/images/ made from BUILD_DIR and imported (test/cluster/images.sh);
#   3. `remoractl install --gateway-api-stand-in | kubectl apply -f -`, adapted to this cluster
#      (see install_manifests), and both control plane replicas Ready;
#   4. `kubectl apply -k k8s/examples` (the shop, its namespace labelled for injection) and a
#      client pod of the test's own in the same namespace;
#   5. checks: every shop pod came back from the webhook with remora-init and remora-proxy;
#      the control plane lists each proxy with its pod's identity; requests from the client go
#      through its sidecar (the canary split of the shop's HTTPRoute, its request header, the
#      retries of 503s, the sidecar's counters); `remoractl check --kubernetes` passes.
# Prints the time of each phase. Exit 0 when every check passes; the cluster is stopped and
# every host change undone on any exit.
#
# Usage: test/cluster/run.sh BUILD_DIR      (needs root; env REMORA_CLUSTER_DIR, default
#                                            /tmp/remora-cluster, and REMORA_K8S_CACHE)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:?build dir}" && pwd)
WORK=${REMORA_CLUSTER_DIR:-/tmp/remora-cluster}
CACHE=${REMORA_K8S_CACHE:-/var/cache/remora-k8s}
KUBECTL=$CACHE/bin/kubectl
REMORACTL=$BUILD/control/cli/remoractl
# The control plane's Service gets this ClusterIP: the cluster has no DNS, so injected proxies
# are given the address instead of remora-control.remora-system.svc.
CONTROL_IP=10.96.0.15
T0=$(date +%s.%N)
now() { date +%s.%N; }
since() { awk -v t="$1" -v n="$(now)" 'BEGIN {printf "%.1f", n - t}'; }
TIMES=()
phase_done() { TIMES+=("$(printf '%-40s %6s s' "$1" "$(since "$2")")"); echo "== $1: $(since "$2") s"; }
FAILURES=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILURES=$((FAILURES + 1)); }
die() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (it runs a kubelet and containerd); try: sudo make test-cluster"
for bin in "$REMORACTL" "$BUILD/control/remora-control" "$BUILD/sidecar/remora-sidecar" "$BUILD/test/apps/echo/remora-echo"; do
  [ -x "$bin" ] || die "$bin is not built (make build)"
done

# ------------------------------------------------------------------- 1. binaries, packages
t=$(now)
bash "$ROOT/scripts/setup.sh" --cluster
rc=0
COMPONENTS="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl pause" \
  bash "$ROOT/test/k8s/build-apiserver.sh" >/dev/null || rc=$?
[ $rc = 0 ] || die "the Kubernetes binaries could not be built (build-apiserver.sh exit $rc): $(cat "$CACHE/unavailable" 2>/dev/null)"
phase_done "binaries and packages present" "$t"

# ------------------------------------------------------------------- 2. the cluster
cleanup() {
  local rc=$?
  if [ $rc != 0 ] && [ -f "$WORK/env" ]; then
    echo "--- on failure: pods and recent events"
    "$KUBECTL" --kubeconfig="$WORK/kubeconfig/admin" get pods -A -o wide 2>&1 | head -30 || true
    "$KUBECTL" --kubeconfig="$WORK/kubeconfig/admin" get events -A --sort-by=.lastTimestamp 2>&1 | tail -15 || true
  fi
  bash "$ROOT/test/cluster/node.sh" stop "$WORK" || true
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# A previous run that was killed may have left its cluster: stop it, then start afresh.
[ -d "$WORK" ] && bash "$ROOT/test/cluster/node.sh" stop "$WORK" >/dev/null
rm -rf "$WORK"
mem_available() { awk '/^MemAvailable/ {printf "%d", $2 / 1024}' /proc/meminfo; }
MEM0=$(mem_available)
t=$(now)
bash "$ROOT/test/cluster/node.sh" start "$WORK"
phase_done "cluster up (node Ready)" "$t"
# shellcheck disable=SC1091
source "$WORK/env"
export KUBECONFIG
k() { "$KUBECTL" --request-timeout=20s "$@"; }

t=$(now)
bash "$ROOT/test/cluster/images.sh" "$BUILD" "$WORK/images" "$CONTAINERD_SOCK" "$CACHE/bin/pause"
VERSION=$("$REMORACTL" --version | awk '{print $NF}')
phase_done "images built and imported" "$t"

# ------------------------------------------------------------------- 3. install
# remoractl install, with what this cluster needs, each change checked to have happened:
#  - Kubernetes 1.20 serves PodDisruptionBudget as policy/v1beta1 only;
#  - no cluster DNS: the Service gets a fixed ClusterIP, and the injector hands proxies that
#    address rather than remora-control.remora-system.svc:15010 (the webhook itself is
#    reached by the API server through the Service's ClusterIP, and needs no change);
#  - no Gateway API: the stand-in HTTPRoute CRD.
install_manifests() {
  "$REMORACTL" install --gateway-api-stand-in >"$WORK/install.orig.yaml"
  sed -e 's|^apiVersion: policy/v1$|apiVersion: policy/v1beta1|' \
    -e "s|^\( *- \)remora-control.remora-system.svc:15010$|\1$CONTROL_IP:15010|" \
    -e "s|^  selector: {app: remora-control}$|  clusterIP: $CONTROL_IP\n&|" \
    "$WORK/install.orig.yaml" >"$WORK/install.yaml"
  local changed
  changed=$(diff "$WORK/install.orig.yaml" "$WORK/install.yaml" | grep -c '^>' || true)
  [ "$changed" = 3 ] || die "the installation did not take the 3 changes this cluster needs ($changed lines changed)"
}
t=$(now)
install_manifests
k apply -f "$WORK/install.yaml" >/dev/null
k -n remora-system rollout status deploy/remora-control --timeout=240s >/dev/null ||
  die "the control plane did not become ready: $(k -n remora-system get pods -o wide 2>&1)"
ready=$(k -n remora-system get deploy remora-control -o jsonpath='{.status.readyReplicas}')
[ "$ready" = 2 ] && pass "remoractl install: remora-control has 2 of 2 replicas Ready" ||
  fail "remora-control has $ready ready replicas, want 2"
# The replicas patch their CA into the webhook configuration; pods created before that would
# not be injected (failurePolicy Ignore).
deadline=$(($(date +%s) + 60))
until [ -n "$(k get mutatingwebhookconfiguration remora-sidecar-injector -o jsonpath='{.webhooks[0].clientConfig.caBundle}')" ]; do
  [ "$(date +%s)" -lt $deadline ] || die "the webhook configuration never got its CA bundle"
  sleep 0.5
done
phase_done "install ready (2 replicas, webhook CA)" "$t"

# ------------------------------------------------------------------- 4. the shop
t=$(now)
k apply -k "$ROOT/k8s/examples" >/dev/null
k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: shop-client
  namespace: shop
  labels: {app: shop-client}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001}
  containers:
  - name: client
    image: remora-test-client:$VERSION
    imagePullPolicy: IfNotPresent
    command: [sleep, "36000"]
EOF
for d in frontend catalog-v1 catalog-v2 orders; do
  k -n shop rollout status "deploy/$d" --timeout=240s >/dev/null || die "deployment shop/$d did not become ready"
done
k -n shop wait --for=condition=Ready pod/shop-client --timeout=120s >/dev/null || die "pod shop/shop-client not Ready"
phase_done "shop ready (7 pods)" "$t"

# ------------------------------------------------------------------- 5. checks
t=$(now)
k -n shop get pods -o wide
pods=$(k -n shop get pods -o json)
npods=$(jq '.items | length' <<<"$pods")
injected=$(jq '[.items[] | select(.metadata.annotations["remora.dev/status"] == "injected"
    and ([.spec.initContainers[]?.name] | index("remora-init"))
    and ([.spec.containers[].name] | index("remora-proxy")))] | length' <<<"$pods")
running=$(jq '[.items[] | select(.status.phase == "Running"
    and ([.status.containerStatuses[].ready] | all))] | length' <<<"$pods")
if [ "$npods" = 7 ] && [ "$injected" = 7 ] && [ "$running" = 7 ]; then
  pass "webhook: all $npods shop pods have remora-init and remora-proxy (injected at admission), all Running and Ready"
else
  fail "shop pods: $npods, injected $injected, running and ready $running (want 7 each)"
fi
# Kubelet probes the apps through their sidecars (docs/injection.md "Probes"): every app
# container's readinessProbe now asks remora-proxy on :15021, the original is in
# REMORA_APP_PROBES, and the app port is no longer excluded from inbound capture. The pods
# above became Ready through these rewritten probes.
rewritten=$(jq '[.items[] | select(.metadata.name != "shop-client")
    | select([.spec.containers[] | select(.name != "remora-proxy") | .readinessProbe.httpGet
        == {path: "/app-health/\(.name)/readyz", port: 15021, scheme: "HTTP"}] | all)
    | select([.spec.containers[] | select(.name == "remora-proxy") | .env[]
        | select(.name == "REMORA_APP_PROBES") | .value | fromjson | .[].httpGet.port] == [8080])
    | select([.spec.initContainers[] | select(.name == "remora-init") | .args as $a
        | $a[($a | index("--exclude-inbound-ports")) + 1]] == ["15021,15090"])] | length' <<<"$pods")
[ "$rewritten" = 6 ] && pass "probes: the 6 shop app pods are Ready through readinessProbe :15021 /app-health/<container>/readyz (original in REMORA_APP_PROBES, port 8080 captured)" ||
  fail "probes: $rewritten of 6 shop app pods have the rewritten readinessProbe, REMORA_APP_PROBES and no 8080 exclusion"
init_log=$(k -n shop logs deploy/orders -c remora-init 2>&1 | grep -c 'REDIRECT --to-ports' || true)
[ "$init_log" -ge 2 ] && pass "remora-init installed the interception rules (its log: $init_log REDIRECT rules)" ||
  fail "remora-init's log shows no REDIRECT rule"

# The control plane lists every proxy under POD.NAMESPACE with the Pod's identity; each proxy
# is connected to one of the two replicas, so ask both.
proxies=$(for ip in $(k -n remora-system get pods -l app=remora-control -o jsonpath='{.items[*].status.podIP}'); do
  curl -sS -m 5 "http://$ip:15014/v1/proxies"
done | jq -s '{proxies: [.[].proxies[]]}')
echo "control plane replicas: $(jq -r '[.proxies[].node_id] | length' <<<"$proxies") proxies connected in all"
for pod in $(jq -r '.items[].metadata.name' <<<"$pods"); do
  sa=$(jq -r --arg p "$pod" '.items[] | select(.metadata.name == $p) | .spec.serviceAccountName' <<<"$pods")
  got=$(jq -c --arg id "$pod.shop" '[.proxies[] | select(.node_id == $id)] | first
      | {pod, service_account, pod_ip}' <<<"$proxies" 2>/dev/null || echo null)
  if [ "$(jq -r .pod <<<"$got")" = "shop/$pod" ] && [ "$(jq -r .service_account <<<"$got")" = "$sa" ]; then
    pass "control plane /v1/proxies: $pod.shop $got"
  else
    fail "control plane /v1/proxies: $pod.shop is $got (want pod shop/$pod, service account $sa)"
  fi
done

# Requests from the client pod, through its sidecar, to the shop's ClusterIPs.
svc_ip() { k -n shop get svc "$1" -o jsonpath='{.spec.clusterIP}'; }
CATALOG=$(svc_ip catalog)
ORDERS=$(svc_ip orders)
FRONTEND=$(svc_ip frontend)
in_client() { k -n shop exec shop-client -c client -- sh -c "$1"; }
admin() { in_client "timeout 5 wget -qO- http://127.0.0.1:15000$1"; }
retries_to() {  # retries_to SERVICE: upstream_rq_retry summed over the client sidecar's clusters of SERVICE
  admin /clusters | jq --arg s "$1" '[.clusters[] | select(.name | test($s)) | .upstream_rq_retry] | add // 0'
}
inbound_rq() {  # inbound_rq SELECTOR: remora_downstream_rq_total of the inbound listener, summed over the pods
  local sum=0 ip v
  for ip in $(k -n shop get pods -l "$1" -o jsonpath='{.items[*].status.podIP}'); do
    v=$(curl -sf -m 3 "http://$ip:15090/stats/prometheus" |
      awk '/^remora_downstream_rq_total[{].*listener="inbound"/ {s += $NF} END {printf "%d", s}')
    sum=$((sum + v))
  done
  echo "$sum"
}
N=200
catalog_inbound_before=$(inbound_rq app=catalog)
tr=$(now)
in_client "i=0; while [ \$i -lt $N ]; do timeout 5 wget -qO- http://$CATALOG:8080/items 2>&1 | tr -d '\n'; echo; i=\$((i+1)); done" \
  >"$WORK/catalog.out"
T_REQ=$(since "$tr")
ok=$(jq -R 'fromjson? | select(.id) | .id' "$WORK/catalog.out" | wc -l)
v1=$(jq -R -r 'fromjson? | .id // empty' "$WORK/catalog.out" | grep -c '^catalog-v1-' || true)
v2=$(jq -R -r 'fromjson? | .id // empty' "$WORK/catalog.out" | grep -c '^catalog-v2-' || true)
routed=$(jq -R 'fromjson? | select(.headers["x-shop-route"] == "catalog-canary" and .headers["x-request-id"])' \
  "$WORK/catalog.out" | jq -s length)
echo "catalog: $N requests in $T_REQ s: $ok answered, catalog-v1 $v1, catalog-v2 $v2, by pod:" \
  "$(jq -R -r 'fromjson? | .id // empty' "$WORK/catalog.out" | sort | uniq -c | tr -s ' \n' ' ')"
[ "$ok" = $N ] && pass "client -> catalog ClusterIP $CATALOG:8080: $ok/$N answered" || fail "client -> catalog: $ok/$N answered"
# The HTTPRoute splits 90/10: with 200 requests, v2 gets 20 on average (5 to 45 is more than
# 3.5 standard deviations either side).
if [ $((v1 + v2)) = "$ok" ] && [ "$v2" -ge 5 ] && [ "$v2" -le 45 ]; then
  pass "canary split of HTTPRoute catalog-canary (90/10): v1 $v1, v2 $v2"
else
  fail "canary split: v1 $v1, v2 $v2 of $ok"
fi
# The client's sidecar counted each of them (and nothing else went to catalog yet).
through=$(admin /clusters | jq '[.clusters[] | select(.name | test("^catalog-v[12][.]")) | .endpoints[].requests_total] | add')
[ "$through" = "$ok" ] && pass "the client's sidecar sent all $through to the catalog pods (requests_total of its catalog-v1/v2 endpoints)" ||
  fail "the client's sidecar counted $through requests to the catalog pods, want $ok"
# ... and so did the catalog pods' own sidecars, on their inbound listener.
catalog_inbound=$(($(inbound_rq app=catalog) - catalog_inbound_before))
[ "$catalog_inbound" = "$ok" ] && pass "the catalog pods' sidecars served all $catalog_inbound on their inbound listener (remora_downstream_rq_total{listener=\"inbound\"} +$catalog_inbound)" ||
  fail "the catalog pods' sidecars counted $catalog_inbound inbound requests, want $ok"
[ "$routed" = "$ok" ] && pass "every answer shows x-shop-route: catalog-canary and an x-request-id added by the client's sidecar" ||
  fail "only $routed of $ok answers carry the route's header and a request id"

orders_ok=$(in_client "for i in 1 2 3 4 5 6 7 8 9 10; do timeout 5 wget -qO- http://$ORDERS:8080/orders | tr -d '\n'; echo; done" |
  jq -R -r 'fromjson? | .id // empty' | grep -c '^orders-' || true)
frontend_ok=$(in_client "for i in 1 2 3 4 5; do timeout 5 wget -qO- http://$FRONTEND:8080/ | tr -d '\n'; echo; done" |
  jq -R -r 'fromjson? | .id // empty' | grep -c '^frontend-' || true)
[ "$orders_ok" = 10 ] && [ "$frontend_ok" = 5 ] && pass "client -> orders 10/10, -> frontend 5/5" ||
  fail "client -> orders $orders_ok/10, -> frontend $frontend_ok/5"

# Retries: the route retries a 503 twice; remora-echo answers 503 when asked to.
before=$(retries_to catalog)
in_client "for i in 1 2 3 4 5; do timeout 5 wget -qO- --header 'x-echo-status: 503' http://$CATALOG:8080/items >/dev/null 2>&1; done; true"
retries=$(($(retries_to catalog) - before))
[ "$retries" = 10 ] && pass "5 requests answered 503: the client's sidecar retried each twice (upstream_rq_retry +$retries)" ||
  fail "5 requests answered 503: upstream_rq_retry +$retries, want +10"

# The sidecar's own view: its counters and its log of recent requests.
admin /clusters >"$WORK/client-clusters.json"
echo "client sidecar /clusters (retries, outlier ejections; requests and health per endpoint):"
jq -r '.clusters[] | select(.name | test("catalog|orders|frontend"))
    | "  \(.name): retries \(.upstream_rq_retry), ejections \(.outlier_ejections_total); "
      + ([.endpoints[] | "\(.address) \(.requests_total) \(.health)"] | join(", "))' \
  "$WORK/client-clusters.json"
echo "client sidecar /requests (the last 2):"
admin "/requests?limit=2" | jq -c '.requests[] | {authority, route, cluster, status, attempts: [.attempts[] | "\(.endpoint) \(.outcome)"]}' | sed 's/^/  /'
prom_ok=0
for ip in $(jq -r '.items[].status.podIP' <<<"$pods"); do
  metrics=$(curl -sf -m 3 "http://$ip:15090/stats/prometheus" || true)
  grep -q '^remora_' <<<"$metrics" && prom_ok=$((prom_ok + 1))
done
[ "$prom_ok" = 7 ] && pass "every sidecar serves /stats/prometheus on its pod IP:15090 ($prom_ok/7)" ||
  fail "$prom_ok of 7 sidecars serve /stats/prometheus on :15090"

# remoractl check against the cluster.
if out=$("$REMORACTL" check --kubernetes --kubeconfig "$KUBECONFIG" 2>&1); then
  pass "remoractl check --kubernetes:"
else
  fail "remoractl check --kubernetes:"
fi
echo "$out" | sed 's/^/  /'
phase_done "checks" "$t"

echo "--- memory: MemAvailable $((MEM0 - $(mem_available))) MiB lower than before the cluster started, with $(k get pods -A --no-headers | wc -l) pods"
echo "    components (VmRSS MiB): $(for f in "$WORK"/pids/*; do
  printf '%s %.0f, ' "$(basename "$f")" "$(awk '/VmRSS/ {print $2 / 1024}' "/proc/$(cat "$f")/status" 2>/dev/null || echo 0)"
done)"
echo "--- timings"
printf '  %s\n' "${TIMES[@]}"
printf '  %-40s %6s s\n' "total" "$(since "$T0")"
echo "$FAILURES failure(s)"
[ "$FAILURES" = 0 ]
