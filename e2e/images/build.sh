#!/usr/bin/env bash
# Builds chstack's stand-in container images from Debian 12 packages, without a container daemon or
# registry: debootstrap (one shared minbase rootfs), chroot apt-get, then umoci (OCI layout) and skopeo
# (docker-archive with a RepoTags entry, which `ctr -n k8s.io images import` and `kind load image-archive`
# take). What each image honours of its official counterpart's contract: CONTRACTS.md beside this file.
#
#   e2e/images/build.sh [--rebuild] [IMAGE...]     IMAGE: clickhouse-server zookeeper postgres node app (default: all)
#
# `app` is not a stand-in: it is the reference app (app/), bundled by app/build.mjs as app/Dockerfile does,
# on the node stand-in's rootfs, because app/Dockerfile needs node:20-slim from a registry.
#
# Archives: ${CHSTACK_CACHE:-$HOME/.cache/chstack}/images/<name>-<tag>-<hash>.tar, <hash> covering the
# recipe (this script's functions, the files under files/<name>/, the base rootfs recipe and, for node,
# the Node binary). A cached archive is reused; --rebuild (or CHSTACK_IMAGES_REBUILD=1) builds anew, e.g.
# to pick up new Debian package versions. The last lines printed are `IMAGE <ref> <archive>`, and
# images/current.tsv lists the same (ref<TAB>archive). Needs root (debootstrap, chroot); installs
# debootstrap, umoci and skopeo with apt-get when they are missing.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${CHSTACK_CACHE:-$HOME/.cache/chstack}"
OUT="$CACHE_ROOT/images"
WORK="$OUT/work"
APT_CACHE="$OUT/apt-archives"
MIRROR="${CHSTACK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
PREFIX=chstack-standin
NODE_BIN="${CHSTACK_NODE_BINARY:-$(command -v node || true)}"
ALL_IMAGES=(clickhouse-server zookeeper postgres node app)
APP_ROOT="$(cd "$HERE/../.." && pwd)"
APP_BUNDLE="$OUT/bundle-app"   # not under work/: a build there removes "app-*" as leftovers
REBUILD="${CHSTACK_IMAGES_REBUILD:-0}"

