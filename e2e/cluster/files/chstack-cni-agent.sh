#!/bin/bash
# chstack-cni-agent: a minimal stand-in for kindnetd's routing part (kindnetd's
# module is not served by the Go module proxy). Runs as a hostNetwork DaemonSet
# pod (/kind/manifests/default-cni.yaml), every $INTERVAL seconds:
#  - writes /etc/cni/net.d/10-chstack-ptp.conflist for this node's
#    spec.podCIDR (ptp + host-local, no masquerade: pod IPs stay visible to
#    NetworkPolicy), which makes the node Ready;
#  - routes every other node's podCIDR via that node's InternalIP.
set -u
: "${NODE_NAME:?}" "${CNI_CONF_DIR:=/host/etc/cni/net.d}" "${INTERVAL:=5}"
conf="$CNI_CONF_DIR/10-chstack-ptp.conflist"
log() { echo "$(date -u +%FT%TZ) $*"; }
while :; do
  if nodes=$(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.podCIDR}{" "}{.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}' 2>&1); then
    while read -r name cidr ip; do
      [ -n "$cidr" ] && [ -n "$ip" ] || continue
      if [ "$name" = "$NODE_NAME" ]; then
        want=$(cat <<JSON
{
  "cniVersion": "1.0.0",
  "name": "chstack",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": false,
      "mtu": 1500,
      "ipam": {
        "type": "host-local",
        "dataDir": "/run/cni-ipam-state",
        "routes": [ { "dst": "0.0.0.0/0" } ],
        "ranges": [ [ { "subnet": "$cidr" } ] ]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
)
        if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
          mkdir -p "$CNI_CONF_DIR" && printf '%s\n' "$want" > "$conf.tmp" && mv "$conf.tmp" "$conf" \
            && log "wrote $conf for podCIDR $cidr"
        fi
      else
        cur=$(ip route show "$cidr" 2>/dev/null)
        case "$cur" in
          *"via $ip "*) ;;
          *) ip route replace "$cidr" via "$ip" && log "route $cidr via $ip ($name)" ;;
        esac
      fi
    done <<< "$nodes"
  else
    log "listing nodes failed: $nodes"
  fi
  sleep "$INTERVAL"
done
