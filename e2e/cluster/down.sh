#!/usr/bin/env bash
# Delete the kind cluster, stop the private dockerd (by its pid) and remove the
# bridges and iptables chains it created; restore ip_forward.
#   e2e/cluster/down.sh            # keeps dockerd's data root (loaded node image) as a cache
#   e2e/cluster/down.sh --purge    # also deletes it
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[ "$(id -u)" = 0 ] || die "run as root"
TBIN=$("$ROOT/e2e/toolchain/build.sh" kind 2>/dev/null) && export PATH="$TBIN:$PATH"
T0=$(date +%s)

if docker_up; then
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    log "kind delete cluster --name $CLUSTER"
    kind delete cluster --name "$CLUSTER" --kubeconfig "$KUBECONFIG" 2>&1 | sed 's/^/    /' >&2
  fi
  docker network rm "$KIND_NET" >/dev/null 2>&1 && log "removed docker network $KIND_NET"
fi
rm -f "$KUBECONFIG"

pid=$(cat "$D/dockerd.started.pid" 2>/dev/null || cat "$D/dockerd.pid" 2>/dev/null || true)
if [ -n "$pid" ] && [ -d "/proc/$pid" ] && grep -q dockerd "/proc/$pid/comm" 2>/dev/null; then
  log "stopping dockerd pid $pid"
  kill -TERM "$pid"
  for _ in $(seq 60); do [ -d "/proc/$pid" ] || break; sleep 0.5; done
  if [ -d "/proc/$pid" ]; then log "dockerd did not stop; SIGKILL"; kill -KILL "$pid"; sleep 1; fi
fi
rm -f "$D/dockerd.started.pid" "$D/dockerd.pid"
# its containerd child (normally gone with it): only the one under our exec-root
for p in $(pgrep -x containerd 2>/dev/null); do
  if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "$DOCKER_EXEC_ROOT/"; then
    log "stopping leftover containerd pid $p"; kill -TERM "$p"
  fi
done

# network cleanup: our bridges, then docker's iptables chains (only if no other dockerd runs,
# as the chain names are shared by every dockerd)
for br in "$KIND_BRIDGE" docker0; do
  if ip link show "$br" >/dev/null 2>&1; then ip link delete "$br" && log "deleted bridge $br"; fi
done
if pgrep -x dockerd >/dev/null; then
  log "another dockerd is running: leaving the DOCKER* iptables chains alone"
else
  for table in filter nat; do
    # rules in built-in chains that jump to DOCKER* chains or mention our ranges/bridges
    iptables -t "$table" -S 2>/dev/null | grep '^-A ' \
      | grep -E -- "-j DOCKER|docker0|$KIND_BRIDGE|${DOCKER_BIP%.*}\.|${KIND_SUBNET%.*}\." \
      | grep -v -E '^-A DOCKER' | sed 's/^-A /-D /' | while read -r rule; do
        eval "iptables -t $table $rule" 2>/dev/null || true
      done
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1=="-N" && $2 ~ /^DOCKER/ {print $2}'); do
      iptables -t "$table" -F "$chain" 2>/dev/null || true
    done
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1=="-N" && $2 ~ /^DOCKER/ {print $2}'); do
      iptables -t "$table" -X "$chain" 2>/dev/null && log "removed iptables chain $table/$chain"
    done
  done
fi
if [ -f "$D/iptables.before" ] && ! pgrep -x dockerd >/dev/null; then
  for table in filter nat; do
    nft list table ip "$table" >/dev/null 2>&1 || continue
    if grep -q "^\*$table" "$D/iptables.before"; then
      # dockerd sets the FORWARD policy to DROP: restore the previous one
      if [ "$table" = filter ]; then
        pol=$(awk '/^\*filter/{f=1} f && /^:FORWARD /{print $2; exit}' "$D/iptables.before")
        iptables -P FORWARD "${pol:-ACCEPT}" && log "FORWARD policy restored to ${pol:-ACCEPT}"
      fi
    elif [ -z "$(iptables -t "$table" -S 2>/dev/null | grep -v -E '^-P [A-Z]+ (ACCEPT|DROP)$')" ]; then
      # the table did not exist before dockerd and holds nothing now: delete it
      nft delete table ip "$table" && log "deleted (empty) iptables table $table"
    fi
  done
  rm -f "$D/iptables.before"
fi
if [ -f "$D/ip_forward.orig" ]; then
  echo "$(cat "$D/ip_forward.orig")" >/proc/sys/net/ipv4/ip_forward && log "ip_forward restored to $(cat "$D/ip_forward.orig")"
  rm -f "$D/ip_forward.orig"
fi
# exec-root holds only runtime state (netns mounts, sockets)
if [ -d "$DOCKER_EXEC_ROOT" ]; then
  grep -F " $DOCKER_EXEC_ROOT/" /proc/self/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$DOCKER_EXEC_ROOT"
fi
rm -f "$DOCKER_SOCK"
if [ "${1:-}" = --purge ]; then
  log "removing dockerd data root $D/data"
  grep -F " $D/data/" /proc/self/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$D/data"
fi
log "down in $(( $(date +%s) - T0 ))s"
