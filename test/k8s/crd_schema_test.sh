#!/usr/bin/env bash
# remora's Kubernetes manifests against a real kube-apiserver (v1.20.2, with etcd, on loopback):
#  1. `remoractl install | kubectl apply -f -` succeeds, the CRDs become Established, and the
#     ServiceAccount may do exactly what the ClusterRole and Role list (asked of the API
#     server's RBAC authorizer with `kubectl auth can-i`); a second install with --namespace,
#     --replicas and --image moves every reference;
#  2. the good manifests apply: k8s/examples (the shop, with its policies and canary route, as
#     Deployments) and boundary values of every TrafficPolicy field;
#  3. every bad TrafficPolicy / HTTPRoute value a schema can catch is refused by `kubectl apply`
#     with the field named, and `remoractl check` refuses the same manifest (and accepts every
#     good one): the schema is neither stricter nor looser than the control plane there.
#
# Usage: crd_schema_test.sh REMORACTL_BIN
# Exit 0 pass, 1 fail, 77 skip (no kube-apiserver built here: test/k8s/build-apiserver.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
REMORACTL=${1:?remoractl binary}
CACHE=${REMORA_K8S_CACHE:-/var/cache/remora-k8s}
APISERVER=$CACHE/bin/kube-apiserver
KUBECTL=${KUBECTL:-kubectl}

[ -x "$APISERVER" ] || { echo "SKIP: no kube-apiserver at $APISERVER (test/k8s/build-apiserver.sh builds it)"; exit 77; }
for tool in etcd etcdctl openssl python3 curl "$KUBECTL"; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done

RUN=$(mktemp -d /tmp/remora-crd-test.XXXXXX)
cleanup() {
  for p in apiserver etcd; do
    if [ -f "$RUN/$p.pid" ]; then
      pid=$(cat "$RUN/$p.pid"); kill "$pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$RUN"
}
trap cleanup EXIT

# --- etcd + kube-apiserver on free loopback ports, in $RUN -------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ETCD_PORT=$(free_port); ETCD_PEER=$(free_port); SECURE_PORT=$(free_port)
TOKEN=crd-test-token
PKI=$RUN/pki; mkdir -p "$PKI"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$PKI/apiserver.key" -out "$PKI/apiserver.crt" \
  -subj "/CN=kube-apiserver" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
echo "$TOKEN,admin,1,\"system:masters\"" >"$PKI/tokens.csv"
etcd --name crd-test --data-dir "$RUN/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
  --initial-cluster "crd-test=http://127.0.0.1:$ETCD_PEER" >"$RUN/etcd.log" 2>&1 &
echo $! >"$RUN/etcd.pid"
t0=$(date +%s.%N)
"$APISERVER" --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$SECURE_PORT" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --token-auth-file="$PKI/tokens.csv" --authorization-mode=RBAC \
  --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$PKI/sa.pub" \
  --service-account-signing-key-file="$PKI/sa.key" --api-audiences=https://kubernetes.default.svc \
  --service-cluster-ip-range=10.96.0.0/16 --endpoint-reconciler-type=none \
  --disable-admission-plugins=ServiceAccount >"$RUN/apiserver.log" 2>&1 &
