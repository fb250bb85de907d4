#!/usr/bin/env bash
# Builds a real kube-apiserver (v1.20.2) for the Kubernetes integration tests, offline, from
# Debian bookworm's own `kubernetes` source package with Debian's Go 1.19, once, into a cache
# directory outside the build tree; later runs find the binary and return at once.
# docs/kubernetes.md "How the tests run a real API server" explains the choices.
#
# Usage: test/k8s/build-apiserver.sh            (cache: $REMORA_K8S_CACHE, default /var/cache/remora-k8s)
#        COMPONENTS="kube-apiserver kubelet ... pause" test/k8s/build-apiserver.sh
# COMPONENTS names the binaries to have in $CACHE/bin (default: kube-apiserver; `pause` is the
# static pod sandbox binary of the same tree, built with gcc). Only the missing ones are built;
# binaries already there are kept (all are rebuilt when STAMP below changes).
# Prints the path of kube-apiserver on its last line. Exit 3 when the build is impossible here
# (no source package or Go in reach); the caller then skips the tests with that message.
set -euo pipefail
CACHE=${REMORA_K8S_CACHE:-/var/cache/remora-k8s}
mkdir -p "$CACHE"
# Why the API server cannot be had here, for the tests to skip with (exit 3 only).
impossible() { echo "$1" | tee "$CACHE/unavailable" >&2; exit 3; }
VERSION=1.20.5+really1.20.2-1.1+deb12u1
BIN=$CACHE/bin/kube-apiserver
COMPONENTS=${COMPONENTS:-kube-apiserver}
# Bump when the build changes (a patch below): a cached binary without this stamp is rebuilt.
STAMP="remora-k8s-build 2 (reflect2 1.0.2; empty strings valid in custom resources)"
# One build at a time per cache (a second caller waits, then finds the binaries).
exec 9>"$CACHE/.lock"
flock 9
# What to build: the missing components, or, with an old stamp, every binary the cache holds.
todo=()
if [ "$(cat "$CACHE/bin/STAMP" 2>/dev/null)" = "$STAMP" ]; then
  for c in $COMPONENTS; do [ -x "$CACHE/bin/$c" ] || todo+=("$c"); done
else
  for c in $COMPONENTS $(ls "$CACHE/bin" 2>/dev/null); do
    [ "$c" = STAMP ] || [[ "$c" == *.new ]] || [[ " ${todo[*]} " == *" $c "* ]] || todo+=("$c")
  done
