#!/usr/bin/env bash
# `make test`: the Release build and its ctest suite, then the same suite under ASan+UBSan.
# The kube-apiserver that the Kubernetes tests need (test/k8s/build-apiserver.sh: built once,
# cached outside the tree) builds in the background meanwhile, so the order keeps both cores
# busy while it does: the Release build, the Release tests that do not need it, the ASan build;
# then (once it is there) the Release Kubernetes tests and the whole ASan suite. A machine where
# it cannot be built gets Kubernetes tests that skip saying why. Each step prints the seconds
# since the start.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
step() { echo "== $1 (at ${SECONDS} s) =="; }

bash scripts/setup.sh --k8s || exit 1
mkdir -p "$BUILD"
bash test/k8s/build-apiserver.sh >"$BUILD/k8s-apiserver-build.log" 2>&1 &
k8s=$!
step "build (Release)"
make --no-print-directory build || { kill "$k8s" 2>/dev/null; exit 1; }

step "ctest (Release)"
failed=0
(cd "$BUILD" && ctest --output-on-failure -j2 --timeout 300 -LE 'kubernetes|k8s') || failed=1
[ "$failed" -eq 0 ] || { kill "$k8s" 2>/dev/null; exit 1; }

step "build (ASan+UBSan)"
make --no-print-directory asan-build || { kill "$k8s" 2>/dev/null; exit 1; }

k8s_rc=0
wait "$k8s" || k8s_rc=$?
grep '^k8s:' "$BUILD/k8s-apiserver-build.log" || true
if [ "$k8s_rc" -ne 0 ] && [ "$k8s_rc" -ne 3 ]; then
  cat "$BUILD/k8s-apiserver-build.log"
  exit 1
fi
step "ctest (Release, Kubernetes)"
(cd "$BUILD" && ctest --output-on-failure -j2 --timeout 300 -L 'kubernetes|k8s') || exit 1
step "asan"
make --no-print-directory asan || exit 1
step "done"
