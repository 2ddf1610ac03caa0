# Shared settings of up.sh / down.sh / verify.sh (sourced, not run).
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${CHSTACK_CACHE:-$HOME/.cache/chstack}
C=$CACHE/cluster
CLUSTER=${CHSTACK_CLUSTER_NAME:-chstack-e2e}
NODE_IMAGE=chstack-standin/kind-node:v1.34.4

# the private dockerd that runs kind's node containers
D=$C/docker
DOCKER_SOCK=/run/chstack-docker.sock
DOCKER_EXEC_ROOT=/run/chstack-docker
DOCKER_BIP=${CHSTACK_DOCKER_BIP:-10.213.0.1/24}
DOCKER_POOL=${CHSTACK_DOCKER_POOL:-10.215.0.0/16}
KIND_NET=chstack-kind
KIND_BRIDGE=br-chstack-kind
KIND_SUBNET=${CHSTACK_KIND_SUBNET:-10.214.0.0/24}
KIND_GW=${KIND_SUBNET%.*}.1
POD_SUBNET=${CHSTACK_POD_SUBNET:-10.244.0.0/16}
SERVICE_SUBNET=${CHSTACK_SERVICE_SUBNET:-10.96.0.0/16}
export DOCKER_HOST=unix://$DOCKER_SOCK
export KIND_EXPERIMENTAL_DOCKER_NETWORK=$KIND_NET
export KUBECONFIG=$C/kubeconfig-$CLUSTER

log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

docker_up() { docker version >/dev/null 2>&1; }
