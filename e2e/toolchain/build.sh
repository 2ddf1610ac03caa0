#!/usr/bin/env bash
# Builds, from published Go modules, whatever is missing of the pinned e2e
# toolchain into a cache outside the checkout:
#
#   ${CHSTACK_CACHE:-$HOME/.cache/chstack}/toolchain/<component>-<version>/bin/<binary>
#   ${CHSTACK_CACHE:-$HOME/.cache/chstack}/toolchain/bin/<binary>   symlinks: put this on PATH
#   ${CHSTACK_CACHE:-$HOME/.cache/chstack}/toolchain/cni-bin/       CNI plugins (not on PATH:
#                                                                    `bridge` would shadow iproute2's)
#
# Each component has a build module under e2e/toolchain/modules/<component>/
# (go.mod + go.sum + tools.go or a main wrapper) so builds are reproducible.
# A binary that already exists is version-checked and skipped, so a warm run
# takes seconds. On success the last line on stdout is the bin directory.
#
# Usage: e2e/toolchain/build.sh [component...]     (default: all, in order)
#        e2e/toolchain/build.sh --list
# Env:   CHSTACK_CACHE   cache root (default ~/.cache/chstack)
# See e2e/toolchain/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODULES=$HERE/modules
CACHE=${CHSTACK_CACHE:-$HOME/.cache/chstack}
TC=$CACHE/toolchain
BIN=$TC/bin
WORK=$TC/.work
LOGS=$TC/.logs

# Go 1.26.8 is what the machine has: never fetch another toolchain, never
# touch the committed go.mod/go.sum, keep the default build cache.
export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -buildvcs=false"
export CGO_ENABLED=0
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_HOME=${PULUMI_HOME:-$TC/pulumi-home}

# ---------------------------------------------------------------------------
# Pins (see README.md for why each one).
# ---------------------------------------------------------------------------
PULUMI_VERSION=v3.248.0                 # = npm @pulumi/pulumi 3.248.0
PULUMI_NODEJS_VERSION=v3.68.0           # v3.248.0's host module is not served
K8S_PROVIDER_VERSION=4.25.0             # npm @pulumi/kubernetes is 4.34.2: not served
K8S_PROVIDER_MODVER=v4.0.0-20260115033456-f47bc2d6f199   # = upstream tag v4.25.0
KUBERNETES_VERSION=v1.34.4              # newest 1.34 patch served
ETCD_VERSION=v3.6.5                     # kubeadm 1.34 DefaultEtcdVersion 3.6.5-0
KIND_VERSION=v0.33.0                    # newest served
CRICTL_VERSION=v1.34.0
CONTAINERD_VERSION=v2.1.9               # newest 2.1 patch; k8s 1.34 needs 2.1.3+
CNI_PLUGINS_VERSION=v1.9.1
KNP_VERSION=v0.8.0

LDFLAGS="-s -w"

