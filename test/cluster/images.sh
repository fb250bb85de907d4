#!/usr/bin/env bash
# The images of k8s/images/ without Docker or a registry, for the single-node test cluster:
# each is a root file system assembled from `make build` outputs (plus every shared library
# `ldd` names for them), packed as an OCI image layout (one uncompressed layer written
# deterministically: sorted entries, owner 0, mtime 0) and imported into the cluster's
# containerd under the name a manifest uses (`remora-echo:0.1.0` is
# docker.io/library/remora-echo:0.1.0 to containerd, and imagePullPolicy IfNotPresent with a
# tag other than `latest` runs the local image).
#
# Usage: test/cluster/images.sh BUILD_DIR OUT_DIR CONTAINERD_SOCKET PAUSE_BINARY
#   remora-sidecar:V  remora-sidecar + the iptables tools of the init step (nft and legacy
#                     back ends, their xtables extensions), uid 1337 (Dockerfile.sidecar)
#   remora-control:V  remora-control, remoractl, libcurl/OpenSSL, CA certificates, uid 1337
#   remora-echo:V     remora-echo, uid 10001 (Dockerfile.echo)
#   remora-test-client:V  busybox (wget) for the test's client pod, uid 10001 (test only)
#   remora-test/pause:3.4.1  the pod sandbox (the static pause of the Kubernetes tree)
# V is remoractl --version. Prints one line per image.
set -euo pipefail
BUILD=$(cd "${1:?build dir}" && pwd)
OUT=${2:?out dir}
SOCK=${3:?containerd socket}
PAUSE=${4:?pause binary}
mkdir -p "$OUT"
VERSION=$("$BUILD/control/cli/remoractl" --version | awk '{print $NF}')
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

# new_root NAME: an empty root file system with the directories every image has.
new_root() {
  local r=$SCRATCH/$1
  mkdir -p "$r"/{etc,tmp,run,proc,sys,dev,usr/local/bin,usr/sbin,bin,var}
  chmod 1777 "$r/tmp"
  ln -s ../run "$r/var/run"
  printf 'root:x:0:0:root:/root:/bin/sh\nremora:x:1337:1337::/:/bin/false\napp:x:10001:10001::/:/bin/false\n' >"$r/etc/passwd"
  printf 'root:x:0:\nremora:x:1337:\napp:x:10001:\n' >"$r/etc/group"
  echo "$r"
}

