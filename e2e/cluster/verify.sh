#!/usr/bin/env bash
# Check a running chstack-e2e cluster (after up.sh): nodes Ready, cluster DNS, a Service
# reaching a pod on another node, a dynamically provisioned PVC, NetworkPolicy enforcement.
# Uses only the preloaded stand-in busybox image, imagePullPolicy: Never.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
TBIN=$("$ROOT/e2e/toolchain/build.sh" kubernetes 2>/dev/null) && export PATH="$TBIN:$PATH"
NS=chstack-verify
BB=docker.io/chstack-standin/busybox:1.35.0
FAIL=0
pass() { log "PASS: $*"; }
fail() { log "FAIL: $*"; FAIL=1; }
k() { kubectl -n "$NS" "$@"; }
# HTTP GET from the client pod with busybox nc (Debian's static busybox wget segfaults: exit 139)
fetch() { k exec client -- sh -c "printf 'GET / HTTP/1.0\\r\\nHost: web\\r\\n\\r\\n' | nc -w 5 $1 80" 2>&1; }

mapfile -t WORKERS < <(kubectl get nodes -l '!node-role.kubernetes.io/control-plane' -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
[ "${#WORKERS[@]}" -ge 2 ] || die "need 2 worker nodes, have: ${WORKERS[*]}"
if kubectl wait --for=condition=Ready node --all --timeout=60s >/dev/null; then
  pass "nodes Ready: $(kubectl get nodes --no-headers | awk '{print $1"="$2}' | tr '\n' ' ')"
else fail "nodes not Ready"; fi

kubectl delete namespace "$NS" --wait=true --ignore-not-found >/dev/null
kubectl create namespace "$NS" >/dev/null
trap 'kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1' EXIT

k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: { name: web, labels: { app: web } }
spec:
  nodeName: ${WORKERS[0]}
  containers:
    - name: web
      image: $BB
      imagePullPolicy: Never
      command: ["sh", "-c", "mkdir -p /www && echo hello-from-\$(hostname) > /www/index.html && exec httpd -f -p 8080 -h /www"]
      ports: [{ containerPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Pod
metadata: { name: client, labels: { app: client } }
spec:
  nodeName: ${WORKERS[1]}
  containers:
    - { name: client, image: $BB, imagePullPolicy: Never, command: ["sleep", "3600"] }
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: data }
spec:
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: 64Mi } }
---
apiVersion: v1
kind: Pod
metadata: { name: writer }
spec:
  restartPolicy: Never
  containers:
    - name: writer
      image: $BB
      imagePullPolicy: Never
      command: ["sh", "-c", "echo persisted-\$(date +%s) > /data/file && cat /data/file"]
      volumeMounts: [{ name: data, mountPath: /data }]
  volumes:
    - { name: data, persistentVolumeClaim: { claimName: data } }
EOF
k wait --for=condition=Ready pod/web pod/client --timeout=120s >/dev/null || fail "test pods not Ready"

# DNS
if out=$(k exec client -- nslookup kubernetes.default.svc.cluster.local 2>&1) && grep -q "Address.*${SERVICE_SUBNET%.*/*}" <<<"$out"; then
  pass "DNS: kubernetes.default.svc.cluster.local -> $(grep -A1 'Name:' <<<"$out" | awk '/Address/{print $2}' | tr '\n' ' ')"
else fail "DNS: $out"; fi
if out=$(k exec client -- nslookup web.$NS.svc.cluster.local 2>&1) && grep -q "Address.*${SERVICE_SUBNET%.*/*}" <<<"$out"; then pass "DNS: web.$NS.svc.cluster.local resolves"; else fail "DNS web: $out"; fi

# Service across nodes
web_node=$(k get pod web -o jsonpath='{.spec.nodeName}'); client_node=$(k get pod client -o jsonpath='{.spec.nodeName}')
if out=$(fetch web.$NS.svc.cluster.local) && grep -q hello-from-web <<<"$out"; then
  out=$(tail -1 <<<"$out")
  pass "Service: client on $client_node -> web.$NS (ClusterIP $(k get svc web -o jsonpath='{.spec.clusterIP}')) -> pod on $web_node: $out"
else fail "Service: $out"; fi

# PVC
if k wait --for=jsonpath='{.status.phase}'=Succeeded pod/writer --timeout=120s >/dev/null; then
  pv=$(k get pvc data -o jsonpath='{.spec.volumeName}')
  pass "PVC: data $(k get pvc data -o jsonpath='{.status.phase}') to $pv (class $(k get pvc data -o jsonpath='{.spec.storageClassName}'), $(kubectl get pv "$pv" -o jsonpath='{.spec.hostPath.path}{.spec.local.path}') on $(k get pod writer -o jsonpath='{.spec.nodeName}')); writer wrote: $(k logs writer)"
else fail "PVC: $(k get pvc data --no-headers 2>&1) $(k describe pod writer | tail -5)"; fi

# NetworkPolicy: deny all ingress to app=web
if ! kubectl -n kube-system get daemonset kube-network-policies >/dev/null 2>&1; then
  log "SKIP: NetworkPolicy: kube-network-policies not installed (up.sh found no nftables queue support in the kernel)"
  [ $FAIL = 0 ] && log "all checks passed (NetworkPolicy skipped)" || log "some checks FAILED"
  exit $FAIL
fi
k apply -f - >/dev/null <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: deny-web-ingress }
spec:
  podSelector: { matchLabels: { app: web } }
  policyTypes: [Ingress]
EOF
sleep 3
if fetch web.$NS.svc.cluster.local | grep -q hello-from-web; then
  fail "NetworkPolicy: deny-web-ingress NOT enforced (client still reaches web)"
else
  pass "NetworkPolicy: deny-web-ingress enforced (client times out)"
  k delete networkpolicy deny-web-ingress >/dev/null; sleep 3
  if fetch web.$NS.svc.cluster.local | grep -q hello-from-web; then pass "NetworkPolicy: removed, traffic flows again"
  else fail "NetworkPolicy: still blocked after delete"; fi
fi
[ $FAIL = 0 ] && log "all checks passed" || log "some checks FAILED"
exit $FAIL
