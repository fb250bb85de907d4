#!/usr/bin/env bash
# The ctest fixture around the API server that the Kubernetes tests share:
#   shared_apiserver.sh start RUN_DIR   start it (test/k8s/apiserver.sh) and apply k8s/crds/;
#                                       when test/k8s/build-apiserver.sh found the build
#                                       impossible here, write the reason to RUN_DIR/unavailable
#                                       instead (the tests then skip, saying why) and succeed
#   shared_apiserver.sh stop RUN_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?start|stop}; RUN=${2:?run dir}
CACHE=${REMORA_K8S_CACHE:-/var/cache/remora-k8s}
mkdir -p "$RUN"
rm -f "$RUN/unavailable"
case "$cmd" in
  start)
    if [ -f "$CACHE/unavailable" ] && [ ! -x "$CACHE/bin/kube-apiserver" ]; then
      cp "$CACHE/unavailable" "$RUN/unavailable"; echo "skipping: $(cat "$RUN/unavailable")"; exit 0
    fi
    bash "$here/apiserver.sh" start "$RUN"
    K="kubectl --kubeconfig $RUN/kubeconfig"
    $K apply -f "$here/../../k8s/crds/" >/dev/null
    $K wait --for=condition=Established --timeout=60s crd --all >/dev/null
    echo "CRDs established" ;;
  stop) bash "$here/apiserver.sh" stop "$RUN" ;;
  *) echo "usage: $0 start|stop RUN_DIR" >&2; exit 2 ;;
esac
