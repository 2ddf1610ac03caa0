#!/usr/bin/env bash
# Create the kind cluster chstack-e2e (1 control-plane + CHSTACK_KIND_WORKERS workers, default 2;
# Kubernetes v1.34.4) from the stand-in node image, on a private dockerd.
#
#   e2e/cluster/up.sh [IMAGE-ARCHIVE | current.tsv]...   # extra images to `kind load image-archive`
#   export KUBECONFIG=${CHSTACK_CACHE:-~/.cache/chstack}/cluster/kubeconfig-chstack-e2e
#   e2e/cluster/down.sh
#
# On failure everything it started is torn down (down.sh), unless CHSTACK_KEEP_ON_FAILURE=1.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[ "$(id -u)" = 0 ] || die "run as root"
T0=$(date +%s)
WORKERS=${CHSTACK_KIND_WORKERS:-2}
[[ $WORKERS =~ ^[1-9]$ ]] || die "CHSTACK_KIND_WORKERS must be 1 to 9, got '$WORKERS'"
mkdir -p "$D" "$C/logs"

on_exit() {
  local rc=$?
  if [ $rc != 0 ]; then
    log "FAILED (exit $rc)"
    if docker_up && kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
      kind export logs "$C/logs/kind-$CLUSTER-$(date +%Y%m%d-%H%M%S)" --name "$CLUSTER" >/dev/null 2>&1 \
        && log "node logs exported under $C/logs/" || true
    fi
    if [ "${CHSTACK_KEEP_ON_FAILURE:-0}" != 1 ]; then "$HERE/down.sh" || true; fi
  fi
}
trap on_exit EXIT

# Debian's docker engine runs kind's node containers (policy-rc.d keeps apt from starting its service)
if ! command -v dockerd >/dev/null; then
  log "installing docker.io with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >>"$C/logs/apt.log" 2>&1 \
    || { tail -20 "$C/logs/apt.log" >&2; die "apt-get install docker.io failed"; }
fi

TBIN=$("$ROOT/e2e/toolchain/build.sh" kind kubernetes 2>/dev/null)
export PATH="$TBIN:$PATH"

# --- node image (cached; seconds when warm) --------------------------------------------------------
out=$("$HERE/node-image.sh")
read -r _ _ NODE_ARCHIVE < <(grep '^NODE_IMAGE ' <<<"$out")
NODE_KEY=$(grep '^NODE_KEY ' <<<"$out" | cut -d' ' -f2)

# --- private dockerd ----------------------------------------------------------------------------------
if docker_up; then
  log "dockerd already running on $DOCKER_SOCK"
else
  # remember ip_forward to restore it in down.sh (dockerd sets it to 1)
  [ -f "$D/ip_forward.orig" ] || cat /proc/sys/net/ipv4/ip_forward >"$D/ip_forward.orig"
  # and the iptables state, so that down.sh can undo what dockerd adds (chains, FORWARD policy, tables)
  [ -f "$D/iptables.before" ] || iptables-save >"$D/iptables.before"
  log "starting dockerd (data $D/data, exec-root $DOCKER_EXEC_ROOT, bridge $DOCKER_BIP, log $C/logs/dockerd.log)"
  # Debian's dockerd + its containerd + runc (not the toolchain's containerd 2.x): clean PATH.
  # runc-wrapper: drops capabilities outside this machine's bounding set (no CAP_SYS_RESOURCE here).
  # --dns: the upstream of docker's embedded DNS in the node containers is the kind bridge's own
  # gateway address, where nothing listens: no DNS query leaves the machine.
  env -i PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    setsid dockerd --data-root "$D/data" --exec-root "$DOCKER_EXEC_ROOT" --host "unix://$DOCKER_SOCK" \
      --pidfile "$D/dockerd.pid" --bip "$DOCKER_BIP" --default-address-pool "base=$DOCKER_POOL,size=24" \
      --iptables=true --ip6tables=false --ipv6=false --dns "$KIND_GW" --storage-driver overlay2 \
      --add-runtime "chstack-runc=$HERE/files/runc-wrapper" --default-runtime chstack-runc \
      --log-level warn >>"$C/logs/dockerd.log" 2>&1 </dev/null &
  echo $! >"$D/dockerd.started.pid"
  for _ in $(seq 60); do docker_up && break; sleep 0.5; done
  docker_up || { tail -20 "$C/logs/dockerd.log" >&2; die "dockerd did not come up"; }
  log "dockerd pid $(cat "$D/dockerd.started.pid") up"
fi

if [ "$(docker image inspect -f '{{index .Config.Labels "chstack.key"}}' "$NODE_IMAGE" 2>/dev/null || true)" != "$NODE_KEY" ]; then
  log "docker load $(basename "$NODE_ARCHIVE")"
  docker load -q -i "$NODE_ARCHIVE" >/dev/null
fi

# --- kind network: fixed private subnet, no masquerade, nothing forwarded off the machine ----------
if ! docker network inspect "$KIND_NET" >/dev/null 2>&1; then
  log "docker network $KIND_NET $KIND_SUBNET (bridge $KIND_BRIDGE)"
  docker network create --driver bridge --subnet "$KIND_SUBNET" --gateway "$KIND_GW" \
    -o com.docker.network.bridge.name="$KIND_BRIDGE" -o com.docker.network.bridge.enable_ip_masquerade=false \
    -o com.docker.network.driver.mtu=1500 "$KIND_NET" >/dev/null