log() { printf '[images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------------
# Mounts made for chroot apt-get, undone on any exit.
MOUNTS=()
cleanup() {
  local rc=$? i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTS[$i]}" 2>/dev/null || umount -l "${MOUNTS[$i]}" 2>/dev/null || true
  done
  MOUNTS=()
  [ "$rc" = 0 ] || log "failed (exit $rc); partial work is under $WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# chroot ROOT CMD...: with /proc and the shared .deb cache mounted, no service starts, no prompts.
in_root() {
  local root="$1"; shift
  mount -t proc proc "$root/proc"; MOUNTS+=("$root/proc")
  mkdir -p "$APT_CACHE/partial" "$root/var/cache/apt/archives"
  mount --bind "$APT_CACHE" "$root/var/cache/apt/archives"; MOUNTS+=("$root/var/cache/apt/archives")
  local rc=0
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@" || rc=$?
  umount "$root/var/cache/apt/archives"; umount "$root/proc"
  MOUNTS=("${MOUNTS[@]:0:${#MOUNTS[@]}-2}")
  return "$rc"
}

apt_install() {
  local root="$1"; shift
  log "  apt-get install $*"
  in_root "$root" apt-get install -y -q -o Dpkg::Use-Pty=0 --no-install-recommends "$@" > "$root.apt.log" 2>&1 \
    || { tail -n 30 "$root.apt.log" >&2; die "apt-get install $* failed (log: $root.apt.log)"; }
}

# ---------------------------------------------------------------------------------------------------
# The shared base: Debian minbase with docs, man pages and translations kept out of every later install.
base_recipe() {
  local root="$1"
  debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" > "$root.debootstrap.log" 2>&1 \
    || { tail -n 30 "$root.debootstrap.log" >&2; die "debootstrap failed (log: $root.debootstrap.log)"; }
  cat > "$root/etc/dpkg/dpkg.cfg.d/01-chstack-standin-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
path-exclude /usr/share/bug/*
EOF
  cat > "$root/etc/apt/apt.conf.d/01-chstack-standin" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
  printf 'deb %s %s main\ndeb %s %s-updates main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
    "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SUITE" > "$root/etc/apt/sources.list"
  # No service starts inside the chroot.
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod 755 "$root/usr/sbin/policy-rc.d"
  rm -f "$root"/var/cache/apt/archives/*.deb
  in_root "$root" apt-get update -q > "$root.apt.log" 2>&1 || { tail -n 20 "$root.apt.log" >&2; die "apt-get update failed"; }
  in_root "$root" apt-get -y -q -o Dpkg::Use-Pty=0 dist-upgrade >> "$root.apt.log" 2>&1 || die "apt-get dist-upgrade failed"
  strip_docs "$root"
}

strip_docs() {
  local root="$1"
  find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian/* "$root"/usr/share/bug/*
  # update-alternatives (e.g. openjdk's postinst) links man pages into man1: keep that directory.
  mkdir -p "$root/usr/share/man/man1"
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
}

# The last step of every image: nothing of the build left in the rootfs.
finish_root() {
  local root="$1"
  strip_docs "$root"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/* \
    "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old "$root"/tmp/* "$root"/var/tmp/* \
    "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/root/.bash_history "$root/usr/sbin/policy-rc.d"
  find "$root/usr" -name '__pycache__' -type d -prune -exec rm -rf {} + 2>/dev/null || true
  # The runtime provides these.
  : > "$root/etc/resolv.conf"; : > "$root/etc/hostname"
  rm -f "$root/etc/machine-id"
}

add_user() { # add_user ROOT NAME UID HOME SHELL
  local root="$1" name="$2" id="$3" home="$4" shell="$5"
  local system=(); [ "$id" -lt 1000 ] && system=(-r)
  in_root "$root" groupadd "${system[@]}" -g "$id" "$name"
  in_root "$root" useradd "${system[@]}" -u "$id" -g "$id" -d "$home" -s "$shell" "$name"
}

pkg_version() { chroot "$1" dpkg-query -W -f='${Version}' "$2"; }

# ---------------------------------------------------------------------------------------------------
# Image recipes. Each fills ROOT and sets IMAGE_CONFIG (umoci config options) and IMAGE_LABEL.

recipe_clickhouse_server() {
  local root="$1" f="$HERE/files/clickhouse-server"
  # uid/gid 101 before the package's postinst picks its own (as the official Dockerfile does).
  add_user "$root" clickhouse 101 /var/lib/clickhouse /bin/bash
  apt_install "$root" clickhouse-server clickhouse-client
  # Debian's config.xml, like the official image's, sets no listen_host (its ::1 and 127.0.0.1 lines are
  # commented out): a config.d listen_host, chstack's 0.0.0.0, is then the only one.
  install -D -m 644 "$f/docker_related_config.xml" "$root/etc/clickhouse-server/config.d/docker_related_config.xml"
  install -m 755 "$f/entrypoint.sh" "$root/entrypoint.sh"
  install -m 755 "$f/clickhouse" "$root/usr/bin/clickhouse"
  ln -sf ../sbin/clickhouse-server "$root/usr/bin/clickhouse-server"
  mkdir -p "$root/docker-entrypoint-initdb.d" "$root/var/lib/clickhouse" "$root/var/log/clickhouse-server" \
    "$root/etc/clickhouse-server/users.d" "$root/etc/clickhouse-client"
  chown -R 101:101 "$root/var/lib/clickhouse" "$root/var/log/clickhouse-server"
  chmod -R ugo+Xrw "$root/var/lib/clickhouse" "$root/var/log/clickhouse-server" "$root/etc/clickhouse-server" "$root/etc/clickhouse-client"
  IMAGE_LABEL="clickhouse-server=$(pkg_version "$root" clickhouse-server)"
  IMAGE_CONFIG=(
    --config.entrypoint /entrypoint.sh
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    --config.env CLICKHOUSE_CONFIG=/etc/clickhouse-server/config.xml
    --config.env LANG=C.UTF-8 --config.env TZ=UTC
    --config.exposedports 9000/tcp --config.exposedports 8123/tcp --config.exposedports 9009/tcp
    --config.volume /var/lib/clickhouse
  )
}

ZK_HOME=/apache-zookeeper-3.8.0-bin
recipe_zookeeper() {
  local root="$1" f="$HERE/files/zookeeper"
  add_user "$root" zookeeper 1000 /home/zookeeper /bin/bash
  # libzookeeper-java has the jars (and pulls openjdk-17-jre-headless through junit4). The zookeeper
  # package itself only adds the scripts and /etc/zookeeper, but depends on default-jre (the full JRE with
  # GTK): its scripts are taken from its .deb instead of installing it.
  apt_install "$root" openjdk-17-jre-headless libzookeeper-java libslf4j-java
  [ -f "$root/usr/share/java/slf4j-simple.jar" ] || die "slf4j-simple.jar missing"
  rm -rf "$root/tmp/zk"; mkdir -p "$root/tmp/zk"
  in_root "$root" sh -c 'cd /tmp/zk && apt-get download -q zookeeper >/dev/null && dpkg-deb --fsys-tarfile zookeeper_*.deb | tar -x ./usr/share/zookeeper/bin ./etc/zookeeper/conf_example/zoo.cfg' \
    || die "could not take the scripts from Debian's zookeeper package"
  ZK_DEB_VERSION="$(in_root "$root" sh -c 'dpkg-deb -f /tmp/zk/zookeeper_*.deb Version')"
  # The official image's layout: the distribution's bin/ on PATH, config in /conf, data in /data.
  mkdir -p "$root$ZK_HOME/bin" "$root/conf" "$root/data" "$root/datalog" "$root/logs"
  cp "$root/tmp/zk/usr/share/zookeeper/bin/zkServer.sh" "$root/tmp/zk/usr/share/zookeeper/bin/zkCli.sh" \
    "$root/tmp/zk/usr/share/zookeeper/bin/zkCleanup.sh" "$root$ZK_HOME/bin/"
  cp "$root/tmp/zk/etc/zookeeper/conf_example/zoo.cfg" "$root/conf/zoo_sample.cfg"
  rm -rf "$root/tmp/zk"
  install -m 644 "$f/zkEnv.sh" "$root$ZK_HOME/bin/zkEnv.sh"
  install -m 755 "$f/docker-entrypoint.sh" "$root/docker-entrypoint.sh"
  chown -R 1000:1000 "$root$ZK_HOME" "$root/conf" "$root/data" "$root/datalog" "$root/logs"
  IMAGE_LABEL="zookeeper=$ZK_DEB_VERSION (scripts) libzookeeper-java=$(pkg_version "$root" libzookeeper-java) openjdk-17-jre-headless=$(pkg_version "$root" openjdk-17-jre-headless)"
  IMAGE_CONFIG=(
    --config.entrypoint /docker-entrypoint.sh --config.cmd zkServer.sh --config.cmd start-foreground
    --config.workingdir "$ZK_HOME"
    --config.env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$ZK_HOME/bin"
    --config.env ZOOCFGDIR=/conf --config.env ZOO_CONF_DIR=/conf --config.env ZOO_DATA_DIR=/data
    --config.env ZOO_DATA_LOG_DIR=/datalog --config.env ZOO_LOG_DIR=/logs --config.env ZOO_TICK_TIME=2000
    --config.env ZOO_INIT_LIMIT=5 --config.env ZOO_SYNC_LIMIT=2 --config.env ZOO_AUTOPURGE_PURGEINTERVAL=0
    --config.env ZOO_AUTOPURGE_SNAPRETAINCOUNT=3 --config.env ZOO_MAX_CLIENT_CNXNS=60
    --config.env ZOO_STANDALONE_ENABLED=true --config.env ZOO_ADMINSERVER_ENABLED=true
    --config.env ZOO_LOG_APPENDER=CONSOLE --config.env ZOO_LOG_LEVEL=INFO
    --config.env JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 --config.env LANG=C.UTF-8
    --config.exposedports 2181/tcp --config.exposedports 2888/tcp --config.exposedports 3888/tcp --config.exposedports 8080/tcp
    --config.volume /data --config.volume /datalog --config.volume /logs
  )
}

recipe_postgres() {
  local root="$1" f="$HERE/files/postgres"
  add_user "$root" postgres 999 /var/lib/postgresql /bin/bash
  install -d -o 999 -g 999 -m 1777 "$root/var/lib/postgresql"
  apt_install "$root" postgresql-common
  # No cluster of Debian's own (the entrypoint runs initdb into PGDATA).
  sed -ri 's/#(create_main_cluster) .*$/\1 = false/' "$root/etc/postgresql-common/createcluster.conf"
  grep -q '^create_main_cluster = false' "$root/etc/postgresql-common/createcluster.conf" || die "createcluster.conf not patched"
  apt_install "$root" postgresql-15
  # Listen on all addresses by default, as the official image's patched postgresql.conf.sample does.
  sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "$root/usr/share/postgresql/15/postgresql.conf.sample"
  grep -qF "listen_addresses = '*'" "$root/usr/share/postgresql/15/postgresql.conf.sample" || die "postgresql.conf.sample not patched"
  install -d -o 999 -g 999 -m 3777 "$root/var/run/postgresql"
  install -d -o 999 -g 999 -m 1777 "$root/var/lib/postgresql/data"
  mkdir -p "$root/docker-entrypoint-initdb.d"
  install -m 755 "$f/docker-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  IMAGE_LABEL="postgresql-15=$(pkg_version "$root" postgresql-15)"
  IMAGE_CONFIG=(
    --config.entrypoint docker-entrypoint.sh --config.cmd postgres
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/15/bin
    --config.env PG_MAJOR=15 --config.env PGDATA=/var/lib/postgresql/data --config.env LANG=C.UTF-8
    --config.exposedports 5432/tcp --config.volume /var/lib/postgresql/data --config.stopsignal SIGINT
  )
}

recipe_node() {
  local root="$1"
  add_user "$root" node 1000 /home/node /bin/bash
  install -d -o 1000 -g 1000 "$root/home/node"
  install -m 755 "$NODE_BIN" "$root/usr/local/bin/node"
  # Every library the binary links must come from the rootfs.
  local missing
  missing="$(chroot "$root" /usr/bin/ldd /usr/local/bin/node | grep 'not found' || true)"
  [ -z "$missing" ] || die "node needs libraries the rootfs lacks: $missing"
  chroot "$root" /usr/bin/env -i /usr/local/bin/node -e "process.exit(0)" || die "node does not run in the rootfs"
  IMAGE_LABEL="node=$NODE_VERSION (binary from $NODE_BIN)"
  IMAGE_CONFIG=(
    --config.cmd node
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    --config.env "NODE_VERSION=${NODE_VERSION#v}" --config.env LANG=C.UTF-8
  )
}

recipe_app() {
  local root="$1"
  recipe_node "$root"
  install -d "$root/app"
  cp "$APP_BUNDLE"/* "$root/app/"
  IMAGE_LABEL="node=$NODE_VERSION chstack reference app $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$APP_ROOT/package.json" | head -n 1)"
  # As app/Dockerfile: the node user by number (runAsNonRoot cannot verify a name), SIGTERM straight to node.
  IMAGE_CONFIG=(
    --config.cmd node --config.cmd --enable-source-maps --config.cmd /app/app.mjs
    --config.user 1000:1000 --config.workingdir /app
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    --config.env NODE_ENV=production --config.env PORT=8000 --config.env HOST=0.0.0.0 --config.env LANG=C.UTF-8
    --config.exposedports 8000/tcp
  )
}

# ---------------------------------------------------------------------------------------------------
# Tags and hashes.

image_tag() {
  case "$1" in
    clickhouse-server) echo 18.16 ;;
    zookeeper) echo 3.8 ;;
    postgres) echo 15 ;;
    node) echo "$NODE_MAJOR" ;;
    app) sed -n 's/.*"version": "\(.*\)".*/\1/p' "$APP_ROOT/package.json" | head -n 1 ;;
    *) die "unknown image $1 (known: ${ALL_IMAGES[*]})" ;;
  esac
}

