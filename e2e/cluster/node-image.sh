#!/usr/bin/env bash
# Build the kind node image chstack-standin/kind-node:v1.34.4 and the stand-in
# images it preloads, without a registry, a container daemon or GitHub:
# Debian bookworm (debootstrap) + the e2e toolchain's binaries + binaries built
# from the Go module proxy. See README.md in this directory.
#
#   e2e/cluster/node-image.sh            # build what is missing; last line:
#                                        # NODE_IMAGE chstack-standin/kind-node:v1.34.4 <archive>
#   CHSTACK_CLUSTER_REBUILD=1 e2e/cluster/node-image.sh   # ignore every cache
#
# Everything lands in ${CHSTACK_CACHE:-$HOME/.cache/chstack}/cluster/, keyed by
# its inputs: a warm run only hashes and prints.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${CHSTACK_CACHE:-$HOME/.cache/chstack}
C=$CACHE/cluster
REBUILD=${CHSTACK_CLUSTER_REBUILD:-0}
MIRROR=${CHSTACK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${CHSTACK_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
SUITE=bookworm

NODE_IMAGE=chstack-standin/kind-node:v1.34.4
K8S_VERSION=v1.34.4
KIND_VERSION=v0.33.0
CONTAINERD_VERSION=v2.1.9
COREDNS_VERSION=v1.12.1          # what `kubeadm config images list --kubernetes-version v1.34.4` names
ETCD_TAG=3.6.5-0
PAUSE_TAG=3.10.1
LPP_VERSION=v0.0.30              # github.com/rancher/local-path-provisioner (only version the proxy serves)
NETPOL_VERSION=v0.8.0
BUSYBOX_TAG=1.35.0               # Debian bookworm busybox-static 1:1.35.0-4

# Debian packages of the node (kind's images/base/Dockerfile list, minus what
# we do not use: nfs-common, open-iscsi, fuse-overlayfs, curl; plus runc, which
# kind builds itself, and dbus for systemd's cgroup driver).
NODE_PKGS=(systemd systemd-sysv dbus conntrack iptables nftables iproute2 ethtool ebtables
  util-linux mount kmod socat libseccomp2 e2fsprogs bash ca-certificates jq procps runc)
# Debian packages of the shared base layer of kube-proxy, kube-network-policies
# and chstack-cni-agent (iptables/nft/conntrack for kube-proxy, ip for the agent).
NET_PKGS=(iptables nftables conntrack iproute2 bash ca-certificates)

log() { printf '[node-image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot, containerd)"

mkdir -p "$C"/{gobin,layers,images,logs,debcache,tmp}
exec 9>"$C/.lock"
flock 9

TMPS=()
MOUNTS=()
USED=()   # cached layer tars this run used (older ones are pruned at the end)
CTRD_PID=
cleanup() {
  local rc=$?
  if [ -n "$CTRD_PID" ]; then kill "$CTRD_PID" 2>/dev/null || true; wait "$CTRD_PID" 2>/dev/null || true; fi
  local m
  for m in "${MOUNTS[@]}"; do umount -l "$m" 2>/dev/null || true; done
  for m in "${TMPS[@]}"; do rm -rf "$m"; done
  [ $rc = 0 ] || log "FAILED (exit $rc)"
}
trap cleanup EXIT
mktmp() { REPLY=$(mktemp -d "$C/tmp/$1.XXXXXX"); TMPS+=("$REPLY"); }  # sets REPLY (no subshell: cleanup sees it)

sha() { sha256sum | cut -c1-16; }
file_sig() { stat -L -c '%n %s %Y' "$@"; }        # cheap key for large inputs
tar_dir() { # tar_dir DIR OUT: a deterministic layer tar of DIR's contents
  chmod 755 "$1"
  tar -C "$1" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
    --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* -cf "$2.tmp" . && mv "$2.tmp" "$2"
}

# --- toolchain -----------------------------------------------------------------------------------
log "toolchain: e2e/toolchain/build.sh"
TBIN=$("$ROOT/e2e/toolchain/build.sh" kubernetes etcd kind crictl containerd cni-plugins kube-network-policies)
TBIN=$(cd "$TBIN" && pwd -P)
CNI_BIN=$(dirname "$TBIN")/cni-bin
KIND_MOD=$(go env GOMODCACHE)/sigs.k8s.io/kind@$KIND_VERSION
[ -d "$KIND_MOD/images/base/files" ] || die "kind module source not found at $KIND_MOD"
KB=$KIND_MOD/images/base/files

# --- Go / C binaries not in the toolchain ------------------------------------------------------
GOENV=(env GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false")
gobuild() { # gobuild NAME VERSION BINARY MODULE-PATH@VERSION|-C DIR PKG  -> REPLY=binary path
  local name=$1 ver=$2 binname=$3; shift 3
  local out=$C/gobin/$name-$ver/$binname
  if [ "$REBUILD" = 1 ] || [ ! -x "$out" ] || ! go version -m "$out" 2>/dev/null | grep -q "$ver"; then
    log "go build $name $ver (log: $C/logs/go-$name.log)"
    mkdir -p "$(dirname "$out")"
    if [ "$1" = -C ]; then
      (cd "$2" && "${GOENV[@]}" nice -n 10 go build -trimpath -ldflags "-s -w ${LDX:-}" -o "$out.tmp" "$3") \
        >"$C/logs/go-$name.log" 2>&1 || { tail -20 "$C/logs/go-$name.log" >&2; die "go build $name failed"; }
      mv "$out.tmp" "$out"
    else
      mktmp gobin; local gb=$REPLY
      "${GOENV[@]}" GOFLAGS=-buildvcs=false GOBIN="$gb" nice -n 10 go install -trimpath -ldflags "-s -w ${LDX:-}" "$1" \
        >"$C/logs/go-$name.log" 2>&1 || { tail -20 "$C/logs/go-$name.log" >&2; die "go install $1 failed"; }
      mv "$gb/$binname" "$out"
    fi
  fi
  REPLY=$out
}
LDX="-X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION"
gobuild ctr "$CONTAINERD_VERSION" ctr -C "$HERE/modules/ctr" github.com/containerd/containerd/v2/cmd/ctr; CTR=$REPLY
LDX=
gobuild coredns "$COREDNS_VERSION" coredns "github.com/coredns/coredns@$COREDNS_VERSION"; COREDNS=$REPLY
LDX="-X main.VERSION=$LPP_VERSION"
gobuild local-path-provisioner "$LPP_VERSION" local-path-provisioner "github.com/rancher/local-path-provisioner@$LPP_VERSION"; LPP=$REPLY
LDX=
PAUSE=$C/gobin/pause-$(sha <"$HERE/files/pause.c")/pause
if [ "$REBUILD" = 1 ] || [ ! -x "$PAUSE" ]; then
  log "gcc -static pause.c"
  mkdir -p "$(dirname "$PAUSE")"
  gcc -static -Os -s -o "$PAUSE" "$HERE/files/pause.c"
fi

# --- Debian layers ----------------------------------------------------------------------------------
debian_base() { # minbase bookworm rootfs with -updates and -security, cached as a directory
  local key; key=$( { echo "$SUITE $MIRROR $SECURITY_MIRROR"; declare -f debian_base; } | sha)
  local dir=$C/layers/debian-base-$key
  if [ "$REBUILD" = 1 ] || [ ! -f "$dir/.done" ]; then
    log "debootstrap --variant=minbase $SUITE (log: $C/logs/debootstrap.log)"
    rm -rf "$dir" "$dir.tmp"
    debootstrap --variant=minbase --cache-dir="$C/debcache" "$SUITE" "$dir.tmp" "$MIRROR" \
      >"$C/logs/debootstrap.log" 2>&1 || { tail -20 "$C/logs/debootstrap.log" >&2; die "debootstrap failed"; }
    cat >"$dir.tmp/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
    printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\npath-include /usr/share/locale/locale.alias\n' \
      >"$dir.tmp/etc/dpkg/dpkg.cfg.d/chstack-excludes"
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$dir.tmp/etc/apt/apt.conf.d/90chstack"
    in_chroot "$dir.tmp" "apt-get update -q && apt-get -y -q dist-upgrade" >>"$C/logs/debootstrap.log" 2>&1 \
      || { tail -20 "$C/logs/debootstrap.log" >&2; die "apt-get dist-upgrade failed"; }
    touch "$dir.tmp/.done"
    mv "$dir.tmp" "$dir"
  fi
  REPLY=$dir
}
in_chroot() { # in_chroot ROOT SCRIPT: run with proc mounted, host DNS, no service starts
  local r=$1
  cp /etc/resolv.conf "$r/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"; chmod 755 "$r/usr/sbin/policy-rc.d"
  mount -t proc proc "$r/proc"; MOUNTS+=("$r/proc")
  local rc=0
  chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 /bin/sh -euc "$2" || rc=$?
  umount "$r/proc"
  rm -f "$r/usr/sbin/policy-rc.d"
  : >"$r/etc/resolv.conf"
  return $rc
}
debian_layer() { # debian_layer NAME SETUP-FUNCTION PKG...: layer tar of base + packages (+ setup)
  local name=$1 setup=$2; shift 2
  debian_base; local base=$REPLY
  local key; key=$( { basename "$base"; echo "$*"; declare -f "$setup"; } | sha)
  local out=$C/layers/$name-$key.tar
  if [ "$REBUILD" = 1 ] || [ ! -f "$out" ]; then
    log "layer $name: apt-get install $* (log: $C/logs/layer-$name.log)"
    mktmp "layer-$name"; local w=$REPLY
    cp -a "$base/." "$w/root"
    rm -f "$w/root/.done"
    in_chroot "$w/root" "apt-get update -q && apt-get install -y -q $* && apt-get clean && rm -rf /var/lib/apt/lists/* /var/log/*.log /var/cache/debconf/*-old" \
      >"$C/logs/layer-$name.log" 2>&1 || { tail -20 "$C/logs/layer-$name.log" >&2; die "apt-get install failed"; }
    "$setup" "$w/root"
    rm -f "$w/root/etc/hostname" "$w/root/etc/machine-id"; : >"$w/root/etc/machine-id"
    tar_dir "$w/root" "$out"
    rm -rf "$w"
  fi
  USED+=("$out"); REPLY=$out
}
node_setup() { # what kind's base Dockerfile does after installing packages
  local r=$1
  find "$r/lib/systemd/system/sysinit.target.wants/" -name "systemd-tmpfiles-setup.service" -delete
  rm -f "$r"/lib/systemd/system/multi-user.target.wants/* "$r"/etc/systemd/system/*.wants/* \
    "$r"/lib/systemd/system/local-fs.target.wants/* "$r"/lib/systemd/system/sockets.target.wants/*udev* \
    "$r"/lib/systemd/system/sockets.target.wants/*initctl* "$r"/lib/systemd/system/basic.target.wants/*
  echo "ReadKMsg=no" >>"$r/etc/systemd/journald.conf"
  ln -sf /usr/lib/systemd/systemd "$r/sbin/init"
}
net_setup() { :; }

debian_layer node-debian node_setup "${NODE_PKGS[@]}"; NODE_LAYER=$REPLY
debian_layer net-debian net_setup "${NET_PKGS[@]}"; NET_LAYER=$REPLY

# --- small layers and component images ------------------------------------------------------------
skeleton() { # minimal distroless-like files
  mkdir -p "$1/etc" "$1/tmp" "$1/root" "$1/var/run"
  chmod 1777 "$1/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$1/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$1/etc/group"
  printf 'hosts: files dns\n' >"$1/etc/nsswitch.conf"
}
# files_layer NAME [--skeleton] SRC:DEST[:MODE]... -> REPLY=layer tar path (keyed by file signatures)
files_layer() {
  local name=$1; shift
  local skel=0; [ "${1:-}" = --skeleton ] && { skel=1; shift; }
  local key; key=$( { echo "$skel $*"; declare -f skeleton files_layer; for s in "$@"; do file_sig "${s%%:*}"; done; } | sha)
  local out=$C/layers/$name-$key.tar
  if [ "$REBUILD" = 1 ] || [ ! -f "$out" ]; then
    mktmp "files-$name"; local w=$REPLY
    [ $skel = 1 ] && skeleton "$w"
    local s src rest dest mode
    for s in "$@"; do
      src=${s%%:*}; rest=${s#*:}; dest=${rest%%:*}; mode=755; [ "$rest" != "$dest" ] && mode=${rest#*:}
      mkdir -p "$w$(dirname "$dest")"
      cp -L "$src" "$w$dest"; chmod "$mode" "$w$dest"
    done
    tar_dir "$w" "$out"
    rm -rf "$w"
  fi
  USED+=("$out"); REPLY=$out
}
# image NAME --tag REF... --layer TAR... [mkimage options]: docker-archive keyed by layers + options
IMAGES=()
image() {
  local name=$1; shift
  local key; key=$( { echo "$*"; sha256sum "$HERE/lib/mkimage.py"; for a in "$@"; do if [[ $a == *.tar ]]; then file_sig "$a"; fi; done; } | sha)
  local out=$C/images/$name-$key.tar
  if [ "$REBUILD" = 1 ] || [ ! -f "$out" ]; then
    log "image $name"
    python3 "$HERE/lib/mkimage.py" --out "$out" "$@" >/dev/null
  fi
  IMAGES+=("$out")
}
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  files_layer "$c" --skeleton "$TBIN/$c:/usr/local/bin/$c"
  image "$c" --tag "registry.k8s.io/$c:$K8S_VERSION" --layer "$REPLY"
done
files_layer etcd --skeleton "$TBIN/etcd:/usr/local/bin/etcd"
image etcd --tag "registry.k8s.io/etcd:$ETCD_TAG" --layer "$REPLY" --cmd '["/usr/local/bin/etcd"]'
files_layer kube-proxy "$TBIN/kube-proxy:/usr/local/bin/kube-proxy"
image kube-proxy --tag "registry.k8s.io/kube-proxy:$K8S_VERSION" --layer "$NET_LAYER" --layer "$REPLY"
files_layer coredns --skeleton "$COREDNS:/coredns"
image coredns --tag "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" --layer "$REPLY" --entrypoint '["/coredns"]'
files_layer pause "$PAUSE:/pause"
image pause --tag "registry.k8s.io/pause:$PAUSE_TAG" --tag "registry.k8s.io/pause:3.10" --layer "$REPLY" \
  --entrypoint '["/pause"]' --user 65535:65535
files_layer kube-network-policies "$TBIN/kube-network-policies:/bin/netpol"
image kube-network-policies --tag "docker.io/chstack-standin/kube-network-policies:$NETPOL_VERSION" \
  --layer "$NET_LAYER" --layer "$REPLY" --entrypoint '["/bin/netpol"]'
files_layer chstack-cni-agent "$TBIN/kubectl:/usr/local/bin/kubectl" "$HERE/files/chstack-cni-agent.sh:/usr/local/bin/chstack-cni-agent"
image chstack-cni-agent --tag "docker.io/chstack-standin/chstack-cni-agent:v1" \
  --layer "$NET_LAYER" --layer "$REPLY" --entrypoint '["/usr/local/bin/chstack-cni-agent"]'
files_layer local-path-provisioner --skeleton "$LPP:/usr/local/bin/local-path-provisioner"
image local-path-provisioner --tag "docker.io/chstack-standin/local-path-provisioner:$LPP_VERSION" \
  --layer "$REPLY" --cmd '["local-path-provisioner"]'

# busybox from Debian's busybox-static (local-path-provisioner's helper pods, tests)
BUSYBOX_DEB=$(ls "$C"/debcache/busybox-static_*_amd64.deb 2>/dev/null | head -1 || true)
if [ -z "$BUSYBOX_DEB" ]; then
  log "apt-get download busybox-static"
  (cd "$C/debcache" && apt-get download -q busybox-static >/dev/null)
  BUSYBOX_DEB=$(ls "$C"/debcache/busybox-static_*_amd64.deb | head -1)
fi
BB_KEY=$( { basename "$BUSYBOX_DEB"; declare -f skeleton; echo v1; } | sha)
BB_LAYER=$C/layers/busybox-$BB_KEY.tar
if [ "$REBUILD" = 1 ] || [ ! -f "$BB_LAYER" ]; then
  mktmp busybox; w=$REPLY
  dpkg-deb -x "$BUSYBOX_DEB" "$w/deb"
  skeleton "$w/root"
  mkdir -p "$w/root/bin"
  cp "$w/deb/bin/busybox" "$w/root/bin/busybox"
  for app in $("$w/root/bin/busybox" --list); do [ "$app" = busybox ] || ln -s busybox "$w/root/bin/$app"; done
  tar_dir "$w/root" "$BB_LAYER"
fi
image busybox --tag "docker.io/chstack-standin/busybox:$BUSYBOX_TAG" --layer "$BB_LAYER" --cmd '["sh"]'

# --- the node image -------------------------------------------------------------------------------
NODE_FILES=(
  "$TBIN/kubelet:/usr/local/bin/kubelet" "$TBIN/kubeadm:/usr/local/bin/kubeadm" "$TBIN/kubectl:/usr/local/bin/kubectl"
  "$TBIN/containerd:/usr/local/bin/containerd" "$TBIN/containerd-shim-runc-v2:/usr/local/bin/containerd-shim-runc-v2"
  "$CTR:/usr/local/bin/ctr" "$TBIN/crictl:/usr/local/bin/crictl"
  "$CNI_BIN/host-local:/opt/cni/bin/host-local" "$CNI_BIN/loopback:/opt/cni/bin/loopback"
  "$CNI_BIN/ptp:/opt/cni/bin/ptp" "$CNI_BIN/portmap:/opt/cni/bin/portmap" "$CNI_BIN/bridge:/opt/cni/bin/bridge"
)
NODE_KEY=$( {
  echo "$NODE_IMAGE $K8S_VERSION"; basename "$NODE_LAYER"; file_sig "${IMAGES[@]}"
  for s in "${NODE_FILES[@]}"; do file_sig "${s%%:*}"; done
  find "$KB" "$HERE/files" -type f -print0 | sort -z | xargs -0 sha256sum
  cat "$HERE/node-image.sh" "$HERE/lib/mkimage.py" | sha256sum
} | tee "$C/tmp/node-key-inputs.txt" | sha)
NODE_ARCHIVE=$C/images/kind-node-$K8S_VERSION-$NODE_KEY.tar

if [ "$REBUILD" = 1 ] || [ ! -f "$NODE_ARCHIVE" ]; then
  log "node image layer: kind files, binaries, preloaded images"
  mktmp node; w=$REPLY
  s=$w/root
  mkdir -p "$s"
  for f in "${NODE_FILES[@]}"; do
    src=${f%%:*}; dest=${f#*:}; mkdir -p "$s$(dirname "$dest")"; cp -L "$src" "$s$dest"; chmod 755 "$s$dest"
  done
  mkdir -p "$s/usr/bin" "$s/kind/bin" "$s/kind/manifests" "$s/etc/containerd" "$s/etc/default" "$s/etc/sysctl.d" \
    "$s/etc/systemd/system/kubelet.service.d" "$s/etc/systemd/system/multi-user.target.wants" \
    "$s/etc/kubernetes/manifests" "$s/etc/cni/net.d" "$s/var/lib/containerd"
  # kind runs kubeadm/kubectl from PATH; its kubelet unit runs /usr/bin/kubelet
  for b in kubelet kubeadm kubectl; do ln -s "/usr/local/bin/$b" "$s/usr/bin/$b"; done
  install -m 0755 "$KB/usr/local/bin/entrypoint" "$KB/usr/local/bin/clean-install" "$s/usr/local/bin/"
  install -m 0755 "$KB"/kind/bin/* "$s/kind/bin/"
  install -m 0644 "$KB/etc/crictl.yaml" "$s/etc/"
  install -m 0644 "$KB/etc/default/kubelet" "$s/etc/default/"
  install -m 0644 "$KB"/etc/sysctl.d/* "$s/etc/sysctl.d/"
  install -m 0644 "$KB"/etc/systemd/system/*.service "$KB"/etc/systemd/system/*.slice "$s/etc/systemd/system/"
  # This machine has no CAP_SYS_RESOURCE (not even for root): raising a hard rlimit or lowering
  # oom_score_adj fails, so containerd.service without LimitNOFILE/LimitNPROC=infinity and
  # OOMScoreAdjust=-999 (systemd would refuse to start it: 205/LIMITS, 214/OOM_ADJUST).
  sed -i -E '/^(LimitNOFILE|LimitNPROC|OOMScoreAdjust)=/d' "$s/etc/systemd/system/containerd.service"
  install -m 0644 "$KB"/etc/systemd/system/kubelet.service.d/* "$s/etc/systemd/system/kubelet.service.d/"
  for u in kubelet containerd undo-mount-hacks; do
    ln -s "/etc/systemd/system/$u.service" "$s/etc/systemd/system/multi-user.target.wants/$u.service"
  done
  ln -s /dev/null "$s/etc/systemd/system/systemd-binfmt.service"
  # containerd: kind's config, with kubeadm's pause tag, and every registry pointed at a
  # closed local port so that a missing image fails at once instead of reaching out
  sed -e "s#sandbox_image = \"registry.k8s.io/pause:3.10\"#sandbox_image = \"registry.k8s.io/pause:$PAUSE_TAG\"#" \
    "$KB/etc/containerd/config.toml" >"$s/etc/containerd/config.toml"
  grep -q "pause:$PAUSE_TAG" "$s/etc/containerd/config.toml" || die "could not set sandbox_image"
  # (no CAP_SYS_RESOURCE, see above): never ask runc for an oom_score_adj below containerd's own
  sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' "$s/etc/containerd/config.toml"
  grep -q 'restrict_oom_score_adj = true' "$s/etc/containerd/config.toml" || die "could not set restrict_oom_score_adj"
  cat >>"$s/etc/containerd/config.toml" <<'EOF'

# chstack: no registry is reachable; resolve every registry to a closed local port
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "/etc/containerd/certs.d"
EOF
  mkdir -p "$s/etc/containerd/certs.d/_default"
  printf '# chstack: no registry is reachable from here; fail fast instead of reaching out\nserver = "https://127.0.0.1:1"\n' \
    >"$s/etc/containerd/certs.d/_default/hosts.toml"
  "$CTR" oci spec | python3 -c '
import json,sys
s=json.load(sys.stdin)
s.setdefault("hooks",{}).setdefault("createContainer",[]).append({"path":"/kind/bin/mount-product-files.sh"})
s["process"].pop("rlimits",None)
json.dump(s,sys.stdout,indent=4)' >"$s/etc/containerd/cri-base.json"
  # /kind: version, manifests (kind applies default-cni.yaml unless disableDefaultCNI, and default-storage.yaml)
  printf '%s' "$K8S_VERSION" >"$s/kind/version"
  install -m 0644 "$HERE"/files/manifests/*.yaml "$s/kind/manifests/"
  install -m 0644 "$KB/kind/README.txt" "$s/kind/" 2>/dev/null || true
  printf 'Stand-in node image built by chstack e2e/cluster/node-image.sh (key %s); not kindest/node.\n' "$NODE_KEY" >"$s/kind/chstack-standin.txt"

  # preload the images into the node's containerd, as kind's node-image build does
  # (ctr images import --no-unpack --label=io.cri-containerd.pinned=pinned --all-platforms --digests),
  # with a temporary containerd whose root is the node's /var/lib/containerd
  cat >"$w/containerd.toml" <<EOF
version = 3
root = "$s/var/lib/containerd"
state = "$w/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime",
  "io.containerd.nri.v1.nri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$w/containerd.sock"
[ttrpc]
  address = "$w/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
  "$TBIN/containerd" --config "$w/containerd.toml" >"$C/logs/preload-containerd.log" 2>&1 &
  CTRD_PID=$!
  for _ in $(seq 100); do [ -S "$w/containerd.sock" ] && "$CTR" -a "$w/containerd.sock" version >/dev/null 2>&1 && break; sleep 0.2; done
  "$CTR" -a "$w/containerd.sock" version >/dev/null || { tail "$C/logs/preload-containerd.log" >&2; die "temporary containerd did not start"; }
  for img in "${IMAGES[@]}"; do
    log "preload $(basename "$img")"
    "$CTR" -a "$w/containerd.sock" -n k8s.io images import --label=io.cri-containerd.pinned=pinned \
      --all-platforms --no-unpack --digests "$img" >/dev/null
  done
  "$CTR" -a "$w/containerd.sock" -n k8s.io images ls -q | grep -v '@sha256:' | sed 's/^/[node-image]   preloaded: /' >&2
  kill "$CTRD_PID"; wait "$CTRD_PID" 2>/dev/null || true; CTRD_PID=
  rm -rf "$w/state"

  log "node image archive"
  tar_dir "$s" "$w/layer.tar"
  python3 "$HERE/lib/mkimage.py" --out "$NODE_ARCHIVE.tmp" --tag "$NODE_IMAGE" --layer "$NODE_LAYER" --layer "$w/layer.tar" \
    --entrypoint '["/usr/local/bin/entrypoint", "/sbin/init"]' --env container=docker --stop-signal 'SIGRTMIN+3' \
    --label "chstack.key=$NODE_KEY" --label "chstack.kubernetes=$K8S_VERSION" >/dev/null
  mv "$NODE_ARCHIVE.tmp" "$NODE_ARCHIVE"
  rm -rf "$w"
  # keep only the newest node archive
  find "$C/images" -maxdepth 1 -name 'kind-node-*.tar' ! -name "$(basename "$NODE_ARCHIVE")" -delete
fi

# prune cache entries with stale keys
USED+=("$BB_LAYER" "${IMAGES[@]}" "$NODE_ARCHIVE")
for f in "$C"/layers/*.tar "$C"/images/*.tar; do
  [ -e "$f" ] || continue
  case " ${USED[*]} " in *" $f "*) ;; *) rm -f "$f"; log "pruned stale $(basename "$f")" ;; esac
done

for img in "${IMAGES[@]}"; do echo "IMAGE $img"; done
echo "NODE_KEY $NODE_KEY"
echo "NODE_IMAGE $NODE_IMAGE $NODE_ARCHIVE"
