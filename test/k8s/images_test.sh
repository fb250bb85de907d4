#!/usr/bin/env bash
# The images of k8s/images/ without Docker: every shared library that a binary copied into an
# image needs (ldd) must come from a Debian package the image has (debian:bookworm-slim's apt
# and what the Dockerfile installs, with their dependencies), each COPY must name the binary
# CMake builds, and the sidecar image must hold the iptables tools of the init step.
#
# Usage: images_test.sh BUILD_DIR SIDECAR_BIN CONTROL_BIN REMORACTL_BIN ECHO_BIN
# Exit 0 pass, 1 fail, 77 skip (not a Debian system with apt and dpkg).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMAGES=$ROOT/k8s/images
BUILD=$(readlink -f "${1:?build directory}")
SIDECAR=${2:?sidecar binary}; CONTROL=${3:?control binary}; REMORACTL=${4:?remoractl}; ECHO=${5:?echo}

for tool in ldd dpkg-query apt-cache; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not found: not a Debian system"; exit 77; }
done
grep -q 'VERSION_CODENAME=bookworm' /etc/os-release ||
  { echo "SKIP: the images are debian:bookworm-slim; this host is not bookworm, so its packages say nothing about them"; exit 77; }

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Packages named by the Dockerfile's `apt-get install ... PKG...` lines.
installed_by() {
  sed -n 's/.*apt-get install -y --no-install-recommends \([^&\\]*\).*/\1/p' "$1" | tr ' ' '\n' | sed '/^$/d'
}
# A package set and everything it depends on (Depends and Pre-Depends), one name a line.
closure() {
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "$@" 2>/dev/null | grep -v '^ ' | sed 's/:.*//; s/[<>]//g' | sort -u
}
# The package that owns a library path (merged /usr or not).
owner() {
  local p real
  real=$(readlink -f "$1")
  for p in "$1" "$real" "${1#/usr}" "${real#/usr}" "/usr$1" "/usr$real"; do
    dpkg-query -S "$p" 2>/dev/null | sed -n '1{s/:.*//; s/,.*//; p}' && return 0
  done
  return 1
}

# check_image DOCKERFILE BINARY...
check_image() {
  local dockerfile=$IMAGES/$1; shift
  local provided
  # shellcheck disable=SC2046
  provided=$(closure apt $(installed_by "$dockerfile"))
  echo "$(basename "$dockerfile"): base apt + [$(installed_by "$dockerfile" | tr '\n' ' ')] = $(echo "$provided" | wc -l) packages"
  for bin in "$@"; do
    [ -x "$bin" ] || { fail "$bin is not built"; continue; }
    # Its COPY source, with ${BUILD} for the build directory, must be where CMake put it.
    local rel
    rel=$(realpath --relative-to="$BUILD" "$bin")
    if ! grep -qE "^COPY \\\$\{BUILD\}/${rel//./\\.} " "$dockerfile"; then
      fail "$(basename "$dockerfile") does not COPY \${BUILD}/$rel"
    fi
    grep -qx "!build\*/$rel" "$dockerfile.dockerignore" || fail "$dockerfile.dockerignore leaves out $rel"
    local libs lib pkg
    libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
    for lib in $libs; do
      pkg=$(owner "$lib") || { fail "$(basename "$bin"): no package owns $lib"; continue; }
      if grep -qx "$pkg" <<<"$provided"; then
        echo "  $(basename "$bin"): $lib from $pkg"
      else
        fail "$(basename "$bin") needs $lib from $pkg, which $(basename "$dockerfile") does not install"
      fi
    done
  done
}

check_image Dockerfile.sidecar "$SIDECAR"
check_image Dockerfile.control "$CONTROL" "$REMORACTL"
check_image Dockerfile.echo "$ECHO"

# The init step runs `remora-sidecar iptables`, which feeds iptables-restore and ip6tables-restore
# (alternatives for the nft or the legacy back end, both in the package).
iptables_files=$(dpkg-query -L iptables)
for tool in iptables-nft-restore iptables-legacy-restore ip6tables-nft-restore ip6tables-legacy-restore; do
  grep -q "/sbin/$tool\$" <<<"$iptables_files" || fail "the iptables package has no $tool"
done
grep -qx iptables <<<"$(installed_by "$IMAGES/Dockerfile.sidecar")" || fail "Dockerfile.sidecar does not install iptables"
for f in sidecar control; do
  grep -qx 'USER 1337:1337' "$IMAGES/Dockerfile.$f" || fail "Dockerfile.$f does not run as uid 1337"
done

if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s)"; exit 1
fi
echo "PASS: every image provides the shared libraries of its binaries"