fi
if [ ${#todo[@]} -eq 0 ]; then
  rm -f "$CACHE/unavailable"
  echo "$BIN"
  exit 0
fi

SUDO=""; [ "$(id -u)" != 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
need=()
for p in golang-1.19-go golang-github-modern-go-reflect2-dev etcd-server etcd-client make rsync openssl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "k8s: installing ${need[*]}" >&2
  # etcd-server's postinst would start a system etcd on :2379; the tests use their own ports.
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
    impossible "cannot install ${need[*]} from the Debian archive"
  systemctl stop etcd 2>/dev/null || true
fi

mkdir -p "$CACHE/src" "$CACHE/bin" "$CACHE/apt/lists/partial"
mirror=$(grep -hoE '^(URIs:|deb) +[a-z]+://[^ ]+/debian/?( |$)' /etc/apt/sources.list \
           /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null | head -1 | awk '{print $2}' || true)
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}
# A private deb-src list: the system's apt configuration is never touched.
cat > "$CACHE/apt/src.list" <<SRC
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror-security bookworm-security main
SRC
apt_private=(-o Dir::Etc::sourcelist="$CACHE/apt/src.list" -o Dir::Etc::sourceparts=/dev/null
             -o Dir::State::Lists="$CACHE/apt/lists" -o APT::Sandbox::User=root)
cd "$CACHE/src"
orig=kubernetes_1.20.5+really1.20.2.orig.tar.gz
if [ ! -f "$orig" ]; then
  apt-get "${apt_private[@]}" update -qq >/dev/null 2>&1 || true
  apt-get "${apt_private[@]}" source --download-only -qq "kubernetes=$VERSION" >/dev/null 2>&1 ||
    impossible "cannot download the kubernetes $VERSION source package from the Debian archive"
fi
t0=$(date +%s)
rm -rf kubernetes-1.20.2 && tar xzf "$orig"
SRC=$CACHE/src/kubernetes-1.20.2
# Go >= 1.18 needs modern-go/reflect2 >= 1.0.2 (the vendored 1.0.1 crashes at run time);
# Debian's 1.0.2 is a drop-in replacement.
R=$SRC/vendor/github.com/modern-go/reflect2
rm -f "$R"/*.go "$R"/*.s
cp /usr/share/gocode/src/github.com/modern-go/reflect2/*.go /usr/share/gocode/src/github.com/modern-go/reflect2/*.s "$R/"
# Built with Go 1.19 (1.20 shipped with Go 1.15), the OpenAPI validator's type check takes a
# decoded "" for a missing value and refuses every empty string in a custom resource
# (`must be of type string: "null"`): reflect.Zero(...) == ValueOf("") holds under Go >= 1.18.
# Only nil is missing.
for f in "$SRC/vendor/k8s.io/kube-openapi/pkg/validation/validate/type.go" \
         "$SRC/vendor/github.com/go-openapi/validate/type.go"; do
  [ -f "$f" ] || continue
  sed -i 's/if data == nil || reflect.DeepEqual(reflect.Zero(reflect.TypeOf(data)), reflect.ValueOf(data)) {/if data == nil {/' "$f"
  grep -q 'reflect.DeepEqual(reflect.Zero(reflect.TypeOf(data))' "$f" && {
    echo "k8s: could not patch $f" >&2; exit 1; }
done
export PATH=/usr/lib/go-1.19/bin:$PATH CGO_ENABLED=0 GOPROXY=off GOFLAGS= GOCACHE=$CACHE/gocache
# Generated sources (the OpenAPI definitions among them), then a GOPATH-mode build as the
# 1.20 tree's own hack/ scripts do.
(cd "$SRC" && make generated_files >/dev/null 2>&1) || { echo "k8s: make generated_files failed" >&2; exit 1; }
mkdir -p "$CACHE/gopath/src/k8s.io" && ln -sfn "$SRC" "$CACHE/gopath/src/k8s.io/kubernetes"
cd "$CACHE/gopath/src/k8s.io/kubernetes"
export GO111MODULE=off GOPATH=$CACHE/gopath
ld="-s -w"
for p in k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version k8s.io/kubernetes/vendor/k8s.io/component-base/version; do
  ld="$ld -X $p.gitVersion=v1.20.2 -X $p.gitMajor=1 -X $p.gitMinor=20 -X $p.gitTreeState=archive"
done
# Each binary replaces the old one only when complete (a running test keeps its file).
for c in "${todo[@]}"; do
  if [ "$c" = pause ]; then
    gcc -Os -Wall -Werror -static -DVERSION=v3.4.1-k8s1.20.2 -o "$CACHE/bin/pause.new" build/pause/linux/pause.c
    strip "$CACHE/bin/pause.new"
  else
    go build -trimpath -ldflags "$ld" -o "$CACHE/bin/$c.new" "./cmd/$c"
  fi
  mv "$CACHE/bin/$c.new" "$CACHE/bin/$c"
done
# The sources and the Go cache are 2 GB; the binaries are all the tests need.
rm -rf "$SRC" "$CACHE/gocache" "$CACHE/gopath"
rm -f "$CACHE/unavailable"
echo "$STAMP" > "$CACHE/bin/STAMP"
echo "k8s: built ${todo[*]} in $(( $(date +%s) - t0 )) s" >&2
echo "$BIN"
