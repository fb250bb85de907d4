#!/usr/bin/env bash
# Installs everything remora needs to build, test and benchmark on Debian 12.
# Idempotent and quiet: a second run on a ready machine does nothing but check.
# llhttp is not in bookworm: its two .debs come from Debian's trixie suite via a
# private sources list, so the system's own apt sources are never touched.
set -euo pipefail

APT_PKGS=(build-essential cmake pkg-config libuv1-dev libprotobuf-dev protobuf-compiler nghttp2-client
          libspdlog-dev libfmt-dev libyaml-cpp-dev libgtest-dev libgmock-dev libnghttp2-dev
          libssl-dev libcurl4-openssl-dev openssl
          curl python3 python3-grpcio python3-protobuf iproute2 iptables
          clang libclang-rt-14-dev lld)
# lld links the Release sidecar in its text order (sidecar/CMakeLists.txt). clang builds the
# ASan+UBSan tree (it compiles it in about two thirds of GCC's time) and the
# libFuzzer targets. Peers and load tools for test/bench (only with --bench).
BENCH_PKGS=(wrk nginx-light haproxy util-linux nghttp2-client nghttp2-proxy)
FUZZ_PKGS=()
# The Kubernetes tests (only with --k8s): Go and the Debian source of kube-apiserver's
# dependencies (test/k8s/build-apiserver.sh builds it), etcd, and kubectl's package when absent.
K8S_PKGS=(golang-1.19-go golang-github-modern-go-reflect2-dev etcd-server etcd-client make rsync
          openssl)
# The single-node cluster of `make test-cluster` (only with --cluster, which implies --k8s).
CLUSTER_PKGS=(containerd runc containernetworking-plugins conntrack busybox-static jq util-linux)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

want=("${APT_PKGS[@]}")
for arg in "$@"; do
  case "$arg" in
    --bench) want+=("${BENCH_PKGS[@]}") ;;
    --fuzz) want+=("${FUZZ_PKGS[@]}") ;;
    --k8s) want+=("${K8S_PKGS[@]}") ;;
    --cluster) want+=("${K8S_PKGS[@]}" "${CLUSTER_PKGS[@]}") ;;
    *) echo "setup: unknown flag $arg (--bench, --fuzz, --k8s, --cluster)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # etcd-server's package starts a system etcd on :2379; the tests run their own.
  if printf '%s\n' "${missing[@]}" | grep -qx etcd-server; then
    systemctl stop etcd >/dev/null 2>&1 || service etcd stop >/dev/null 2>&1 || true
  fi
  # Likewise containerd's: test/cluster runs its own, with its own socket.
  if printf '%s\n' "${missing[@]}" | grep -qx containerd; then
    systemctl disable --now containerd >/dev/null 2>&1 || service containerd stop >/dev/null 2>&1 || true
  fi
fi

have_llhttp() {
  dpkg-query -W -f='${Status}' libllhttp-dev 2>/dev/null | grep -q "install ok installed" &&
    dpkg-query -W -f='${Status}' libllhttp9.2 2>/dev/null | grep -q "install ok installed"
}
if ! have_llhttp; then
  echo "setup: fetching llhttp from Debian trixie (private sources list)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # Same mirror the system already uses.
  mirror=$(grep -hoE '^(URIs:|deb) +[a-z]+://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
           | head -1 | awk '{print $2}' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  mkdir -p "$work/lists/partial" "$work/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" > "$work/sources.list"
  aptopts=(-o Dir::Etc::sourcelist="$work/sources.list" -o Dir::Etc::sourceparts=/dev/null
           -o Dir::State::Lists="$work/lists" -o Dir::Cache::Archives="$work/archives"
           -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)
  $SUDO apt-get "${aptopts[@]}" update -qq >/dev/null
  (cd "$work" && $SUDO apt-get "${aptopts[@]}" download -qq libllhttp-dev libllhttp9.2 >/dev/null)
  $SUDO dpkg -i "$work"/libllhttp*.deb >/dev/null
fi
