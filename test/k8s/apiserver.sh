#!/usr/bin/env bash
# A real etcd + kube-apiserver v1.20.2 on loopback for the Kubernetes tests, in its own run
# directory with its own free ports, so that tests can each have one or share one.
#
#   test/k8s/apiserver.sh start RUN_DIR     start etcd + apiserver; writes RUN_DIR/kubeconfig,
#                                           RUN_DIR/env (ETCD_PORT, SECURE_PORT, TOKEN, CA)
#   test/k8s/apiserver.sh stop RUN_DIR      stop both (only the pids this script started)
#   test/k8s/apiserver.sh restart RUN_DIR   restart the apiserver only (etcd keeps the data):
#                                           every watch breaks, and its watch cache restarts
#                                           at the current resourceVersion (older ones: 410)
#   test/k8s/apiserver.sh compact RUN_DIR   compact etcd at its current revision
#
# Env: APISERVER_EXTRA_ARGS (e.g. --watch-cache=false), REMORA_K8S_CACHE (where
# build-apiserver.sh put the binary). Prints "apiserver ready after N s" on start.
set -euo pipefail
cmd=${1:?start|stop|restart|compact}; RUN=${2:?run dir}
CACHE=${REMORA_K8S_CACHE:-/var/cache/remora-k8s}
APISERVER=$CACHE/bin/kube-apiserver
TOKEN=remora-test-admin-token
mkdir -p "$RUN"
RUN=$(cd "$RUN" && pwd)

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

stop_pid() {
  local f=$RUN/$1.pid
  [ -f "$f" ] || return 0
  local pid; pid=$(cat "$f")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
}

pki() {
  local p=$RUN/pki
  [ -f "$p/apiserver.crt" ] && return 0
  mkdir -p "$p"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout "$p/apiserver.key" -out "$p/apiserver.crt" \
    -subj "/CN=kube-apiserver" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc" 2>/dev/null
  openssl genrsa -out "$p/sa.key" 2048 2>/dev/null
  openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
  echo "$TOKEN,admin,1,\"system:masters\"" > "$p/tokens.csv"
}

start_etcd() {
  local peer; peer=$(free_port)
  etcd --name remora-test --data-dir "$RUN/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "remora-test=http://127.0.0.1:$peer" >>"$RUN/etcd.log" 2>&1 &
  echo $! > "$RUN/etcd.pid"
  for _ in $(seq 100); do
    etcdctl --endpoints="127.0.0.1:$ETCD_PORT" endpoint health >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "etcd did not become healthy:" >&2; tail -20 "$RUN/etcd.log" >&2; exit 1
}

start_apiserver() {
  local t0; t0=$(date +%s.%N)
  "$APISERVER" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$SECURE_PORT" \
    --tls-cert-file="$RUN/pki/apiserver.crt" --tls-private-key-file="$RUN/pki/apiserver.key" \
    --token-auth-file="$RUN/pki/tokens.csv" --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$RUN/pki/sa.pub" \
    --service-account-signing-key-file="$RUN/pki/sa.key" --api-audiences=https://kubernetes.default.svc \
    --service-cluster-ip-range=10.96.0.0/16 --endpoint-reconciler-type=none \
    --disable-admission-plugins=ServiceAccount ${APISERVER_EXTRA_ARGS:-} \
    >>"$RUN/apiserver.log" 2>&1 &
  echo $! > "$RUN/apiserver.pid"
  for _ in $(seq 600); do
    [ "$(curl -s --cacert "$RUN/pki/apiserver.crt" -H "Authorization: Bearer $TOKEN" \
          "https://127.0.0.1:$SECURE_PORT/readyz" 2>/dev/null)" = ok ] && {
      echo "apiserver ready after $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}") s"; return 0; }
    kill -0 "$(cat "$RUN/apiserver.pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "kube-apiserver did not become ready:" >&2; tail -20 "$RUN/apiserver.log" >&2; exit 1
}

case "$cmd" in
  start)
    [ -x "$APISERVER" ] || { echo "no kube-apiserver at $APISERVER (run test/k8s/build-apiserver.sh)" >&2; exit 3; }
    command -v etcd >/dev/null || { echo "etcd is not installed (test/k8s/build-apiserver.sh installs it)" >&2; exit 3; }
    stop_pid apiserver; stop_pid etcd
    rm -rf "$RUN/etcd"
    pki
    ETCD_PORT=$(free_port); SECURE_PORT=$(free_port)
    cat > "$RUN/env" <<ENV
ETCD_PORT=$ETCD_PORT
SECURE_PORT=$SECURE_PORT
TOKEN=$TOKEN
CA=$RUN/pki/apiserver.crt
ENV
    cat > "$RUN/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "https://127.0.0.1:$SECURE_PORT", certificate-authority: "$RUN/pki/apiserver.crt"}
users:
- name: admin
  user: {token: $TOKEN}
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
KC
    start_etcd
    start_apiserver
    ;;
  stop) stop_pid apiserver; stop_pid etcd ;;
  restart)
    # shellcheck disable=SC1091
    . "$RUN/env"
    stop_pid apiserver; start_apiserver ;;
  compact)
    . "$RUN/env"
    rev=$(etcdctl --endpoints="127.0.0.1:$ETCD_PORT" endpoint status -w json | /usr/bin/python3 -c \
          'import json,sys; print(json.load(sys.stdin)[0]["Status"]["header"]["revision"])')
    etcdctl --endpoints="127.0.0.1:$ETCD_PORT" compact "$rev" >/dev/null
    echo "$rev" ;;
  *) echo "usage: $0 start|stop|restart|compact RUN_DIR" >&2; exit 2 ;;
esac