fi
# drop anything the node containers would forward off the machine (there is no network anyway)
for br in "$KIND_BRIDGE" docker0; do
  iptables -C DOCKER-USER -i "$br" ! -o "$br" -j DROP 2>/dev/null || iptables -I DOCKER-USER -i "$br" ! -o "$br" -j DROP
done

# --- cluster -----------------------------------------------------------------------------------------
if [ "${CHSTACK_FRESH_CLUSTER:-0}" = 1 ] && kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  # A cluster left by an earlier run (its node containers restart with dockerd): start from nothing.
  log "cluster $CLUSTER left by an earlier run: kind delete cluster (CHSTACK_FRESH_CLUSTER=1)"
  kind delete cluster --name "$CLUSTER" 2>&1 | sed 's/^/    /' >&2
fi
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  log "cluster $CLUSTER exists"
else
  cfg=$C/kind-config-$CLUSTER.yaml
  cat >"$cfg" <<EOF
# generated by e2e/cluster/up.sh
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
name: $CLUSTER
networking:
  ipFamily: ipv4
  apiServerAddress: 127.0.0.1
  podSubnet: $POD_SUBNET
  serviceSubnet: $SERVICE_SUBNET
  # the node image's /kind/manifests/default-cni.yaml (chstack-cni-agent + kube-network-policies)
  disableDefaultCNI: false
nodes:
  - role: control-plane
    image: $NODE_IMAGE
$(for _ in $(seq "$WORKERS"); do printf '  - role: worker\n    image: %s\n' "$NODE_IMAGE"; done)
EOF
  log "kind create cluster --name $CLUSTER (config $cfg)"
  t=$(date +%s)
  kind create cluster --name "$CLUSTER" --image "$NODE_IMAGE" --config "$cfg" --kubeconfig "$KUBECONFIG" \
    --retain 2>&1 | sed -u 's/^/    /' >&2
  [ "${PIPESTATUS[0]}" = 0 ] || die "kind create cluster failed"
  log "kind create cluster took $(( $(date +%s) - t ))s"
fi
kind get kubeconfig --name "$CLUSTER" >"$KUBECONFIG"
chmod 600 "$KUBECONFIG"

# --- CoreDNS: no upstream (remove the forward plugin) -----------------------------------------------
corefile=$(kubectl -n kube-system get configmap coredns -o jsonpath='{.data.Corefile}')
if grep -q 'forward ' <<<"$corefile"; then
  log "CoreDNS: removing the forward plugin from the Corefile"
  new=$(python3 -c '
import sys
out, depth, skip = [], 0, False
for line in sys.stdin.read().splitlines():
    if not skip and line.strip().startswith("forward "):
        skip = line.rstrip().endswith("{")
        continue
    if skip:
        depth += line.count("{") - line.count("}")
        if depth < 0:
            skip, depth = False, 0
        continue
    out.append(line)
print("\n".join(out))' <<<"$corefile")
  grep -q 'forward ' <<<"$new" && die "could not remove forward from the Corefile"
  kubectl -n kube-system create configmap coredns --from-literal=Corefile="$new" --dry-run=client -o yaml \
    | kubectl -n kube-system apply --server-side --force-conflicts -f - >/dev/null
  kubectl -n kube-system rollout restart deployment/coredns >/dev/null
fi

# --- NetworkPolicy: kube-network-policies needs the nftables queue expression ------------------------
cp_node=$CLUSTER-control-plane
if docker exec "$cp_node" sh -c 'nft add table inet chstack-probe && nft add chain inet chstack-probe c "{ type filter hook forward priority 0; }" \
     && nft add rule inet chstack-probe c queue num 98 bypass; rc=$?; nft delete table inet chstack-probe; exit $rc' >/dev/null 2>&1; then
  log "applying kube-network-policies (NetworkPolicy enforcement)"
  docker exec "$cp_node" kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f /kind/manifests/kube-network-policies.yaml >/dev/null
  NETPOL=1
else
  log "WARNING: NetworkPolicy NOT enforced: this kernel has no nftables queue expression (CONFIG_NFT_QUEUE), which kube-network-policies needs"
  NETPOL=0
fi

# --- extra images ------------------------------------------------------------------------------------
for a in "$@"; do
  if [[ $a == *.tsv ]]; then files=$(cut -f2 "$a"); else files=$a; fi
  for f in $files; do
    [ -f "$f" ] || die "no such image archive: $f"
    log "kind load image-archive $(basename "$f")"
    kind load image-archive "$f" --name "$CLUSTER" >/dev/null
  done
done

# --- wait --------------------------------------------------------------------------------------------
log "waiting for nodes Ready"
kubectl wait --for=condition=Ready node --all --timeout=300s >/dev/null
log "waiting for kube-system and storage"
for ds in kube-proxy chstack-cni-agent $([ $NETPOL = 1 ] && echo kube-network-policies); do
  kubectl -n kube-system rollout status "daemonset/$ds" --timeout=300s >/dev/null
done
kubectl -n kube-system rollout status deployment/coredns --timeout=300s >/dev/null
kubectl -n local-path-storage rollout status deployment/local-path-provisioner --timeout=300s >/dev/null
kubectl get nodes -o wide >&2
log "cluster $CLUSTER ready in $(( $(date +%s) - T0 ))s; export KUBECONFIG=$KUBECONFIG"