log() { printf '[toolchain %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null || die "go is not on PATH"
mkdir -p "$BIN" "$WORK" "$LOGS" "$PULUMI_HOME"

# One build at a time, also across concurrent runs of this script.
if command -v flock >/dev/null; then
  exec 9>"$TC/.lock"
  flock 9
fi

# Proxy and download errors are the first thing to report on a failed build.
report_failure() {
  local component=$1 logfile=$2
  log "FAILED: $component (full log: $logfile)"
  local refused
  refused=$(grep -E '[0-9]{3} (Forbidden|Not Found|Gone)|not available|unknown revision|invalid version|verifying .*: |missing go.sum entry' "$logfile" | awk '!seen[$0]++' || true)
  if [ -n "$refused" ]; then
    local mv
    for mv in $(printf '%s\n' "$refused" | grep -oE '[A-Za-z0-9._~/-]+@v[0-9][A-Za-z0-9.+-]*' | awk '!seen[$0]++'); do
      log "the Go module proxy refused: $mv"
    done
    printf '%s\n' "$refused" | sed -E 's/^/    /' >&2
  else
    tail -n 40 "$logfile" | sed -E 's/^/    /' >&2
  fi
}

# The file name `go build -o DIR/` gives to package PKG.
gobin_name() {
  local p=${1%/} last
  last=${p##*/}
  if [[ "$last" =~ ^v[0-9]+$ ]] && [[ "$p" == */* ]]; then
    p=${p%/*}
    last=${p##*/}
  fi
  printf '%s' "$last"
}

# go_build COMPONENT OUTDIR LDFLAGS NAME=PKG...
#   One `go build` (under nice) of all packages of a component, in the build
#   module (or $BUILD_MODDIR), with tags $BUILD_TAGS; each binary is moved
#   into OUTDIR/NAME once the whole build succeeded.
go_build() {
  local component=$1 outdir=$2 ldflags=$3
  shift 3
  local moddir=${BUILD_MODDIR:-$MODULES/$component}
  local tmp=$outdir/.tmp.$$ logfile=$LOGS/$component.log spec
  local pkgs=()
  for spec in "$@"; do pkgs+=("${spec#*=}"); done
  rm -rf "$tmp"
  mkdir -p "$tmp"
  log "building $component (${#pkgs[@]} binaries, log: $logfile)"
  local start=$SECONDS
  if ! (cd "$moddir" && nice -n 10 go build -trimpath ${BUILD_TAGS:+-tags "$BUILD_TAGS"} \
    -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}") >"$logfile" 2>&1; then
    rm -rf "$tmp"
    report_failure "$component" "$logfile"
    return 1
  fi
  for spec in "$@"; do
    mv -f "$tmp/$(gobin_name "${spec#*=}")" "$outdir/${spec%%=*}"
  done
  rm -rf "$tmp"
  log "built $component in $((SECONDS - start))s"
}

# How each binary reports its version: arguments to run it with (it is run
# from its own directory as ./NAME, so that a usage message naming its path,
# which contains the version, cannot pass), and what the output must contain
# if not the component's version. Special arguments:
#   @buildinfo  no version flag: read the module version from `go version -m`
#   @schema     a Pulumi provider: `pulumi package get-schema` loads it through
#               the Pulumi engine; the schema's version must match
#   -           run without arguments (CNI plugins print their version)
declare -A CHECK_ARGS=(
  [pulumi]=version
  [pulumi-language-nodejs]=@buildinfo
  [pulumi-resource-kubernetes]=@schema
  [kubectl]="version --client"
  [kubeadm]="version -o short"
  [kind]=version
  [containerd-shim-runc-v2]=-v
  [bridge]=- [host-local]=- [loopback]=- [portmap]=- [ptp]=-
  [kube-network-policies]=@buildinfo
)
declare -A CHECK_WANT=()
# For @schema when pulumi itself is missing.
declare -A CHECK_MODVER=(
  [pulumi-resource-kubernetes]=$(printf 'github.com/pulumi/pulumi-kubernetes/provider/v4\t%s' "$K8S_PROVIDER_MODVER")
)

# is_current BINARY WANT : BINARY exists and reports WANT.
is_current() {
  local bin=$1 want=$2 name dir args out
  name=$(basename "$bin")
  dir=$(dirname "$bin")
  [ -x "$bin" ] || return 1
  args=${CHECK_ARGS[$name]:---version}
  want=${CHECK_WANT[$name]:-$want}
  case "$args" in
    @buildinfo) out=$(go version -m "$bin" 2>&1) || true ;;
    @schema)
      local pulumi=$TC/pulumi-$PULUMI_VERSION/bin/pulumi
      if [ -x "$pulumi" ]; then
        want="\"version\": \"$want\""
        out=$("$pulumi" package get-schema "$bin" 2>&1 </dev/null | grep -F -- "$want") || true
      else
        log "no $pulumi to load $name with: checking its build info only"
        want=${CHECK_MODVER[$name]}
        out=$(go version -m "$bin" 2>&1) || true
      fi
      ;;
    -) out=$(cd "$dir" && env -u CNI_COMMAND "./$name" 2>&1 </dev/null) || true ;;
    # shellcheck disable=SC2086
    *) out=$(cd "$dir" && "./$name" $args 2>&1 </dev/null) || true ;;
  esac
  if printf '%s' "$out" | grep -qF -- "$want"; then
    return 0
  fi
  log "$name reports '$(printf '%s' "$out" | grep -v '^[[:space:]]*dep' | head -n1)', want '$want'"
  return 1
}

link() { ln -sfn "$1" "${2:-$BIN}/$(basename "$1")"; }