sha() { sha256sum | cut -c1-12; }

base_hash() {
  { echo "$SUITE $MIRROR"; declare -f base_recipe strip_docs in_root; } | sha
}

image_hash() {
  local name="$1"
  {
    echo "$name $(image_tag "$name") base=$(base_hash)"
    declare -f "recipe_${name//-/_}" finish_root add_user apt_install pack_image
    if [ "$name" = zookeeper ]; then echo "$ZK_HOME"; fi
    if [ -d "$HERE/files/$name" ]; then (cd "$HERE/files/$name" && find . -type f | LC_ALL=C sort | xargs -r sha256sum); fi
    if [ "$name" = node ] || [ "$name" = app ]; then sha256sum < "$NODE_BIN"; fi
    if [ "$name" = app ]; then declare -f recipe_node; (cd "$APP_BUNDLE" && find . -type f | LC_ALL=C sort | xargs -r sha256sum); fi
  } | sha
}

# ---------------------------------------------------------------------------------------------------
# ROOT -> docker-archive with RepoTags REF, through an OCI layout.
pack_image() {
  local root="$1" ref="$2" archive="$3" hash="$4"
  local stage="$WORK/pack-$hash" tag="${ref##*:}"
  rm -rf "$stage"; mkdir -p "$stage"
  tar -C "$root" --numeric-owner --xattrs --xattrs-include='security.capability' --sort=name \
    --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' -cf "$stage/layer.tar" .
  umoci init --layout "$stage/oci" >/dev/null
  umoci new --image "$stage/oci:$tag" >/dev/null
  umoci raw add-layer --image "$stage/oci:$tag" --history.created_by "chstack e2e/images/build.sh" "$stage/layer.tar" >/dev/null
  rm -f "$stage/layer.tar"
  umoci config --image "$stage/oci:$tag" --os linux --architecture amd64 --author chstack-e2e \
    --config.label "org.opencontainers.image.title=$ref" \
    --config.label "org.opencontainers.image.description=chstack stand-in built from Debian $SUITE packages; not the official image" \
    --config.label "dev.chstack.standin.recipe=$hash" \
    --config.label "dev.chstack.standin.packages=$IMAGE_LABEL" \
    "${IMAGE_CONFIG[@]}" >/dev/null
  skopeo --insecure-policy copy -q "oci:$stage/oci:$tag" "docker-archive:$archive.partial:$ref" >/dev/null
  mv -f "$archive.partial" "$archive"
  rm -rf "$stage"
}

