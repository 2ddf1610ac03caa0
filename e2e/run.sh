#!/usr/bin/env bash
# `npm run test:e2e`: the program on a real Kubernetes with the real Pulumi engine.
#   1. the toolchain, the stand-in images and the kind node image (built when missing, cached);
#   2. a kind cluster `chstack` on a private dockerd (e2e/cluster/up.sh), 3 workers: the 2x3 step needs
#      one node per replica (required anti-affinity);
#   3. e2e/suite.test.ts: `npm run kind:up`, the checks, 2x2 -> 2x3, destroy, `npm run kind:down`;
#   4. e2e/cluster/down.sh, on every exit: the cluster, dockerd, its bridges and iptables rules.
# CHSTACK_KEEP_ON_FAILURE=1 keeps the cluster after a failure, to look at it (then run e2e/cluster/down.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
[ "$(id -u)" = 0 ] || { echo "npm run test:e2e: run as root (it starts dockerd and a kind cluster)" >&2; exit 1; }
export CHSTACK_CLUSTER_NAME=chstack   # the name `npm run kind:up` deploys to (infra/kind/config.ts)
export CHSTACK_KIND_WORKERS=3
CACHE=${CHSTACK_CACHE:-$HOME/.cache/chstack}
phase() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
T0=$(date +%s)

rc=0
finish() {
  if [ "$rc" != 0 ] && [ "${CHSTACK_KEEP_ON_FAILURE:-0}" = 1 ]; then
    phase "FAILED; the cluster is kept (CHSTACK_KEEP_ON_FAILURE=1): e2e/cluster/down.sh removes it"
  else
    phase "teardown: e2e/cluster/down.sh"
    e2e/cluster/down.sh || { phase "teardown failed"; rc=1; }
  fi
  phase "done in $(( $(date +%s) - T0 ))s, exit $rc"
  exit "$rc"
}
trap 'code=$?; [ "$rc" != 0 ] || rc=$code; finish' EXIT
trap 'rc=130; exit 130' INT TERM

t=$(date +%s); phase "toolchain (e2e/toolchain/build.sh)"
BIN=$(e2e/toolchain/build.sh | tail -n 1)
phase "toolchain ready in $(( $(date +%s) - t ))s"
t=$(date +%s); phase "stand-in images (e2e/images/build.sh)"
e2e/images/build.sh >/dev/null
phase "images ready in $(( $(date +%s) - t ))s"
t=$(date +%s); phase "cluster (e2e/cluster/up.sh)"
CHSTACK_KEEP_ON_FAILURE=1 CHSTACK_FRESH_CLUSTER=1 e2e/cluster/up.sh "$CACHE/images/current.tsv"
phase "cluster ready in $(( $(date +%s) - t ))s"

export PATH="$BIN:$PATH" CHSTACK_E2E_TOOLCHAIN_BIN="$BIN"
export DOCKER_HOST=unix:///run/chstack-docker.sock KUBECONFIG="$CACHE/cluster/kubeconfig-$CHSTACK_CLUSTER_NAME"
node --import tsx --test --test-reporter=spec e2e/suite.test.ts || rc=$?
