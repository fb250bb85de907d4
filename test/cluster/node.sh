#!/usr/bin/env bash
# A single-node Kubernetes v1.20.2 cluster on this machine for `make test-cluster`: etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, containerd (CRI, runc, CNI bridge),
# kubelet and kube-proxy, all started as processes of this script inside one network namespace
# that plays the node. Needs root.
#
#   test/cluster/node.sh start DIR    start everything, wait for the node to be Ready and
#                                     schedulable; writes DIR/env (KUBECONFIG, CONTAINERD_SOCK, ...)
#   test/cluster/node.sh stop DIR     stop what `start DIR` started (by recorded pid) and undo
#                                     every change it made on the host; safe to run twice or
#                                     after a failed start
#
# Isolation: the node namespace has no default route and no interface to the outside, only
# lo, the pods' bridge and a veth pair to this host, which routes the pod and service ranges
# to it (so kubectl and curl work from here). Nothing a component or a pod sends can leave the
# machine (the kubelet's built-in cloud credential provider dials 169.254.169.254 at start; here
# it gets "network unreachable", and AWS_EC2_METADATA_DISABLED=true tells it not to). kube-proxy,
# the kubelet and CNI write their iptables rules in that namespace: the host's tables are never
# touched. Pods may answer the host but not open connections to it.
#
# Env: REMORA_K8S_CACHE (binaries, default /var/cache/remora-k8s), NODE_READY_TIMEOUT (s, 180).
set -euo pipefail
cmd=${1:?start|stop}
DIR=${2:?work dir}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
BIN=${REMORA_K8S_CACHE:-/var/cache/remora-k8s}/bin
NETNS=remora-node
BRIDGE=remora-br0
HOST_IF=remora-h
NODE_IF=remora-n
HOST_ADDR=10.244.255.1 NODE_LINK_ADDR=10.244.255.2
POD_CIDR=10.244.0.0/24 NODE_IP=10.244.0.1 SERVICE_CIDR=10.96.0.0/16
NODE_NAME=node1
API=https://$NODE_IP:6443
SOCK=$DIR/containerd/containerd.sock
PAUSE_IMAGE=localhost/remora-test/pause:3.4.1
# kubelet changes these global sysctls; stop puts the saved values back.
SYSCTLS="vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops kernel/keys/root_maxkeys kernel/keys/root_maxbytes"
IN=(nsenter "--net=/run/netns/$NETNS" --)
T0=$(date +%s.%N)
elapsed() { awk -v t="$T0" -v n="$(date +%s.%N)" 'BEGIN {printf "%.1f", n - t}'; }
say() { echo "node: $*"; }
fail() { echo "node: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (network namespace, containerd, kubelet)"

pid_of() { cat "$DIR/pids/$1" 2>/dev/null; }
# A zombie counts as gone: the machine's init may reap late.
running() { [ -n "$1" ] && [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }
alive() { running "$(pid_of "$1")"; }

# launch NAME PROGRAM ARGS...: inside the node namespace, in its own session, logged.
# nsenter execs the program, so the recorded pid is the component's own.
launch() {
  local name=$1
  shift
  alive "$name" && fail "$name is already running (pid $(pid_of "$name")) for $DIR"
  AWS_EC2_METADATA_DISABLED=true setsid "${IN[@]}" "$@" >>"$DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/pids/$name"
}

# wait_until NAME SECONDS COMMAND...: poll until COMMAND succeeds; fail early when NAME dies.
wait_until() {
  local name=$1 deadline=$(($(date +%s) + $2))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ! alive "$name"; then
      tail -20 "$DIR/logs/$name.log" >&2
      fail "$name exited"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -20 "$DIR/logs/$name.log" >&2
      fail "$name: not ready after $2 s"
    fi
    sleep 0.2
  done
}

stop_process() {  # stop_process NAME: SIGTERM by recorded pid, SIGKILL after 15 s
  local pid
  pid=$(pid_of "$1") || return 0
  if running "$pid"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 150); do running "$pid" || break; sleep 0.1; done
    running "$pid" && kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$DIR/pids/$1"
}

kubectl_admin() { "$BIN/kubectl" --kubeconfig="$DIR/kubeconfig/admin" --request-timeout=10s "$@"; }
ctr_k8s() { ctr -a "$SOCK" -n k8s.io "$@"; }

stop() {
  local t
  # 1. Nothing schedules or re-creates pods any more; the pods go through the kubelet, so that
  #    their containers stop and CNI releases their addresses.
  stop_process kube-controller-manager
  stop_process kube-scheduler
  if alive kube-apiserver && alive kubelet && alive containerd; then
    kubectl_admin delete pods --all --all-namespaces --grace-period=1 --wait=false >/dev/null 2>&1 || true
    for _ in $(seq 60); do
      [ -z "$(kubectl_admin get pods -A -o name 2>/dev/null)" ] && [ -z "$(ctr_k8s tasks ls -q 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  stop_process kube-proxy
  stop_process kubelet
  # 2. Whatever containerd still runs, then containerd and the shims it started.
  if alive containerd; then
    for t in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
    for _ in $(seq 20); do [ -z "$(ctr_k8s tasks ls -q 2>/dev/null)" ] && break; sleep 0.2; done
    for t in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks rm -f "$t" >/dev/null 2>&1 || true; done
  fi
  stop_process containerd
  local f init shim
  for f in "$DIR"/containerd/state/io.containerd.runtime.v2.task/*/*/init.pid; do
    [ -f "$f" ] || continue
    init=$(cat "$f")
    shim=$(awk '/^PPid/ {print $2}' "/proc/$init/status" 2>/dev/null || true)
    if [ -n "$shim" ] && grep -q containerd-shim "/proc/$shim/cmdline" 2>/dev/null; then
      kill -9 "$init" 2>/dev/null || true
      kill "$shim" 2>/dev/null || true
    fi
  done
  for f in "$DIR"/containerd/state/io.containerd.runtime.v2.task/*/*/shim.pid; do
    [ -f "$f" ] && shim=$(cat "$f") && grep -q containerd-shim "/proc/$shim/cmdline" 2>/dev/null && kill "$shim" 2>/dev/null
  done
  stop_process kube-apiserver
  stop_process etcd
  # 3. The host: the namespace takes the bridge, the veth and every iptables rule in it along.
  if [ -f "$DIR/netns-created" ]; then
    ip link del "$HOST_IF" 2>/dev/null || true
    [ -e "/run/netns/$NETNS" ] && ip netns del "$NETNS"
    rm -f "$DIR/netns-created"
  fi
  if [ -f "$DIR/sysctl.saved" ]; then
    local key value
    while read -r key value; do echo "$value" >"/proc/sys/$key" 2>/dev/null || true; done <"$DIR/sysctl.saved"
    rm -f "$DIR/sysctl.saved"
  fi
  # Mounts under DIR (pod volumes, sandbox shm, pod namespaces, container root file systems),
  # deepest first; then the kubepods cgroups this kubelet made, now empty.
  local m
  for m in $(findmnt -rn -o TARGET | grep "^$DIR/" | sort -r || true); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  if [ -f "$DIR/cgroups-created" ]; then
    for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
      [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    rm -f "$DIR/cgroups-created"
  fi
  # Paths outside DIR that kubelet 1.20 and containerd 1.6 hard-code, when they hold nothing else.
  if [ -f "$DIR/host-paths" ]; then
    rm -f /var/lib/kubelet/device-plugins/{kubelet.sock,DEPRECATION,kubelet_internal_checkpoint}
    rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet 2>/dev/null || true
    rmdir /run/containerd/s /run/containerd 2>/dev/null || true
    rm -f "$DIR/host-paths"
  fi
  local left
  left=$(findmnt -rn -o TARGET | grep -c "^$DIR/" || true)
  [ "$left" = 0 ] || say "warning: $left mount(s) left under $DIR"
  say "stopped in $(elapsed) s"
}

[ "$cmd" = stop ] && { stop; exit 0; }
[ "$cmd" = start ] || fail "unknown command $cmd (start|stop)"

for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
  [ -x "$BIN/$b" ] || fail "$BIN/$b is missing (test/k8s/build-apiserver.sh with COMPONENTS)"
done
for p in etcd etcdctl containerd ctr runc iptables conntrack nsenter; do
  command -v "$p" >/dev/null || fail "$p is not installed"
done
[ -e "/run/netns/$NETNS" ] && fail "network namespace $NETNS exists: another cluster runs (stop it first)"
[ ${#SOCK} -lt 100 ] || fail "$DIR is too long a path for containerd's socket"
mkdir -p "$DIR"/{logs,pids,pki,kubeconfig,etcd,containerd,cni/net.d,cni/ipam,kubelet}

# ------------------------------------------------------------------- the node's network
if [ ! -f "$DIR/sysctl.saved" ]; then
  for k in $SYSCTLS; do [ -f "/proc/sys/$k" ] && echo "$k $(cat "/proc/sys/$k")"; done >"$DIR/sysctl.saved"
fi
ip netns add "$NETNS"
touch "$DIR/netns-created" "$DIR/host-paths"
"${IN[@]}" ip link set lo up
"${IN[@]}" ip link add "$BRIDGE" type bridge
"${IN[@]}" ip addr add "$NODE_IP/24" dev "$BRIDGE"
"${IN[@]}" ip link set "$BRIDGE" up
# The node's own connections to a ClusterIP (the API server calling the admission webhook)
# need a route before kube-proxy's DNAT picks a pod: the bridge, never off the machine.
"${IN[@]}" ip route add "$SERVICE_CIDR" dev "$BRIDGE" src "$NODE_IP"
"${IN[@]}" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
"${IN[@]}" sh -c 'echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables'
ip link add "$HOST_IF" type veth peer name "$NODE_IF" netns "$NETNS"
ip addr add "$HOST_ADDR/30" dev "$HOST_IF"
ip link set "$HOST_IF" up
"${IN[@]}" ip addr add "$NODE_LINK_ADDR/30" dev "$NODE_IF"
"${IN[@]}" ip link set "$NODE_IF" up
ip route add "$POD_CIDR" via "$NODE_LINK_ADDR" dev "$HOST_IF"
ip route add "$SERVICE_CIDR" via "$NODE_LINK_ADDR" dev "$HOST_IF"
# Pods answer the host, but a connection they open towards it is dropped.
"${IN[@]}" iptables -t mangle -A FORWARD -i "$BRIDGE" -o "$NODE_IF" -m conntrack ! --ctstate ESTABLISHED,RELATED -j DROP
if "${IN[@]}" ip route get 192.0.2.1 >/dev/null 2>&1 || "${IN[@]}" ip route get 169.254.169.254 >/dev/null 2>&1; then
  fail "the node namespace has a route off the machine"
fi
say "network namespace $NETNS: $(elapsed) s"

# ------------------------------------------------------------------- PKI and credentials
P=$DIR/pki
if [ ! -f "$P/ca.crt" ]; then
  (
    cd "$P"
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -keyout ca.key -out ca.crt -subj /CN=remora-test-ca 2>/dev/null
    # sign NAME SUBJECT [SAN]: a key and a certificate signed by the CA
    sign() {
      openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
      if [ -n "${3:-}" ]; then echo "subjectAltName=$3" >"$1.ext"; else : >"$1.ext"; fi
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -out "$1.crt" -extfile "$1.ext" 2>/dev/null
      rm -f "$1.csr" "$1.ext"
    }
    sign apiserver /CN=kube-apiserver "IP:$NODE_IP,IP:10.96.0.1,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    sign kubelet "/CN=$NODE_NAME" "IP:$NODE_IP,DNS:$NODE_NAME"
    sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    # Static tokens, one per component (the users the default RBAC roles name).
    for user in admin "system:node:$NODE_NAME" system:kube-proxy system:kube-controller-manager system:kube-scheduler; do
      case $user in
        admin) group=',"system:masters"' ;;
        system:node:*) group=',"system:nodes"' ;;
        *) group= ;;
      esac
      echo "$(openssl rand -hex 16),$user,${user//:/-}$group"
    done >tokens.csv
    chmod 600 ./*.key tokens.csv
  )
fi
kubeconfig() {  # kubeconfig FILE USER
  local token
  token=$(awk -F, -v u="$2" '$2 == u {print $1}' "$P/tokens.csv")
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: remora-test
  cluster: {server: "$API", certificate-authority: "$P/ca.crt"}
users:
- name: $2
  user: {token: "$token"}
contexts:
- name: remora-test
  context: {cluster: remora-test, user: "$2"}
current-context: remora-test
EOF
}
KC=$DIR/kubeconfig
kubeconfig "$KC/admin" admin
kubeconfig "$KC/kubelet" "system:node:$NODE_NAME"
kubeconfig "$KC/kube-proxy" system:kube-proxy
kubeconfig "$KC/kube-controller-manager" system:kube-controller-manager
kubeconfig "$KC/kube-scheduler" system:kube-scheduler
cat >"$DIR/env" <<EOF
KUBECONFIG=$KC/admin
CONTAINERD_SOCK=$SOCK
NETNS=$NETNS
HOST_ADDR=$HOST_ADDR
NODE_IP=$NODE_IP
PAUSE_IMAGE=$PAUSE_IMAGE
EOF

# ------------------------------------------------------------------- etcd, API server
launch etcd etcd --name node1 --data-dir "$DIR/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster node1=http://127.0.0.1:2380
wait_until etcd 30 "${IN[@]}" etcdctl --endpoints=127.0.0.1:2379 endpoint health
launch kube-apiserver "$BIN/kube-apiserver" --v=1 \
  --etcd-servers=http://127.0.0.1:2379 \
  --bind-address="$NODE_IP" --advertise-address="$NODE_IP" --secure-port=6443 --insecure-port=0 \
  --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" --client-ca-file="$P/ca.crt" \
  --token-auth-file="$P/tokens.csv" --authorization-mode=Node,RBAC \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
  --api-audiences=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range="$SERVICE_CIDR" --allow-privileged=true \
  --kubelet-client-certificate="$P/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$P/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$P/ca.crt" --kubelet-preferred-address-types=InternalIP
wait_until kube-apiserver 90 kubectl_admin get --raw /readyz
say "API server ready: $(elapsed) s"

# ------------------------------------------------------------------- controllers, scheduler
# With the controllers' own service accounts: under its own name the controller manager may
# not patch nodes, so the node's not-ready taint would never be lifted.
launch kube-controller-manager "$BIN/kube-controller-manager" --v=1 --kubeconfig="$KC/kube-controller-manager" \
  --leader-elect=false --bind-address=127.0.0.1 --secure-port=10257 --port=0 \
  --service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" \
  --cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key" \
  --use-service-account-credentials=true --allocate-node-cidrs=false
launch kube-scheduler "$BIN/kube-scheduler" --v=1 --kubeconfig="$KC/kube-scheduler" \
  --leader-elect=false --bind-address=127.0.0.1 --secure-port=10259 --port=0

# ------------------------------------------------------------------- containerd, CNI
# Without CAP_SYS_RESOURCE in the bounding set nobody may lower oom_score_adj, and runc fails
# every sandbox the kubelet asks -998 for; restrict_oom_score_adj caps the scores instead.
capbnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
if (((0x$capbnd >> 24) & 1)); then restrict_oom=false; else restrict_oom=true; fi
cat >"$DIR/cni/net.d/10-remora-test.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "remora-test",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": false, "isDefaultGateway": false,
     "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$DIR/cni/ipam",
              "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$NODE_IP"}]],
              "routes": [{"dst": "$SERVICE_CIDR"}, {"dst": "10.244.0.0/16"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": false}
  ]
}
EOF
cat >"$DIR/containerd/config.toml" <<EOF
version = 2
root = "$DIR/containerd/root"
state = "$DIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  restrict_oom_score_adj = $restrict_oom
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$DIR/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$DIR/cni/net.d"
    max_conf_num = 1
EOF
launch containerd containerd --config "$DIR/containerd/config.toml"
wait_until containerd 30 ctr -a "$SOCK" version
say "containerd ready: $(elapsed) s"

# ------------------------------------------------------------------- kubelet, kube-proxy
cat >"$DIR/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $P/kubelet.crt
tlsPrivateKeyFile: $P/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $P/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
failSwapOn: false
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
volumePluginDir: $DIR/kubelet/volume-plugins
imageGCHighThresholdPercent: 100
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
serializeImagePulls: false
rotateCertificates: false
nodeStatusUpdateFrequency: 2s
EOF
touch "$DIR/cgroups-created"
kubelet_start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
launch kubelet "$BIN/kubelet" --v=1 --config="$DIR/kubelet/config.yaml" --kubeconfig="$KC/kubelet" \
  --root-dir="$DIR/kubelet/root" --cert-dir="$DIR/kubelet/pki" \
  --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" \
  --container-runtime=remote --container-runtime-endpoint="unix://$SOCK" \
  --image-service-endpoint="unix://$SOCK" --runtime-request-timeout=5m --oom-score-adj=0
# conntrack-* 0: the host's conntrack sysctls stay as they are. NodePorts only on the node IP.
launch kube-proxy "$BIN/kube-proxy" --v=1 --kubeconfig="$KC/kube-proxy" --hostname-override="$NODE_NAME" \
  --proxy-mode=iptables --cluster-cidr="$POD_CIDR" --bind-address="$NODE_IP" \
  --nodeport-addresses="$NODE_IP/32" --healthz-bind-address=127.0.0.1:10256 \
  --metrics-bind-address=127.0.0.1:10249 --conntrack-max-per-core=0 --conntrack-min=0 \
  --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0 --oom-score-adj=0

# Ready as posted by this kubelet (not a previous run's status), untainted, with a default
# service account: pods can be scheduled.
node_ready() {
  local status heartbeat
  read -r status heartbeat < <(kubectl_admin get node "$NODE_NAME" -o \
    jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}')
  [ "$status" = True ] && [[ ! "$heartbeat" < "$kubelet_start" ]]
}
node_schedulable() {
  [ -z "$(kubectl_admin get node "$NODE_NAME" -o jsonpath='{.spec.taints}')" ] &&
    kubectl_admin -n default get serviceaccount default
}
wait_until kubelet "${NODE_READY_TIMEOUT:-180}" node_ready
wait_until kube-controller-manager 60 node_schedulable
for name in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kube-proxy; do
  alive "$name" || { tail -20 "$DIR/logs/$name.log" >&2; fail "$name exited"; }
done
say "node $NODE_NAME Ready and schedulable: $(elapsed) s"
