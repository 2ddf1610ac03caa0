#!/usr/bin/env bash
# Verifies the stand-in images without Kubernetes, on a private containerd (Debian's 1.6, its own socket,
# root and state under the cache; no CRI plugin, no CNI) and runc:
#   1. every archive from build.sh imports with `ctr images import --all-platforms --digests` (what
#      `kind load image-archive` runs on each node) under its chstack-standin/<name>:<tag> name;
#   2. image checks: ClickHouse answers SELECT version() as uid 101 with a minimal config.d listen file;
#      Postgres initialises with POSTGRES_* and takes a password login over TCP; ZooKeeper serves `srvr`
#      with a zoo.cfg in /conf; node prints its version as uid 1000;
#   3. the stack: `chstack render k8s` of verify-stack.yaml (1 x 1, ZooKeeper, Postgres), each workload's
#      pod run as its spec says (pods.mjs: argv, env, user and fsGroup, volumes, readiness probes, the
#      memory limit), in one network namespace of its own with the Services' names on 127.0.0.1: ZooKeeper,
#      Postgres, the ClickHouse init container and server, then the schema Job, whose exit code must be 0.
# Every process runs as the pod's user with no capabilities (setpriv), memory-limited, in network namespaces
# made here (loopback only). Everything started is stopped by its id on exit, and the namespace removed.
#
#   e2e/images/verify.sh [--keep]      (--keep: leave the containerd root and logs under the cache)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE_ROOT="${CHSTACK_CACHE:-$HOME/.cache/chstack}"
OUT="$CACHE_ROOT/images"
V="$OUT/verify"
SOCK="$V/containerd.sock"
CNS=chstack-verify
NETNS="chstack-verify-$$"
KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1