# ensure COMPONENT VERSIONDIR WANT LDFLAGS NAME=PKG...
#   Unless every NAME in $TC/VERSIONDIR/bin already reports WANT, builds them
#   all; then checks them again and links them into $LINK_DIR (default $BIN).
ensure() {
  local component=$1 vdir=$2 want=$3 ldflags=$4
  shift 4
  local out=$TC/$vdir/bin spec ok=1
  mkdir -p "$out"
  for spec in "$@"; do
    is_current "$out/${spec%%=*}" "$want" || { ok=0; break; }
  done
  if [ "$ok" = 1 ]; then
    log "ok $component $want (cached in $TC/$vdir)"
  else
    if declare -F "prepare_${component//-/_}" >/dev/null; then "prepare_${component//-/_}"; fi
    go_build "$component" "$out" "$ldflags" "$@"
    for spec in "$@"; do
      is_current "$out/${spec%%=*}" "$want" || die "$out/${spec%%=*} does not report $want"
    done
    log "ok $component $want (built into $TC/$vdir)"
  fi
  for spec in "$@"; do link "$out/${spec%%=*}" "${LINK_DIR:-$BIN}"; done
}

# ---------------------------------------------------------------------------
# Components (each runs in a subshell with errexit on)
# ---------------------------------------------------------------------------
build_pulumi() {
  ensure pulumi "pulumi-$PULUMI_VERSION" "$PULUMI_VERSION" \
    "$LDFLAGS -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    pulumi=github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

build_pulumi_language_nodejs() {
  local vdir=pulumi-language-nodejs-$PULUMI_NODEJS_VERSION
  CHECK_WANT[pulumi-language-nodejs]=$(printf 'github.com/pulumi/pulumi/sdk/v3\t%s' "$PULUMI_NODEJS_VERSION")
  ensure pulumi-language-nodejs "$vdir" "$PULUMI_NODEJS_VERSION" \
    "$LDFLAGS -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_NODEJS_VERSION" \
    pulumi-language-nodejs=github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
  # The v3.68 host reads the runtime options (typescript, nodeargs) only from
  # its command line, while the v3.248 engine sends them inside the Run
  # request; this wrapper passes this project's Pulumi.yaml options. It sits
  # next to the real `pulumi` binary, where the engine looks for bundled
  # language hosts, and $BIN links to it, so no "using pulumi-language-nodejs
  # from $PATH" warning is printed.
  local wrapper=$TC/pulumi-$PULUMI_VERSION/bin/pulumi-language-nodejs content
  mkdir -p "$(dirname "$wrapper")"
  content=$(
    cat <<EOF
#!/bin/sh
# Written by e2e/toolchain/build.sh: Pulumi $PULUMI_VERSION engine -> $PULUMI_NODEJS_VERSION Node.js language host.
exec "$TC/$vdir/bin/pulumi-language-nodejs" \\
  -typescript="\${CHSTACK_PULUMI_NODEJS_TYPESCRIPT:-false}" \\
  -nodeargs="\${CHSTACK_PULUMI_NODEJS_NODEARGS---import tsx}" "\$@"
EOF
  )
  if [ ! -x "$wrapper" ] || [ "$(cat "$wrapper")" != "$content" ]; then
    printf '%s\n' "$content" >"$wrapper.tmp"
    chmod +x "$wrapper.tmp"
    mv -f "$wrapper.tmp" "$wrapper"
    log "wrote $wrapper"
  fi
  link "$wrapper"
}

# Upstream's main embeds schema-embed.json and terraform-mapping-embed.json,
# which `go generate` makes and which are therefore not in the module zip:
# generate them in a scratch copy of the build module and build there.
prepare_pulumi_resource_kubernetes() {
  local component=pulumi-resource-kubernetes work=$WORK/pulumi-resource-kubernetes src
  rm -rf "$work"
  mkdir -p "$work"
  cp "$MODULES/$component"/go.mod "$MODULES/$component"/go.sum "$MODULES/$component"/*.go "$work/"
  if ! src=$(cd "$work" && go mod download "github.com/pulumi/pulumi-kubernetes/provider/v4@$K8S_PROVIDER_MODVER" \
    >"$LOGS/$component.download.log" 2>&1 &&
    go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4); then
    report_failure "$component" "$LOGS/$component.download.log"
    return 1
  fi
  log "generating $component schema-embed.json (version $K8S_PROVIDER_VERSION)"
  (cd "$work" && go run ./generate.go "$src/cmd/pulumi-resource-kubernetes" "$K8S_PROVIDER_VERSION")
  rm -f "$work/generate.go"
  BUILD_MODDIR=$work
}

build_pulumi_resource_kubernetes() {
  ensure pulumi-resource-kubernetes "pulumi-resource-kubernetes-v$K8S_PROVIDER_VERSION" "$K8S_PROVIDER_VERSION" \
    "$LDFLAGS -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_VERSION" \
    pulumi-resource-kubernetes=chstack.local/e2e/toolchain/pulumi-resource-kubernetes
  rm -rf "$WORK/pulumi-resource-kubernetes"
}

build_kubernetes() {
  local v=$KUBERNETES_VERSION x=""
  local minor=${v#v1.}
  minor=${minor%%.*}
  local key
  for key in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=" -X $key.gitVersion=$v -X $key.gitMajor=1 -X $key.gitMinor=$minor -X $key.gitTreeState=clean"
    x+=" -X $key.buildDate=1970-01-01T00:00:00Z"
  done
  local bins=() b
  for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl kubeadm; do
    bins+=("$b=k8s.io/kubernetes/cmd/$b")
  done
  for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
    CHECK_WANT[$b]="Kubernetes $v"
  done
  CHECK_WANT[kubectl]="Client Version: $v"
  # The tags upstream's hack/lib/golang.sh builds release binaries with.
  BUILD_TAGS=selinux,notest,grpcnotrace \
    ensure kubernetes "kubernetes-$v" "$v" "$LDFLAGS$x" "${bins[@]}"
}

build_etcd() {
  CHECK_WANT[etcd]="etcd Version: ${ETCD_VERSION#v}"
  ensure etcd "etcd-$ETCD_VERSION" "${ETCD_VERSION#v}" "$LDFLAGS" etcd=go.etcd.io/etcd/server/v3
}

build_kind() {
  CHECK_WANT[kind]="kind $KIND_VERSION "
  ensure kind "kind-$KIND_VERSION" "$KIND_VERSION" "$LDFLAGS" kind=sigs.k8s.io/kind
}

build_crictl() {
  ensure crictl "crictl-$CRICTL_VERSION" "$CRICTL_VERSION" \
    "$LDFLAGS -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
    crictl=sigs.k8s.io/cri-tools/cmd/crictl
}

build_containerd() {
  local p=github.com/containerd/containerd/v2
  ensure containerd "containerd-$CONTAINERD_VERSION" "$CONTAINERD_VERSION" \
    "$LDFLAGS -X $p/version.Version=$CONTAINERD_VERSION -X $p/version.Package=$p" \
    containerd=$p/cmd/containerd containerd-shim-runc-v2=$p/cmd/containerd-shim-runc-v2
}

build_cni_plugins() {
  local p=github.com/containernetworking/plugins
  LINK_DIR=$TC/cni-bin
  mkdir -p "$LINK_DIR"
  ensure cni-plugins "cni-plugins-$CNI_PLUGINS_VERSION" "$CNI_PLUGINS_VERSION" \
    "$LDFLAGS -X $p/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" \
    bridge=$p/plugins/main/bridge host-local=$p/plugins/ipam/host-local loopback=$p/plugins/main/loopback \
    portmap=$p/plugins/meta/portmap ptp=$p/plugins/main/ptp
}

build_kube_network_policies() {
  CHECK_WANT[kube-network-policies]=$(printf 'sigs.k8s.io/kube-network-policies\t%s' "$KNP_VERSION")
  ensure kube-network-policies "kube-network-policies-$KNP_VERSION" "$KNP_VERSION" "$LDFLAGS" \
    kube-network-policies=sigs.k8s.io/kube-network-policies/cmd
}

ALL_COMPONENTS=(pulumi pulumi-language-nodejs pulumi-resource-kubernetes
  kubernetes etcd kind crictl containerd cni-plugins kube-network-policies)

if [ "${1:-}" = "--list" ]; then
  printf '%s\n' "${ALL_COMPONENTS[@]}"
  exit 0
fi
if [ $# -gt 0 ]; then COMPONENTS=("$@"); else COMPONENTS=("${ALL_COMPONENTS[@]}"); fi

start=$SECONDS
for c in "${COMPONENTS[@]}"; do
  fn=build_${c//-/_}
  declare -F "$fn" >/dev/null || die "unknown component '$c' (try --list)"
  # A function run as `fn || ...` would have errexit off: use a subshell.
  set +e
  (
    set -e
    "$fn"
  )
  rc=$?
  set -e
  case $rc in
    0) ;;
    *) die "component $c failed (exit $rc)" ;;
  esac
done
log "toolchain ready in $((SECONDS - start))s. PATH=$BIN:\$PATH PULUMI_HOME=$PULUMI_HOME PULUMI_SKIP_UPDATE_CHECK=true; CNI plugins: $TC/cni-bin"
echo "$BIN"