echo $! >"$RUN/apiserver.pid"
ready=0
for _ in $(seq 600); do  # up to 60 s (it takes about 5)
  if [ "$(curl -s --cacert "$PKI/apiserver.crt" -H "Authorization: Bearer $TOKEN" \
          "https://127.0.0.1:$SECURE_PORT/readyz" 2>/dev/null)" = ok ]; then ready=1; break; fi
  kill -0 "$(cat "$RUN/apiserver.pid")" 2>/dev/null || break
  sleep 0.1
done
if [ $ready != 1 ]; then
  echo "FAIL: kube-apiserver did not become ready"; tail -20 "$RUN/apiserver.log" "$RUN/etcd.log"; exit 1
fi
echo "kube-apiserver $("$APISERVER" --version | awk '{print $2}') ready after $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}") s"
cat >"$RUN/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: t, cluster: {server: "https://127.0.0.1:$SECURE_PORT", certificate-authority: "$PKI/apiserver.crt"}}]
users: [{name: admin, user: {token: $TOKEN}}]
contexts: [{name: t, context: {cluster: t, user: admin}}]
current-context: t
KC
export KUBECONFIG=$RUN/kubeconfig KUBECACHEDIR=$RUN/kube-cache
# The client is newer than 1.20: keep its version-skew warning out of the error texts.
k() {
  local rc=0
  "$KUBECTL" "$@" 2>"$RUN/kubectl.err" || rc=$?
  grep -v 'exceeds the supported minor version skew' "$RUN/kubectl.err" >&2 || true
  return $rc
}

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# --- 1. remoractl install -----------------------------------------------------------------------
# policy/v1 PodDisruptionBudget arrived in Kubernetes 1.21; this 1.20 server has policy/v1beta1
# only (same fields for minAvailable), so the PDB is sent as v1beta1 here, and only here.
pdb_compat() {
  if k api-versions | grep -x policy/v1 >/dev/null; then cat; else sed 's#^apiVersion: policy/v1$#apiVersion: policy/v1beta1#'; fi
}
if "$REMORACTL" install --gateway-api-stand-in | pdb_compat | k apply -f - >"$RUN/install.out" 2>&1; then
  echo "remoractl install | kubectl apply -f -: $(wc -l <"$RUN/install.out") objects applied"
else
  fail "remoractl install | kubectl apply -f - failed:"; cat "$RUN/install.out"
fi
k wait --for condition=established --timeout=30s \
  crd/trafficpolicies.policy.remora.dev crd/httproutes.gateway.networking.k8s.io >/dev/null ||
  fail "the CRDs did not become Established"
# kube-apiserver 1.20.2 built with Go >= 1.19 (as test/k8s/build-apiserver.sh does) refuses an
# empty string in any string field of a custom resource ("must be of type string: \"null\""):
# the type check of its vendored k8s.io/kube-openapi/pkg/validation/validate/type.go takes a
# decoded "" for null (`data == nil || reflect.DeepEqual(reflect.Zero(...), reflect.ValueOf(
# data))`: newer Go runtimes box "" and reflect.Zero(string) at the same address; Go 1.15,
# which 1.20 shipped with, did not, so reducing the test to `data == nil` at build time restores
# 1.20's behaviour). Real 1.20 clusters and later versions store "". Probe for it; where the server has the
# bug, manifests holding "" are applied with `group: ""` left out (the same reference: the
# core group) and the cases that need "" are skipped, loudly.
EMPTY_BROKEN=0
printf '%s\n' 'apiVersion: policy.remora.dev/v1alpha1' 'kind: TrafficPolicy' \
  'metadata: {name: empty-string-probe, namespace: default}' \
  'spec: {targetRefs: [{kind: Service, name: probe}], fallback: {body: ""}}' >"$RUN/probe.yaml"
if ! k apply --dry-run=server -f "$RUN/probe.yaml" >/dev/null 2>"$RUN/probe.err"; then
  if grep -q 'must be of type string: "null"' "$RUN/probe.err"; then
    EMPTY_BROKEN=1
    echo "NOTE: this kube-apiserver refuses empty strings in custom resources (the Go >= 1.19 build of 1.20.2);"
    echo "      manifests are applied without their group: \"\" and the cases that need \"\" are skipped"
  else
    fail "the empty-string probe failed: $(cat "$RUN/probe.err")"
  fi