log() { printf '[verify %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); log "ok: $*"; }
bad() { FAIL=$((FAIL + 1)); log "FAILED: $*"; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root"
for tool in containerd ctr runc; do
  command -v "$tool" >/dev/null || { log "installing containerd and runc with apt-get"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q containerd runc >/dev/null; break; }
done

# ---------------------------------------------------------------------------------------------------
CONTAINERD_PID=""
STARTED=()      # container ids
NETNS_MADE=()
ctr_() { ctr -a "$SOCK" -n "$CNS" "$@"; }

stop_all() {
  local rc=$? id pid p
  set +e
  for id in "${STARTED[@]}"; do
    ctr_ task kill -s SIGKILL "$id" >/dev/null 2>&1
  done
  sleep 1
  for id in "${STARTED[@]}"; do
    ctr_ task delete -f "$id" >/dev/null 2>&1
    ctr_ container delete "$id" >/dev/null 2>&1
  done
  if [ -n "$CONTAINERD_PID" ]; then
    kill "$CONTAINERD_PID" 2>/dev/null; wait "$CONTAINERD_PID" 2>/dev/null
  fi
  # Shims of this containerd outlive it: find them by this socket in their command line, end them by pid.
  for p in /proc/[0-9]*; do
    pid="${p#/proc/}"
    if tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -qF -- "-address $SOCK "; then kill -9 "$pid" 2>/dev/null; fi
  done
  for p in "${NETNS_MADE[@]}"; do ip netns delete "$p" 2>/dev/null; done
  # What runc and the shims keep under /run for this containerd namespace, and its (empty) cgroups.
  rm -rf "/run/containerd/runc/$CNS"
  rmdir /run/containerd/runc /run/containerd/fifo /run/containerd/s /run/containerd 2>/dev/null
  for p in /sys/fs/cgroup/*/"$CNS"; do [ -d "$p" ] && find "$p" -depth -type d -exec rmdir {} + 2>/dev/null; done
  # Mounts containerd left under its root or state.
  grep -F " $V/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  if [ "$KEEP" != 1 ]; then rm -rf "$V"; else log "kept $V"; fi
  log "$PASS passed, $FAIL failed"
  [ "$rc" = 0 ] && [ "$FAIL" -gt 0 ] && rc=1
  exit "$rc"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

start_containerd() {
  rm -rf "$V"; mkdir -p "$V/root" "$V/state" "$V/logs"
  cat > "$V/config.toml" <<EOF
version = 2
root = "$V/root"
state = "$V/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$V/opt"
EOF
  containerd --config "$V/config.toml" > "$V/logs/containerd.log" 2>&1 &
  CONTAINERD_PID=$!
  local i
  for i in $(seq 50); do ctr -a "$SOCK" version >/dev/null 2>&1 && break; sleep 0.2; done
  ctr -a "$SOCK" version >/dev/null || die "containerd did not start (log: $V/logs/containerd.log)"
  log "containerd $(containerd --version | awk '{print $3}') on $SOCK (pid $CONTAINERD_PID)"
}

# new_netns SUFFIX: a network namespace with only loopback, up; its name in $ns.
new_netns() {
  ns="$NETNS-$1"
  ip netns add "$ns"; NETNS_MADE+=("$ns")
  ip -n "$ns" link set lo up
}

# as_user UID GID [FSGROUP]: the argv prefix that runs a process as the pod would, no capabilities left.
as_user() {
  local groups="$2"; [ -n "${3:-}" ] && groups="$2,$3"
  echo setpriv --reuid="$1" --regid="$2" --groups="$groups" --inh-caps=-all --bounding-set=-all --no-new-privs --
}

# run_detached ID IMAGE NETNS MEM HOSTS [ctr run options...] -- ARGV...
run_detached() {
  local id="$1" image="$2" netns="$3" mem="$4" hosts="$5"; shift 5
  local opts=()
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done; shift
  STARTED+=("$id")
  ctr_ run -d --log-uri "file://$V/logs/$id.log" --memory-limit "$mem" --with-ns "network:/var/run/netns/$netns" \
    --mount "type=bind,src=$hosts,dst=/etc/hosts,options=rbind:ro" "${opts[@]}" "$image" "$id" "$@" >/dev/null
}

# run_to_end ID IMAGE NETNS MEM HOSTS TIMEOUT [ctr run options...] -- ARGV...: exit code of the process.
run_to_end() {
  local id="$1" image="$2" netns="$3" mem="$4" hosts="$5" timeout="$6"; shift 6
  local opts=() rc=0
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done; shift
  STARTED+=("$id")
  timeout "$timeout" ctr -a "$SOCK" -n "$CNS" run --rm --memory-limit "$mem" --with-ns "network:/var/run/netns/$netns" \
    --mount "type=bind,src=$hosts,dst=/etc/hosts,options=rbind:ro" "${opts[@]}" "$image" "$id" "$@" \
    > "$V/logs/$id.log" 2>&1 < /dev/null || rc=$?
  return "$rc"
}

in_c() { local id="$1"; shift; ctr_ task exec --exec-id "x$RANDOM$RANDOM" "$id" "$@"; }

wait_for() { # wait_for SECONDS DESCRIPTION CMD... (true once CMD succeeds within SECONDS)
  local t="$1" i; shift 2  # $2 names what is awaited, for the reader
  for ((i = 0; i < t * 2; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  return 1
}

# ---------------------------------------------------------------------------------------------------
log "building (or reusing) the images"
"$HERE/build.sh" > "$OUT/verify-build.log" 2>&1 || { tail -n 20 "$OUT/verify-build.log" >&2; die "build.sh failed"; }
declare -A ARCHIVE
while IFS=$'\t' read -r ref path; do ARCHIVE[$ref]="$path"; done < "$OUT/current.tsv"
CH=chstack-standin/clickhouse-server:18.16 ZK=chstack-standin/zookeeper:3.8 PG=chstack-standin/postgres:15
NODE="$(printf '%s\n' "${!ARCHIVE[@]}" | grep '^chstack-standin/node:' | head -n 1)"
for ref in "$CH" "$ZK" "$PG" "$NODE"; do [ -n "$ref" ] && [ -s "${ARCHIVE[$ref]:-}" ] || die "no archive for $ref in $OUT/current.tsv"; done

start_containerd

# 1. Import, as kind does.
for ref in "$CH" "$ZK" "$PG" "$NODE"; do
  t0=$SECONDS
  ilog="$V/logs/import-${ref//[\/:]/_}.log"
  if ctr_ images import --all-platforms --digests "${ARCHIVE[$ref]}" > "$ilog" 2>&1 \
    && ctr_ images ls -q | grep -qxF "docker.io/$ref"; then
    ok "import ${ARCHIVE[$ref]##*/} -> docker.io/$ref ($((SECONDS - t0)) s)"
  else
    bad "import of ${ARCHIVE[$ref]} (log: $ilog)"; cat "$ilog" >&2; ctr_ images ls -q >&2
  fi
done
IMG() { echo "docker.io/$1"; }
# containerd's default spec (ctr run) mounts a tmpfs on /run; the CRI plugin (the kubelet's runtime) does
# not, so a pod sees the image's /run. The one image with something there is Postgres (/run/postgresql,
# its socket directory): give its containers that directory as the image has it.
run_dir_for() { # run_dir_for IMAGE ID: ctr run options
  [ "$1" = "$PG" ] || return 0
  mkdir -p "$V/run/$2"; chown 999:999 "$V/run/$2"; chmod 3777 "$V/run/$2"
  echo "--mount type=bind,src=$V/run/$2,dst=/run/postgresql,options=rbind:rw"
}

HOSTS_LOCAL="$V/hosts-local"; printf '127.0.0.1 localhost\n' > "$HOSTS_LOCAL"
GIB=$((1024 * 1024 * 1024))

# 2a. node as uid 1000.
new_netns node
if out="$(ctr -a "$SOCK" -n "$CNS" run --rm --memory-limit $((256 * 1024 * 1024)) --with-ns "network:/var/run/netns/$ns" \
  "$(IMG "$NODE")" t-node $(as_user 1000 1000) node -e 'console.log(process.version, process.getuid(), process.getgid())' 2>&1)"; then
  ok "node: $out"
else
  bad "node: $out"
fi

# 2b. ClickHouse, as uid 101, the image's entrypoint, a config.d with only a listen file.
new_netns ch
mkdir -p "$V/ch/config.d" "$V/ch/users.d" "$V/ch/data" "$V/ch/logs"
cat > "$V/ch/config.d/listen.xml" <<'EOF'
<yandex><listen_host>0.0.0.0</listen_host></yandex>
EOF
chown root:101 "$V/ch/data" "$V/ch/logs"; chmod 2775 "$V/ch/data" "$V/ch/logs"
run_detached t-ch "$(IMG "$CH")" "$ns" "$GIB" "$HOSTS_LOCAL" --env CLICKHOUSE_SKIP_USER_SETUP=1 \
  --mount "type=bind,src=$V/ch/config.d,dst=/etc/clickhouse-server/config.d,options=rbind:ro" \
  --mount "type=bind,src=$V/ch/users.d,dst=/etc/clickhouse-server/users.d,options=rbind:ro" \
  --mount "type=bind,src=$V/ch/data,dst=/var/lib/clickhouse,options=rbind:rw" \
  --mount "type=bind,src=$V/ch/logs,dst=/var/log/clickhouse-server,options=rbind:rw" \
  -- $(as_user 101 101 101) /entrypoint.sh
if wait_for 60 "ClickHouse" in_c t-ch $(as_user 101 101) clickhouse-client --host 127.0.0.1 -q 'SELECT 1'; then
  v="$(in_c t-ch $(as_user 101 101) clickhouse-client --host 127.0.0.1 -q 'SELECT version()')"
  who="$(in_c t-ch bash -c 'stat -c %u:%g /var/lib/clickhouse/metadata; awk "/^Uid:/{print \$2}" /proc/1/status')"
  ping="$(ip netns exec "$ns" curl -fsS http://127.0.0.1:8123/ping)"
  ok "ClickHouse: SELECT version() = $v; /ping = $ping; data and server uid: $(echo $who)"
else
  bad "ClickHouse did not answer (log: $V/logs/t-ch.log)"; tail -n 20 "$V/logs/t-ch.log" >&2 || true
fi
ctr_ task kill -s SIGTERM t-ch >/dev/null 2>&1 || true

# 2c. ClickHouse, the image alone (no mounts, as root): the entrypoint steps down to 101 and listens on 0.0.0.0.
new_netns ch2
run_detached t-ch-root "$(IMG "$CH")" "$ns" "$GIB" "$HOSTS_LOCAL" -- /entrypoint.sh
if wait_for 60 "ClickHouse (root)" ip netns exec "$ns" curl -fsS http://127.0.0.1:8123/ping; then
  uid="$(in_c t-ch-root awk '/^Uid:/{print $2}' /proc/1/status)"
  listen="$(ip netns exec "$ns" ss -Hltn 'sport = :8123' | awk '{print $4}' | tr '\n' ' ')"
  [ "$uid" = 101 ] && [[ "$listen" == *0.0.0.0:8123* ]] && ok "ClickHouse as root: server uid $uid, listening on $listen" \
    || bad "ClickHouse as root: uid $uid, listening on $listen"
  # Without CLICKHOUSE_SKIP_USER_SETUP the entrypoint limits default to localhost, as the official one does.
  in_c t-ch-root test -f /etc/clickhouse-server/users.d/default-user.xml && ok "ClickHouse: users.d/default-user.xml written without CLICKHOUSE_SKIP_USER_SETUP" \
    || bad "ClickHouse: no users.d/default-user.xml without CLICKHOUSE_SKIP_USER_SETUP"
else
  bad "ClickHouse (as root, no mounts) did not answer (log: $V/logs/t-ch-root.log)"; tail -n 20 "$V/logs/t-ch-root.log" >&2 || true
fi
ctr_ task kill -s SIGTERM t-ch-root >/dev/null 2>&1 || true

# 2d. Postgres as uid 999 with fsGroup 999, -c port=5433.
new_netns pg
mkdir -p "$V/pg/data"; chown root:999 "$V/pg/data"; chmod 2775 "$V/pg/data"
run_detached t-pg "$(IMG "$PG")" "$ns" "$GIB" "$HOSTS_LOCAL" $(run_dir_for "$PG" t-pg) \
  --env POSTGRES_USER=chk --env POSTGRES_DB=chkdb --env 'POSTGRES_PASSWORD=s3cr3t pw' --env PGDATA=/var/lib/postgresql/data/pgdata \
  --mount "type=bind,src=$V/pg/data,dst=/var/lib/postgresql/data,options=rbind:rw" \
  -- $(as_user 999 999 999) docker-entrypoint.sh -c port=5433
if wait_for 60 "Postgres" in_c t-pg $(as_user 999 999) pg_isready -h 127.0.0.1 -p 5433 -U chk -d chkdb; then
  q="$(in_c t-pg env 'PGPASSWORD=s3cr3t pw' $(as_user 999 999) psql -h 127.0.0.1 -p 5433 -U chk -d chkdb -Atc \
    "SELECT current_user || ' ' || current_database() || ' super=' || usesuper FROM pg_user WHERE usename = current_user")"
  hba="$(in_c t-pg grep -E '^host all all all' /var/lib/postgresql/data/pgdata/pg_hba.conf)"
  enc="$(in_c t-pg env 'PGPASSWORD=s3cr3t pw' $(as_user 999 999) psql -h 127.0.0.1 -p 5433 -U chk -d chkdb -Atc 'SHOW password_encryption')"
  # initdb trusts 127.0.0.1 (as in the official image); a client from another address (127.0.0.2 here,
  # standing for the pod network) meets the `host all all all` line and must give the password.
  ip -n "$ns" addr add 127.0.0.2/32 dev lo
  if in_c t-pg env PGPASSWORD=wrong $(as_user 999 999) psql -h 127.0.0.2 -p 5433 -U chk -d chkdb -Atc 'SELECT 1' >/dev/null 2>&1; then
    bad "Postgres took a wrong password from 127.0.0.2"
  elif r="$(in_c t-pg env 'PGPASSWORD=s3cr3t pw' $(as_user 999 999) psql -h 127.0.0.2 -p 5433 -U chk -d chkdb -Atc "SELECT auth_method FROM pg_hba_file_rules WHERE address = 'all'")"; then
    ok "Postgres: $q; pg_hba '$hba' ($r); password_encryption $enc; from 127.0.0.2 a wrong password is refused and the right one taken"
  else
    bad "Postgres: the right password from 127.0.0.2 was refused: $r"
  fi
  ip netns exec "$ns" ss -Hltn | grep -q '0.0.0.0:5433' && ok "Postgres listens on 0.0.0.0:5433" || bad "Postgres does not listen on 0.0.0.0:5433"
else
  bad "Postgres did not become ready (log: $V/logs/t-pg.log)"; tail -n 30 "$V/logs/t-pg.log" >&2 || true
fi
ctr_ task kill -s SIGINT t-pg >/dev/null 2>&1 || true

# 2e. ZooKeeper as uid 1000: zoo.cfg in /conf (read-only), the program's command, srvr.
new_netns zk
mkdir -p "$V/zk/conf" "$V/zk/data"; chown root:1000 "$V/zk/data"; chmod 2775 "$V/zk/data"
printf 'tickTime=2000\ndataDir=/data\nclientPort=2181\nclientPortAddress=0.0.0.0\nadmin.enableServer=false\n4lw.commands.whitelist=srvr,ruok\n' > "$V/zk/conf/zoo.cfg"
run_detached t-zk "$(IMG "$ZK")" "$ns" "$GIB" "$HOSTS_LOCAL" --env HOSTNAME=zk-t-0 --env 'JVMFLAGS=-Xmx128m -Xms64m' --env ZOO_LOG4J_PROP=INFO,CONSOLE \
  --mount "type=bind,src=$V/zk/conf,dst=/conf,options=rbind:ro" --mount "type=bind,src=$V/zk/data,dst=/data,options=rbind:rw" \
  -- $(as_user 1000 1000 1000) bash -c 'echo $(( ${HOSTNAME##*-} + 1 )) > /data/myid && exec zkServer.sh --config /conf start-foreground'
probe='exec 3<>/dev/tcp/127.0.0.1/2181 && echo srvr >&3 && grep -q Mode <&3'
if wait_for 60 "ZooKeeper" in_c t-zk $(as_user 1000 1000) bash -c "$probe"; then
  mode="$(in_c t-zk bash -c 'exec 3<>/dev/tcp/127.0.0.1/2181 && echo srvr >&3 && cat <&3' | grep -E 'version|Mode' | tr '\n' ' ')"
  xmx="$(in_c t-zk bash -c 'tr "\0" " " < /proc/1/cmdline' | grep -o -- '-Xmx128m' || true)"
  ok "ZooKeeper: $mode; JVMFLAGS reached the JVM: ${xmx:-no}; myid $(cat "$V/zk/data/myid")"
  grep -q 'INFO' "$V/logs/t-zk.log" && ok "ZooKeeper logs at INFO on the console" || bad "ZooKeeper wrote no INFO lines to the console"
  # The ClickHouse pod's init container runs zkCli.sh from this image as uid 101.
  if in_c t-zk $(as_user 101 101) bash -c "set -e; zkCli.sh -server 127.0.0.1:2181 create /chk '' >/dev/null 2>&1 || zkCli.sh -server 127.0.0.1:2181 stat /chk >/dev/null; zkCli.sh -server 127.0.0.1:2181 stat /chk >/dev/null"; then
    ok "ZooKeeper: zkCli.sh create/stat as uid 101"
  else
    bad "ZooKeeper: zkCli.sh as uid 101"
  fi
else
  bad "ZooKeeper did not serve (log: $V/logs/t-zk.log)"; tail -n 30 "$V/logs/t-zk.log" >&2 || true
fi
ctr_ task kill -s SIGTERM t-zk >/dev/null 2>&1 || true

# 2f. ZooKeeper, the image alone as root: its entrypoint writes zoo.cfg and myid, steps down to 1000.
new_netns zk2
run_detached t-zk-root "$(IMG "$ZK")" "$ns" "$GIB" "$HOSTS_LOCAL" --env 'JVMFLAGS=-Xmx128m' --env ZOO_4LW_COMMANDS_WHITELIST=srvr -- /docker-entrypoint.sh zkServer.sh start-foreground
if wait_for 60 "ZooKeeper (root)" in_c t-zk-root bash -c "$probe"; then
  uid="$(in_c t-zk-root awk '/^Uid:/{print $2}' /proc/1/status)"
  [ "$uid" = 1000 ] && in_c t-zk-root test -f /conf/zoo.cfg -a -f /data/myid && ok "ZooKeeper as root: entrypoint wrote /conf/zoo.cfg and /data/myid, server uid $uid" \
    || bad "ZooKeeper as root: server uid $uid"
else
  bad "ZooKeeper (as root, no mounts) did not serve (log: $V/logs/t-zk-root.log)"; tail -n 20 "$V/logs/t-zk-root.log" >&2 || true
fi
ctr_ task kill -s SIGTERM t-zk-root >/dev/null 2>&1 || true

# ---------------------------------------------------------------------------------------------------
# 3. The stack, from the program's own render.
log "stack: chstack render k8s of verify-stack.yaml"
RENDER="$V/render"; rm -rf "$RENDER"
(cd "$REPO" && timeout 300 npx --no-install tsx cli/main.ts render k8s -c "$HERE/verify-stack.yaml" -s verify -o "$RENDER") > "$V/logs/render.log" 2>&1 \
  || { cat "$V/logs/render.log" >&2; die "render failed"; }
# The image configs the kubelet would combine with each container's command/args.
echo '{}' > "$V/images.json"
for ref in "$CH" "$ZK" "$PG" "$NODE"; do
  cfg="$(tar -xOf "${ARCHIVE[$ref]}" manifest.json | jq -r '.[0].Config')"
  tar -xOf "${ARCHIVE[$ref]}" "$cfg" | jq --arg ref "$ref" --slurpfile all "$V/images.json" \
    '$all[0] + {($ref): {Entrypoint: .config.Entrypoint, Cmd: .config.Cmd}}' > "$V/images.json.new"
  mv "$V/images.json.new" "$V/images.json"
done
PODS="$V/pods"; mkdir -p "$PODS"
node "$HERE/pods.mjs" "$RENDER" "$PODS" "$V/images.json" >&2
PLAN="$PODS/plan.json"
new_netns stack
HOSTS_STACK="$V/hosts-stack"
{ echo "127.0.0.1 localhost"; jq -r '.hosts[] | "127.0.0.1 " + .' "$PLAN"; } > "$HOSTS_STACK"

# Start one workload's pod: volumes owned as the kubelet leaves them (fsGroup), init containers to the end,
# then the containers, detached. Prints nothing; records failures.
start_pod() {
  local w="$1" fsg pod n i c kind host
  fsg="$(jq -r --argjson w "$w" '.plan[$w].fsGroup // empty' "$PLAN")"
  pod="$(jq -r --argjson w "$w" '.plan[$w].pod' "$PLAN")"
  while IFS=$'\t' read -r kind host; do
    chown -R "root:${fsg:-0}" "$host"
    if [ "$kind" = files ]; then chmod 755 "$host"; find "$host" -type f -exec chmod 644 {} +
    else chmod 2777 "$host"; [ "$kind" = pvc ] && chmod 2775 "$host"; fi
  done < <(jq -r --argjson w "$w" '.plan[$w].volumes[] | [.kind, .host] | @tsv' "$PLAN")
  n="$(jq --argjson w "$w" '.plan[$w].containers | length' "$PLAN")"
  for ((i = 0; i < n; i++)); do
    c="$(jq -c --argjson w "$w" --argjson i "$i" '.plan[$w].containers[$i]' "$PLAN")"
    local name image uid gid mem init opts=() argv=() id
    name="$(jq -r .name <<< "$c")"; image="$(jq -r .image <<< "$c")"; init="$(jq -r .init <<< "$c")"
    uid="$(jq -r .uid <<< "$c")"; gid="$(jq -r .gid <<< "$c")"; mem="$(jq -r '.memory // 1073741824' <<< "$c")"
    while IFS= read -r -d '' e; do opts+=(--env "$e"); done < <(jq -j '.env | to_entries[] | "\(.key)=\(.value)\u0000"' <<< "$c")
    while IFS=$'\t' read -r src dst ro; do
      opts+=(--mount "type=bind,src=$src,dst=$dst,options=rbind:$([ "$ro" = true ] && echo ro || echo rw)")
    done < <(jq -r '.mounts[] | [.host, .path, .readOnly] | @tsv' <<< "$c")
    while IFS= read -r -d '' a; do argv+=("$a"); done < <(jq -j '.argv[] | "\(.)\u0000"' <<< "$c")
    id="$pod-$name"
    opts+=($(run_dir_for "$image" "$id"))
    if [ "$init" = true ]; then
      if run_to_end "$id" "$(IMG "$image")" "$ns" "$mem" "$HOSTS_STACK" 180 "${opts[@]}" -- $(as_user "$uid" "$gid" "$fsg") "${argv[@]}"; then
        ok "stack: init container $id (uid $uid) completed"
      else
        bad "stack: init container $id failed (log: $V/logs/$id.log)"; tail -n 20 "$V/logs/$id.log" >&2; return 1
      fi
    else
      run_detached "$id" "$(IMG "$image")" "$ns" "$mem" "$HOSTS_STACK" "${opts[@]}" -- $(as_user "$uid" "$gid" "$fsg") "${argv[@]}"
    fi
  done
}

# ready ID PROBE_JSON UID GID: one probe, as the kubelet would run it.
probe_once() {
  local id="$1" p="$2" uid="$3" gid="$4" argv=()
  if jq -e '.exec' <<< "$p" >/dev/null; then
    while IFS= read -r -d '' a; do argv+=("$a"); done < <(jq -j '.exec.command[] | "\(.)\u0000"' <<< "$p")
    in_c "$id" $(as_user "$uid" "$gid") "${argv[@]}"
  elif jq -e '.httpGet' <<< "$p" >/dev/null; then
    ip netns exec "$ns" curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$(jq -r .httpGet.port <<< "$p")$(jq -r .httpGet.path <<< "$p")"
  elif jq -e '.tcpSocket' <<< "$p" >/dev/null; then
    ip netns exec "$ns" bash -c "exec 3<>/dev/tcp/127.0.0.1/$(jq -r .tcpSocket.port <<< "$p")"
  else
    return 1
  fi
}

wait_pod_ready() {
  local w="$1" n i c id pod t0=$SECONDS
  pod="$(jq -r --argjson w "$w" '.plan[$w].pod' "$PLAN")"
  n="$(jq --argjson w "$w" '.plan[$w].containers | length' "$PLAN")"
  for ((i = 0; i < n; i++)); do
    c="$(jq -c --argjson w "$w" --argjson i "$i" '.plan[$w].containers[$i]' "$PLAN")"
    [ "$(jq -r .init <<< "$c")" = true ] && continue
    id="$pod-$(jq -r .name <<< "$c")"
    local uid gid kind
    uid="$(jq -r .uid <<< "$c")"; gid="$(jq -r .gid <<< "$c")"
    for kind in readiness liveness; do
      local p; p="$(jq -c ".$kind" <<< "$c")"
      [ "$p" = null ] && continue
      if wait_for 120 "$id $kind" probe_once "$id" "$p" "$uid" "$gid"; then
        ok "stack: $id $kind probe passes ($((SECONDS - t0)) s) [$(jq -c 'del(.periodSeconds,.timeoutSeconds,.failureThreshold,.initialDelaySeconds)' <<< "$p")]"
      else
        bad "stack: $id $kind probe never passed (log: $V/logs/$id.log)"; tail -n 30 "$V/logs/$id.log" >&2 || true; return 1
      fi
    done
  done
}

index_of() { jq --arg c "$1" '[.plan[].component] | index($c)' "$PLAN"; }
ZKW="$(index_of zookeeper)"; PGW="$(index_of postgres)"; CHW="$(index_of clickhouse)"; JOBW="$(index_of schema)"
[ "$ZKW" != null ] && [ "$PGW" != null ] && [ "$CHW" != null ] && [ "$JOBW" != null ] || die "the render lacks a workload: $(jq -c '[.plan[].component]' "$PLAN")"

stack_ok=1
start_pod "$ZKW" && start_pod "$PGW" || stack_ok=0
[ "$stack_ok" = 1 ] && wait_pod_ready "$ZKW" || stack_ok=0
[ "$stack_ok" = 1 ] && start_pod "$CHW" || stack_ok=0
[ "$stack_ok" = 1 ] && wait_pod_ready "$PGW" && wait_pod_ready "$CHW" || stack_ok=0
if [ "$stack_ok" = 1 ]; then
  # The schema Job: one container, to the end; its exit code is the verdict, as for Kubernetes.
  jobpod="$(jq -r --argjson w "$JOBW" '.plan[$w].pod' "$PLAN")"
  c="$(jq -c --argjson w "$JOBW" '.plan[$w].containers[0]' "$PLAN")"
  opts=() argv=()
  while IFS= read -r -d '' e; do opts+=(--env "$e"); done < <(jq -j '.env | to_entries[] | "\(.key)=\(.value)\u0000"' <<< "$c")
  while IFS=$'\t' read -r src dst ro; do opts+=(--mount "type=bind,src=$src,dst=$dst,options=rbind:ro"); chmod 755 "$src"; find "$src" -type f -exec chmod 644 {} +; done \
    < <(jq -r '.mounts[] | [.host, .path, .readOnly] | @tsv' <<< "$c")
  while IFS= read -r -d '' a; do argv+=("$a"); done < <(jq -j '.argv[] | "\(.)\u0000"' <<< "$c")
  t0=$SECONDS
  if run_to_end "$jobpod" "$(IMG "$(jq -r .image <<< "$c")")" "$ns" "$(jq -r '.memory // 268435456' <<< "$c")" "$HOSTS_STACK" 600 "${opts[@]}" \
    -- $(as_user "$(jq -r .uid <<< "$c")" "$(jq -r .gid <<< "$c")") "${argv[@]}"; then
    ok "stack: schema Job ($(jq -r '.argv | join(" ")' <<< "$c") on $(jq -r .image <<< "$c") for $(jq -r .officialImage <<< "$c"), uid $(jq -r .uid <<< "$c")) exited 0 in $((SECONDS - t0)) s"
  else
    bad "stack: schema Job failed (log: $V/logs/$jobpod.log)"; tail -n 30 "$V/logs/$jobpod.log" >&2
  fi
  tail -n 5 "$V/logs/$jobpod.log" | sed 's/^/  job: /' >&2
  # What the Job left behind, seen by the admin user with the stack's (placeholder) password.
  chpod="$(jq -r --argjson w "$CHW" '.plan[$w].pod' "$PLAN")"
  admin="$(jq -r --argjson w "$JOBW" '.plan[$w].containers[0].env.CHSTACK_ADMIN_USER' "$PLAN")"
  pw="$(jq -r --argjson w "$JOBW" '.plan[$w].containers[0].env.CHSTACK_ADMIN_PASSWORD' "$PLAN")"
  db="$(jq -r --argjson w "$JOBW" '.plan[$w].containers[0].env.CHSTACK_SCHEMA_INPUT | fromjson | .config.clickhouse.database // "posthog"' "$PLAN")"
  tables="$(in_c "$chpod-clickhouse" $(as_user 101 101) clickhouse-client --host 127.0.0.1 -u "$admin" --password "$pw" \
    -q "SELECT count() FROM system.tables WHERE database = '$db'" 2>&1)" || true
  zkc="$(in_c "$chpod-clickhouse" $(as_user 101 101) clickhouse-client --host 127.0.0.1 -u "$admin" --password "$pw" \
    -q "SELECT count() FROM system.zookeeper WHERE path = '/'" 2>&1)" || true
  [[ "$tables" =~ ^[1-9][0-9]*$ ]] && ok "stack: database $db has $tables tables; ClickHouse sees $zkc znodes under its ZooKeeper chroot" \
    || bad "stack: no tables in $db ($tables)"
  pgpod="$(jq -r --argjson w "$PGW" '.plan[$w].pod' "$PLAN")"
  pgenv="$(jq -c --argjson w "$PGW" '.plan[$w].containers[0].env' "$PLAN")"
  pgport="$(jq -r --argjson w "$PGW" '.plan[$w].containers[0].ports[0]' "$PLAN")"
  # From 127.0.0.2 (not trusted by initdb's lines), so the Secret's password is what lets it in.
  ip -n "$ns" addr add 127.0.0.2/32 dev lo
  if r="$(in_c "$pgpod-postgres" env "PGPASSWORD=$(jq -r .POSTGRES_PASSWORD <<< "$pgenv")" $(as_user 999 999) psql -h 127.0.0.2 -p "$pgport" \
    -U "$(jq -r .POSTGRES_USER <<< "$pgenv")" -d "$(jq -r .POSTGRES_DB <<< "$pgenv")" -Atc 'SELECT current_user, current_database()' 2>&1)" \
    && ! in_c "$pgpod-postgres" env PGPASSWORD=wrong $(as_user 999 999) psql -h 127.0.0.2 -p "$pgport" \
      -U "$(jq -r .POSTGRES_USER <<< "$pgenv")" -d "$(jq -r .POSTGRES_DB <<< "$pgenv")" -Atc 'SELECT 1' >/dev/null 2>&1; then
    ok "stack: Postgres password login over TCP as $r (a wrong password is refused)"
  else
    bad "stack: Postgres login: $r"
  fi
fi