build_one() {
  local name="$1" tag ref hash archive root t0
  tag="$(image_tag "$name")"; ref="$PREFIX/$name:$tag"
  hash="$(image_hash "$name")"; archive="$OUT/$name-$tag-$hash.tar"
  if [ -s "$archive" ] && [ "$REBUILD" != 1 ]; then
    log "$ref: cached"
  else
    t0=$SECONDS
    ensure_base
    log "$ref: building (recipe $hash)"
    root="$WORK/$name-$hash"
    # Leftovers of this image's earlier (failed) builds.
    find "$WORK" -maxdepth 1 -name "$name-*" -exec rm -rf {} +
    cp -a "$BASE_ROOT" "$root"
    IMAGE_CONFIG=(); IMAGE_LABEL=""
    "recipe_${name//-/_}" "$root"
    finish_root "$root"
    log "  rootfs $(du -sh "$root" | cut -f1); packing"
    pack_image "$root" "$ref" "$archive" "$hash"
    rm -rf "$root" "$root".*.log
    # Older archives of this image are superseded.
    find "$OUT" -maxdepth 1 -name "$name-$tag-*.tar" ! -name "$(basename "$archive")" -delete
    log "$ref: built in $((SECONDS - t0)) s, $(du -h "$archive" | cut -f1)"
  fi
  RESULTS+=("$ref"$'\t'"$archive")
}