fi
without_empty_group() {
  if [ $EMPTY_BROKEN = 1 ]; then
    sed -E 's/group: "", //; s/, group: ""//; /^ *group: ""$/d; s/^( *)- group: ""$/\1-/'
  else
    cat
  fi
}
skipped=0
# The defaults print the files byte for byte.
cat "$ROOT/k8s/crds/trafficpolicy.yaml" "$ROOT"/k8s/install/*.yaml | cmp -s - <("$REMORACTL" install) ||
  fail "remoractl install differs from k8s/crds/trafficpolicy.yaml + k8s/install/*.yaml"

SA=system:serviceaccount:remora-system:remora-control
can() {  # can yes|no VERB RESOURCE [kubectl flags]: what RBAC answers for the control plane
  local want=$1; shift
  local got; got=$(k auth can-i --as="$SA" "$@" 2>/dev/null || true)
  [ "$got" = "$want" ] || fail "can-i $* for remora-control: $got, expected $want"
}
can no list endpoints -A
for r in services pods endpointslices.discovery.k8s.io trafficpolicies.policy.remora.dev \
         httproutes.gateway.networking.k8s.io; do
  can yes list "$r" -A; can yes watch "$r" -A
done
can yes get namespaces/shop
can no list namespaces
for v in create patch delete; do can yes "$v" endpointslices.discovery.k8s.io -n shop; done
can no update endpointslices.discovery.k8s.io -n shop
for r in trafficpolicies.policy.remora.dev httproutes.gateway.networking.k8s.io; do
  can yes patch "$r" --subresource=status -n shop; can no update "$r" --subresource=status -n shop
  can no update "$r" -n shop; can no create "$r" -n shop; can no get "$r" -n shop
done
can yes get mutatingwebhookconfigurations/remora-sidecar-injector
can yes patch mutatingwebhookconfigurations/remora-sidecar-injector
can no patch mutatingwebhookconfigurations/another-webhook
can no list mutatingwebhookconfigurations
can yes create leases.coordination.k8s.io -n remora-system
can yes get leases.coordination.k8s.io/remora-control -n remora-system
can yes update leases.coordination.k8s.io/remora-control -n remora-system
can no update leases.coordination.k8s.io/other -n remora-system
can no create leases.coordination.k8s.io -n kube-system
for r in pods services secrets configmaps deployments.apps; do can no create "$r" -n shop; done
can yes create secrets -n remora-system
can yes get secrets/remora-webhook-tls -n remora-system
can no get secrets/other -n remora-system
can no list secrets -n remora-system
can no update secrets/remora-webhook-tls -n remora-system
can no create secrets -n shop
echo "RBAC: remora-control may do exactly what 20-rbac.yaml lists (kubectl auth can-i)"

# A second installation elsewhere: every reference follows --namespace.
"$REMORACTL" install --namespace mesh-b --replicas 3 --image registry.example.com/rc:1 |
  pdb_compat | k apply -f - >/dev/null 2>"$RUN/install-b.err" || { fail "install --namespace mesh-b:"; cat "$RUN/install-b.err"; }
got=$(k -n mesh-b get deploy remora-control -o jsonpath='{.spec.replicas} {.spec.template.spec.containers[0].image}' 2>&1)
[ "$got" = "3 registry.example.com/rc:1" ] || fail "install --namespace mesh-b: deployment is '$got'"
got=$(k get clusterrolebinding remora-control -o jsonpath='{.subjects[0].namespace}')
[ "$got" = mesh-b ] || fail "ClusterRoleBinding subject namespace $got, expected mesh-b"
got=$(k get mutatingwebhookconfiguration remora-sidecar-injector -o jsonpath='{.webhooks[0].clientConfig.service.namespace}')
[ "$got" = mesh-b ] || fail "webhook service namespace $got, expected mesh-b"
got=$(k -n mesh-b get rolebinding remora-control-leader-election -o jsonpath='{.subjects[0].namespace}')
[ "$got" = mesh-b ] || fail "RoleBinding subject namespace $got, expected mesh-b"
"$REMORACTL" install | pdb_compat | k apply -f - >/dev/null 2>&1 || fail "re-applying the default install failed"

# --- 2. good manifests --------------------------------------------------------------------------
if k kustomize "$ROOT/k8s/examples" | without_empty_group | k apply -f - >"$RUN/shop.out" 2>&1; then
  echo "kubectl apply -k k8s/examples: $(wc -l <"$RUN/shop.out") objects (the shop as Deployments, with policies and route)"
else
  fail "kubectl apply -k k8s/examples:"; cat "$RUN/shop.out"
fi
got=$(k get ns shop -o jsonpath='{.metadata.labels.remora\.dev/inject}')
[ "$got" = enabled ] || fail "namespace shop is not labelled remora.dev/inject=enabled ($got)"
got=$(k -n shop get trafficpolicy -o name | wc -l)
[ "$got" = 2 ] || fail "expected the 2 TrafficPolicies of the shop, got $got"
got=$(k -n shop get trafficpolicy catalog | sed -n 1p | tr -s ' ')
[ "$got" = "NAME ACCEPTED TARGETS AGE" ] || fail "kubectl get trafficpolicy columns: '$got'"
got=$(k -n shop get httproute catalog-canary | sed -n 1p | tr -s ' ')
[ "$got" = "NAME HOSTNAMES ACCEPTED AGE" ] || fail "kubectl get httproute columns: '$got'"
# The route of the shop through the v1beta1 version of the stand-in too.
sed 's#gateway.networking.k8s.io/v1$#gateway.networking.k8s.io/v1beta1#; s#name: catalog-canary#name: catalog-canary-beta#' \
  "$ROOT/k8s/examples/shop/routes.yaml" | without_empty_group | k apply -f - >/dev/null 2>"$RUN/beta.err" ||
  { fail "HTTPRoute v1beta1:"; cat "$RUN/beta.err"; }

# Each case is one TrafficPolicy (or HTTPRoute) in namespace schema-test next to its Service.
k create namespace schema-test >/dev/null
CHECK=$RUN/check; mkdir -p "$CHECK"
cat >"$CHECK/services.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: catalog, namespace: schema-test}
spec:
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: catalog-v2, namespace: schema-test}
spec:
  ports: [{name: http, port: 8080}]
YAML
k apply -f "$CHECK/services.yaml" >/dev/null
T='targetRefs: [{kind: Service, name: catalog}]'
P='parentRefs: [{kind: Service, name: catalog, port: 8080}]'
n=0; good=0; bad=0
manifest() {  # manifest KIND NAME SPEC (a flow mapping's content)
  if [ "$1" = TrafficPolicy ]; then echo "apiVersion: policy.remora.dev/v1alpha1"; else echo "apiVersion: gateway.networking.k8s.io/${APIVERSION:-v1}"; fi
  printf 'kind: %s\nmetadata: {name: %s, namespace: schema-test}\nspec: {%s}\n' "$1" "$2" "$3"
}
# remoractl check: the object beside the Services; echoes its result. (Files hold HTTPRoute v1
# only; v1beta1 exists for API servers, so those cases are checked at kubectl apply alone.)
offline() {
  rm -f "$CHECK/case.yaml"; printf '%s\n' "$1" >"$CHECK/case.yaml"
  "$REMORACTL" check "$CHECK" >"$RUN/check.out" 2>&1 && echo accepted || echo refused
}
# needs_empty SPEC: the case holds "" and this server cannot take it (see the probe).
needs_empty() {
  if [ $EMPTY_BROKEN = 1 ] && grep -qE "\"\"|''" <<<"$1"; then
    skipped=$((skipped + 1)); echo "  skipped at kubectl apply (empty string): {$1}"; return 0
  fi
  return 1
}
accepts() {  # accepts KIND SPEC
  n=$((n + 1)); good=$((good + 1))
  local doc; doc=$(manifest "$1" "good-$n" "$2")
  needs_empty "$2" || k apply -f - <<<"$doc" >/dev/null 2>"$RUN/err" ||
    fail "kubectl apply refused a good $1 {$2}: $(head -3 "$RUN/err")"
  [ "${APIVERSION:-v1}" != v1 ] || [ "$(offline "$doc")" = accepted ] || fail "remoractl check refused a good $1 {$2}: $(head -3 "$RUN/check.out")"
}
# names FIELD FILE: the error names FIELD, as the API server does ("spec.a.b: Invalid value";
# 1.20 leaves list indexes out: "spec.rules.name" for spec.rules[0].name; "\"spec.a\" must
# validate one and only one schema" for oneOf / anyOf) or as kubectl's own
# check of the published schema does ("ValidationError(TrafficPolicy.spec.a): missing required
# field \"b\"", "unknown field \"b\" in ...TrafficPolicy.spec.a").
names() {
  local plain; plain=$(sed 's/\[[0-9]*\]//g' <<<"$1")
  grep -qF -e "$1" -e "$plain: " -e "\"$plain\"" "$2" ||
    { grep -qF "${1%.*}" "$2" && grep -qF "\"${1##*.}\"" "$2"; }
}
refuses() {  # refuses KIND FIELD SPEC
  n=$((n + 1)); bad=$((bad + 1))
  local doc; doc=$(manifest "$1" "bad-$n" "$3")
  if needs_empty "$3"; then
    :
  elif k apply -f - <<<"$doc" >/dev/null 2>"$RUN/err"; then
    fail "kubectl apply accepted a bad $1 {$3} (expected an error at $2)"
  elif ! names "$2" "$RUN/err"; then
    fail "kubectl apply refused $1 {$3} without naming $2: $(head -3 "$RUN/err")"
  else
    printf '  refused %-50s %s\n' "$2" "$(grep -F "$(sed 's/\[[0-9]*\]//g' <<<"${2##*.}")" "$RUN/err" | grep -v 'is invalid: *$' | sed -n 1p | cut -c1-110)"
  fi
  [ "${APIVERSION:-v1}" != v1 ] || [ "$(offline "$doc")" = refused ] || fail "remoractl check accepted the bad $1 {$3}: the schema is stricter than the control plane"
}

# --- 2b. good boundary values -------------------------------------------------------------------
accepts TrafficPolicy "$T"
accepts TrafficPolicy 'targetRefs: [{group: "", kind: Service, name: catalog}]'
accepts TrafficPolicy 'targetRefs: [{group: core, kind: Service, name: catalog}, {kind: Service, name: catalog-v2}]'
accepts TrafficPolicy "$T, loadBalancer: {type: RING_HASH, hashOn: {sourceIP: true}, panicThresholdPercent: 100}"
accepts TrafficPolicy "$T, loadBalancer: {type: MAGLEV, hashOn: {header: x-user_id.v1}}"
accepts TrafficPolicy "$T, loadBalancer: {type: PEAK_EWMA, ewmaDecay: .5s, panicThresholdPercent: 0}"
accepts TrafficPolicy "$T, loadBalancer: {type: \"\"}"
accepts TrafficPolicy "$T, connectionPool: {maxConnections: 1, maxPendingRequests: 0, maxRequests: 4294967295, maxRetries: 0, connectTimeout: 1ns, idleTimeout: 1h30m}"
accepts TrafficPolicy "$T, outlierDetection: {consecutive5xx: 0, interval: 250µs, baseEjectionTime: 0.001s, maxEjectionTime: 1h, maxEjectionPercent: 100}"
accepts TrafficPolicy "$T, healthCheck: {tcp: {}, interval: 1.5s, timeout: 1ms, unhealthyThreshold: 1, healthyThreshold: 1}"
accepts TrafficPolicy "$T, healthCheck: {http: {path: /, expectedStatuses: [100, 599]}}"
accepts TrafficPolicy "$T, retry: {attempts: 0, retryOn: [5xx, gateway-error, reset, connect-failure, retriable-status-codes], retriableStatusCodes: [100, 599], backoff: {baseInterval: 1ms, maxInterval: 1m}, budget: {percent: 100, minRetriesPerSecond: 0}}"
accepts TrafficPolicy "$T, retry: {budget: {percent: 0.5}}"
accepts TrafficPolicy "$T, timeout: \"0\""
accepts TrafficPolicy "$T, timeout: 0s"
accepts TrafficPolicy "$T, timeout: 2h0m0.5s"
accepts TrafficPolicy "$T, rateLimit: {requestsPerUnit: 1, unit: hour, burst: 1, perSource: true}"
accepts TrafficPolicy "$T, rateLimit: {requestsPerUnit: 5, unit: \"\"}"
accepts TrafficPolicy "$T, faultInjection: {abort: {percent: 0, httpStatus: 200}}"
accepts TrafficPolicy "$T, faultInjection: {delay: {percent: 100, fixedDelay: 1s}, abort: {httpStatus: 599}}"
accepts TrafficPolicy "$T, fallback: {status: 599, body: '', headers: {x-a: b}}"
accepts HTTPRoute "$P"
accepts HTTPRoute "parentRefs: [{kind: Service, name: catalog, sectionName: http, namespace: schema-test}], hostnames: [\"*.example.com\", catalog], rules: [{name: r-1, matches: [{path: {type: Exact, value: /a}, headers: [{name: x-a, value: b}, {type: RegularExpression, name: x-b, value: \"c.*\"}], queryParams: [{name: q, value: v}], method: PATCH}], filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /b}}}], backendRefs: [{name: catalog-v2, port: 8080, weight: 1000000}, {group: core, kind: Service, name: catalog, port: 8080, weight: 0}], timeouts: {request: \"0\", backendRequest: 1s}, retry: {codes: [400, 599], attempts: 0, backoff: 25ms}}]"
accepts HTTPRoute "$P, rules: [{filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: a, value: b}], add: [{name: c, value: d}], remove: [e, f]}}, {type: ResponseHeaderModifier, responseHeaderModifier: {remove: [g]}}]}]"
accepts HTTPRoute "$P, rules: [{filters: [{type: URLRewrite, urlRewrite: {hostname: \"\", path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}]}]"
accepts HTTPRoute "$P, rules: [{filters: [{type: URLRewrite, urlRewrite: {hostname: catalog.example.com}}]}]"
APIVERSION=v1beta1 accepts HTTPRoute "$P"

# --- 3. bad values: refused at kubectl apply, with the field named ------------------------------
refuses TrafficPolicy spec.targetRefs 'loadBalancer: {type: RANDOM}'
refuses TrafficPolicy spec.targetRefs 'targetRefs: []'
refuses TrafficPolicy 'spec.targetRefs[0].kind' 'targetRefs: [{kind: Deployment, name: catalog}]'
refuses TrafficPolicy 'spec.targetRefs[0].kind' 'targetRefs: [{name: catalog}]'
refuses TrafficPolicy 'spec.targetRefs[0].group' 'targetRefs: [{group: apps, kind: Service, name: catalog}]'
refuses TrafficPolicy 'spec.targetRefs[0].name' 'targetRefs: [{kind: Service, name: Catalog}]'
refuses TrafficPolicy 'spec.targetRefs[1]' 'targetRefs: [{kind: Service, name: catalog}, {kind: Service, name: catalog}]'
refuses TrafficPolicy spec.loadBalancer.type "$T, loadBalancer: {type: FASTEST}"
refuses TrafficPolicy spec.loadBalancer.type "$T, loadBalancer: {type: round_robin}"
refuses TrafficPolicy spec.loadBalancer.hashOn "$T, loadBalancer: {type: RING_HASH, hashOn: {}}"
refuses TrafficPolicy spec.loadBalancer.hashOn "$T, loadBalancer: {type: RING_HASH, hashOn: {header: a, cookie: b}}"
refuses TrafficPolicy spec.loadBalancer.hashOn.header "$T, loadBalancer: {type: RING_HASH, hashOn: {header: 'x user'}}"
refuses TrafficPolicy spec.loadBalancer.hashOn.cookie "$T, loadBalancer: {type: RING_HASH, hashOn: {cookie: ''}}"
refuses TrafficPolicy spec.loadBalancer.hashOn.sourceIP "$T, loadBalancer: {type: RING_HASH, hashOn: {sourceIP: false}}"
refuses TrafficPolicy spec.loadBalancer.ewmaDecay "$T, loadBalancer: {type: PEAK_EWMA, ewmaDecay: 0s}"
refuses TrafficPolicy spec.loadBalancer.panicThresholdPercent "$T, loadBalancer: {panicThresholdPercent: 101}"
refuses TrafficPolicy spec.connectionPool.maxConnections "$T, connectionPool: {maxConnections: 0}"
refuses TrafficPolicy spec.connectionPool.maxPendingRequests "$T, connectionPool: {maxPendingRequests: -1}"
refuses TrafficPolicy spec.connectionPool.maxRequests "$T, connectionPool: {maxRequests: 0}"
refuses TrafficPolicy spec.connectionPool.maxRetries "$T, connectionPool: {maxRetries: 4294967296}"
refuses TrafficPolicy spec.connectionPool.connectTimeout "$T, connectionPool: {connectTimeout: \"5\"}"
refuses TrafficPolicy spec.connectionPool.connectTimeout "$T, connectionPool: {connectTimeout: 5}"
refuses TrafficPolicy spec.connectionPool.idleTimeout "$T, connectionPool: {idleTimeout: -1s}"
refuses TrafficPolicy spec.connectionPool.idleTimeout "$T, connectionPool: {idleTimeout: 1d}"
refuses TrafficPolicy spec.outlierDetection.consecutive5xx "$T, outlierDetection: {consecutive5xx: -5}"
refuses TrafficPolicy spec.outlierDetection.interval "$T, outlierDetection: {interval: 10 s}"
refuses TrafficPolicy spec.outlierDetection.baseEjectionTime "$T, outlierDetection: {baseEjectionTime: \"0\"}"
refuses TrafficPolicy spec.outlierDetection.maxEjectionTime "$T, outlierDetection: {maxEjectionTime: 0ms}"
refuses TrafficPolicy spec.outlierDetection.maxEjectionPercent "$T, outlierDetection: {maxEjectionPercent: 150}"
refuses TrafficPolicy spec.healthCheck "$T, healthCheck: {interval: 5s}"
refuses TrafficPolicy spec.healthCheck "$T, healthCheck: {tcp: {}, http: {path: /}}"
refuses TrafficPolicy spec.healthCheck.http.path "$T, healthCheck: {http: {path: healthz}}"
refuses TrafficPolicy spec.healthCheck.http.expectedStatuses "$T, healthCheck: {http: {expectedStatuses: [99]}}"
refuses TrafficPolicy spec.healthCheck.timeout "$T, healthCheck: {tcp: {}, timeout: 0.0s}"
refuses TrafficPolicy spec.healthCheck.unhealthyThreshold "$T, healthCheck: {tcp: {}, unhealthyThreshold: 0}"
refuses TrafficPolicy spec.healthCheck.healthyThreshold "$T, healthCheck: {tcp: {}, healthyThreshold: 0}"
refuses TrafficPolicy spec.retry.attempts "$T, retry: {attempts: -1}"
refuses TrafficPolicy spec.retry.perTryTimeout "$T, retry: {perTryTimeout: 0ms}"
refuses TrafficPolicy spec.retry.retryOn "$T, retry: {retryOn: [5xx, timeout]}"
refuses TrafficPolicy spec.retry.retriableStatusCodes "$T, retry: {retryOn: [retriable-status-codes], retriableStatusCodes: [600]}"
refuses TrafficPolicy spec.retry.backoff.baseInterval "$T, retry: {backoff: {baseInterval: \"25\"}}"
refuses TrafficPolicy spec.retry.backoff.maxInterval "$T, retry: {backoff: {maxInterval: 1.s}}"
refuses TrafficPolicy spec.retry.budget.percent "$T, retry: {budget: {percent: 100.5}}"
refuses TrafficPolicy spec.retry.budget.percent "$T, retry: {budget: {percent: -0.1}}"
refuses TrafficPolicy spec.timeout "$T, timeout: 15 seconds"
refuses TrafficPolicy spec.timeout "$T, timeout: ''"
refuses TrafficPolicy spec.timeout "$T, timeout: 1h-30m"
refuses TrafficPolicy spec.rateLimit.requestsPerUnit "$T, rateLimit: {unit: second}"
refuses TrafficPolicy spec.rateLimit.requestsPerUnit "$T, rateLimit: {requestsPerUnit: 0}"
refuses TrafficPolicy spec.rateLimit.unit "$T, rateLimit: {requestsPerUnit: 1, unit: day}"
refuses TrafficPolicy spec.rateLimit.burst "$T, rateLimit: {requestsPerUnit: 1, burst: 0}"
refuses TrafficPolicy spec.faultInjection "$T, faultInjection: {}"
refuses TrafficPolicy spec.faultInjection.delay.fixedDelay "$T, faultInjection: {delay: {percent: 10}}"
refuses TrafficPolicy spec.faultInjection.delay.fixedDelay "$T, faultInjection: {delay: {fixedDelay: \"0\"}}"
refuses TrafficPolicy spec.faultInjection.delay.percent "$T, faultInjection: {delay: {percent: 101, fixedDelay: 1s}}"
refuses TrafficPolicy spec.faultInjection.abort.percent "$T, faultInjection: {abort: {percent: -1}}"
refuses TrafficPolicy spec.faultInjection.abort.httpStatus "$T, faultInjection: {abort: {httpStatus: 199}}"
refuses TrafficPolicy spec.fallback.status "$T, fallback: {status: 600}"
refuses TrafficPolicy spec.circuitBreaker "$T, circuitBreaker: {maxConnections: 1}"
refuses HTTPRoute spec.parentRefs 'rules: []'
refuses HTTPRoute spec.parentRefs 'parentRefs: []'
refuses HTTPRoute 'spec.parentRefs[0].kind' 'parentRefs: [{name: catalog}]'
refuses HTTPRoute 'spec.parentRefs[0].kind' 'parentRefs: [{kind: Gateway, name: catalog}]'
refuses HTTPRoute 'spec.parentRefs[0].port' 'parentRefs: [{kind: Service, name: catalog, port: 0}]'
refuses HTTPRoute 'spec.parentRefs[0].namespace' 'parentRefs: [{kind: Service, name: catalog, namespace: Shop}]'
refuses HTTPRoute 'spec.hostnames[0]' "$P, hostnames: [Bad_Host]"
refuses HTTPRoute 'spec.rules[0].name' "$P, rules: [{name: Rule}]"
refuses HTTPRoute 'spec.rules[0].matches[0].path.type' "$P, rules: [{matches: [{path: {type: Glob, value: /}}]}]"
refuses HTTPRoute 'spec.rules[0].matches[0].method' "$P, rules: [{matches: [{method: FETCH}]}]"
refuses HTTPRoute 'spec.rules[0].matches[0].headers[0].name' "$P, rules: [{matches: [{headers: [{name: 'a b', value: c}]}]}]"
refuses HTTPRoute 'spec.rules[0].matches[0].headers[0].type' "$P, rules: [{matches: [{headers: [{type: Prefix, name: a, value: c}]}]}]"
refuses HTTPRoute 'spec.rules[0].matches[0].queryParams[1]' "$P, rules: [{matches: [{queryParams: [{name: q, value: a}, {name: q, value: b}]}]}]"
refuses HTTPRoute 'spec.rules[0].filters[0].type' "$P, rules: [{filters: [{type: RequestRedirect}]}]"
refuses HTTPRoute 'spec.rules[0].filters[0].requestHeaderModifier.set[0].name' "$P, rules: [{filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: 'a:b', value: c}]}}]}]"
refuses HTTPRoute 'spec.rules[0].filters[0].requestHeaderModifier.remove[1]' "$P, rules: [{filters: [{type: RequestHeaderModifier, requestHeaderModifier: {remove: [a, a]}}]}]"
refuses HTTPRoute 'spec.rules[0].filters[0].urlRewrite' "$P, rules: [{filters: [{type: URLRewrite, urlRewrite: {hostname: ''}}]}]"
refuses HTTPRoute 'spec.rules[0].filters[0].urlRewrite.path.type' "$P, rules: [{filters: [{type: URLRewrite, urlRewrite: {path: {replacePrefixMatch: /x}}}]}]"
refuses HTTPRoute 'spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch' "$P, rules: [{filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: x}}}]}]"
refuses HTTPRoute 'spec.rules[0].backendRefs[0].port' "$P, rules: [{backendRefs: [{name: catalog-v2}]}]"
refuses HTTPRoute 'spec.rules[0].backendRefs[0].kind' "$P, rules: [{backendRefs: [{kind: Pod, name: catalog-v2, port: 8080}]}]"
refuses HTTPRoute 'spec.rules[0].backendRefs[0].weight' "$P, rules: [{backendRefs: [{name: catalog-v2, port: 8080, weight: -1}]}]"
refuses HTTPRoute 'spec.rules[0].backendRefs[0].weight' "$P, rules: [{backendRefs: [{name: catalog-v2, port: 8080, weight: 1000001}]}]"
refuses HTTPRoute 'spec.rules[0].timeouts.request' "$P, rules: [{timeouts: {request: 2 s}}]"
refuses HTTPRoute 'spec.rules[0].retry.codes[0]' "$P, rules: [{retry: {codes: [302]}}]"
refuses HTTPRoute 'spec.rules[0].retry.attempts' "$P, rules: [{retry: {attempts: -1}}]"
refuses HTTPRoute 'spec.rules[0].retry.backoff' "$P, rules: [{retry: {backoff: 25}}]"
APIVERSION=v1beta1 refuses HTTPRoute 'spec.rules[0].backendRefs[0].weight' "$P, rules: [{backendRefs: [{name: catalog-v2, port: 8080, weight: -1}]}]"

echo "$good good manifests accepted and $bad bad ones refused, by kubectl apply and by remoractl check alike"
[ $skipped = 0 ] || echo "($skipped of them skipped at kubectl apply: this server cannot store empty strings, see NOTE above)"
if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s); logs: apiserver $(tail -3 "$RUN/apiserver.log" | tr '\n' ' ')"; exit 1
fi
echo PASS