# add_libraries ROOT FILE: the shared libraries FILE needs (and theirs), at the same paths.
add_libraries() {
  local root=$1 file=$2 lib
  head -c4 "$file" | grep -q ELF || return 0
  for lib in $(ldd "$file" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
    [ -e "$root$lib" ] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
    add_libraries "$root" "$lib"
  done
}

# add_binary ROOT SRC DST: a program and its libraries.
add_binary() {
  mkdir -p "$1$(dirname "$3")"
  cp -L "$2" "$1$3"
  add_libraries "$1" "$2"
}

# pack ROOT NAME USER ENTRYPOINT...: OCI layout tarball OUT/NAME.tar, imported into containerd.
pack() {
  local root=$1 name=$2 user=$3
  shift 3
  local dir=$SCRATCH/oci-${name//[\/:]/_}
  local blobs=$dir/blobs/sha256
  mkdir -p "$blobs"
  # The layer: sorted entries, numeric owner 0, mtime 0, so the same inputs give the same digest.
  (cd "$root" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort >"$dir/entries" &&
    tar --no-recursion --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$dir/layer" -T "$dir/entries")
  blob() {  # blob FILE: move FILE into blobs/ under its digest; prints "DIGEST SIZE"
    local d s
    d=$(sha256sum "$1" | cut -d' ' -f1)
    s=$(stat -c %s "$1")
    mv "$1" "$blobs/$d"
    echo "sha256:$d $s"
  }
  local layer config manifest
  read -r -a layer <<<"$(blob "$dir/layer")"
  jq -cn --arg user "$user" --arg diff "${layer[0]}" '{
      architecture: "amd64", os: "linux", created: "1970-01-01T00:00:00Z",
      config: {User: $user, WorkingDir: "/", Entrypoint: $ARGS.positional,
               Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
      rootfs: {type: "layers", diff_ids: [$diff]},
      history: [{created: "1970-01-01T00:00:00Z", created_by: "test/cluster/images.sh"}]}' \
    --args "$@" >"$dir/config"
  read -r -a config <<<"$(blob "$dir/config")"
  jq -cn --arg c "${config[0]}" --argjson cs "${config[1]}" --arg l "${layer[0]}" --argjson ls "${layer[1]}" '{
      schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
      layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]}' \
    >"$dir/manifest"
  read -r -a manifest <<<"$(blob "$dir/manifest")"
  # containerd names the image after io.containerd.image.name: the fully qualified reference.
  local full=docker.io/library/$name
  if [[ "$name" == */* ]]; then
    case "${name%%/*}" in
      *.* | *:* | localhost) full=$name ;;
      *) full=docker.io/$name ;;
    esac
  fi
  jq -cn --arg m "${manifest[0]}" --argjson ms "${manifest[1]}" --arg full "$full" --arg tag "${name##*:}" '{
      schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $ms,
                   platform: {architecture: "amd64", os: "linux"},
                   annotations: {"io.containerd.image.name": $full,
                                 "org.opencontainers.image.ref.name": $tag}}]}' >"$dir/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  local tarball=$OUT/${name//[\/:]/_}.tar
  tar --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$dir" -cf "$tarball" oci-layout index.json blobs
  ctr -a "$SOCK" -n k8s.io images import "$tarball" >/dev/null
  printf 'image %-44s %6s  layer %s\n' "$full" "$(du -h "$tarball" | cut -f1)" "${layer[0]:7:12}"
}

# remora-sidecar: the proxy, and the iptables programs `remora-sidecar iptables` runs.
r=$(new_root sidecar)
add_binary "$r" "$BUILD/sidecar/remora-sidecar" /usr/local/bin/remora-sidecar
for backend in nft legacy; do
  add_binary "$r" "/usr/sbin/xtables-$backend-multi" "/usr/sbin/xtables-$backend-multi"
done
for tool in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
  ln -s xtables-nft-multi "$r/usr/sbin/$tool"
  ln -s xtables-legacy-multi "$r/usr/sbin/${tool/tables/tables-legacy}"
done
mkdir -p "$r/usr/lib/x86_64-linux-gnu/xtables"
for ext in /usr/lib/x86_64-linux-gnu/xtables/*.so; do
  cp "$ext" "$r$ext"
  add_libraries "$r" "$ext"
done
pack "$r" "remora-sidecar:$VERSION" 1337:1337 /usr/local/bin/remora-sidecar

# remora-control: the control plane and the CLI; libcurl verifies the API server with the
# service account's CA, the system bundle is there for anything else.
r=$(new_root control)
add_binary "$r" "$BUILD/control/remora-control" /usr/local/bin/remora-control
add_binary "$r" "$BUILD/control/cli/remoractl" /usr/local/bin/remoractl
mkdir -p "$r/etc/ssl/certs"
cp -L /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"
pack "$r" "remora-control:$VERSION" 1337:1337 /usr/local/bin/remora-control

# remora-echo: the shop's app.
r=$(new_root echo)
add_binary "$r" "$BUILD/test/apps/echo/remora-echo" /usr/local/bin/remora-echo
pack "$r" "remora-echo:$VERSION" 10001:10001 /usr/local/bin/remora-echo

# The test's client: busybox for sh and wget (its traffic is what the client's sidecar captures).
r=$(new_root client)
cp /bin/busybox "$r/bin/busybox"
for applet in $(/bin/busybox --list); do [ -e "$r/bin/$applet" ] || ln -s busybox "$r/bin/$applet"; done
pack "$r" "remora-test-client:$VERSION" 10001:10001 /bin/sh

# The pod sandbox.
r=$(new_root pause)
cp "$PAUSE" "$r/pause"
pack "$r" "localhost/remora-test/pause:3.4.1" 0:0 /pause