BASE_ROOT=""
ensure_base() {
  [ -n "$BASE_ROOT" ] && return 0
  local hash; hash="$(base_hash)"
  BASE_ROOT="$WORK/base-$hash"
  if [ -f "$BASE_ROOT.done" ] && [ "$REBUILD" != 1 ]; then
    log "base rootfs: cached ($BASE_ROOT)"
    return 0
  fi
  local t0=$SECONDS
  log "base rootfs: debootstrap --variant=minbase $SUITE (recipe $hash)"
  rm -rf "$BASE_ROOT" "$BASE_ROOT.done"
  find "$WORK" -maxdepth 1 -name 'base-*' -exec rm -rf {} +
  mkdir -p "$WORK"
  base_recipe "$BASE_ROOT"
  touch "$BASE_ROOT.done"
  log "base rootfs: $(du -sh "$BASE_ROOT" | cut -f1) in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------------------------------------------
main() {
  local want=() a
  for a in "$@"; do
    case "$a" in
      --rebuild) REBUILD=1 ;;
      -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
      -*) die "unknown option $a" ;;
      *) want+=("$a") ;;
    esac
  done
  [ ${#want[@]} -gt 0 ] || want=("${ALL_IMAGES[@]}")

  [ "$(id -u)" = 0 ] || die "run as root (debootstrap and chroot need it)"
  local missing=() tool
  for tool in debootstrap umoci skopeo; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  fi
  NODE_VERSION="" NODE_MAJOR=""
  if [[ " ${want[*]} " == *" node "* || " ${want[*]} " == *" app "* ]]; then
    [ -n "$NODE_BIN" ] && [ -x "$NODE_BIN" ] || die "no node binary (set CHSTACK_NODE_BINARY)"
    NODE_BIN="$(readlink -f "$NODE_BIN")"
    NODE_VERSION="$("$NODE_BIN" --version)"; NODE_MAJOR="${NODE_VERSION#v}"; NODE_MAJOR="${NODE_MAJOR%%.*}"
  fi

  mkdir -p "$OUT" "$WORK" "$APT_CACHE"
  exec 9> "$OUT/.lock"
  flock -n 9 || { log "another build holds $OUT/.lock; waiting"; flock 9; }
  if [[ " ${want[*]} " == *" app "* ]]; then
    # The bundle, as app/Dockerfile makes it (under the lock: another build may be making it too); its
    # bytes are part of the image's hash.
    rm -rf "$APP_BUNDLE"; mkdir -p "$APP_BUNDLE"
    (cd "$APP_ROOT" && node app/build.mjs "$APP_BUNDLE" >/dev/null) || die "node app/build.mjs failed (run npm ci first)"
  fi

  local t0=$SECONDS name
  RESULTS=()
  for name in "${want[@]}"; do build_one "$name"; done
  log "done in $((SECONDS - t0)) s"
  # current.tsv: the archives of this run's images, merged with earlier entries for other images.
  {
    [ -f "$OUT/current.tsv" ] && grep -v -F -f <(printf '%s\n' "${RESULTS[@]}" | cut -f1 | sed 's/$/\t/') "$OUT/current.tsv" || true
    printf '%s\n' "${RESULTS[@]}"
  } | LC_ALL=C sort -u > "$OUT/current.tsv.new"
  mv -f "$OUT/current.tsv.new" "$OUT/current.tsv"
  local r
  for r in "${RESULTS[@]}"; do printf 'IMAGE %s %s\n' "${r%%$'\t'*}" "${r#*$'\t'}"; done
}

main "$@"
