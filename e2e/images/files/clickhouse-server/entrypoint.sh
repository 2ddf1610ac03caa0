#!/bin/bash
# chstack stand-in for the official clickhouse/clickhouse-server image's /entrypoint.sh, over Debian's
# clickhouse-server 18.16. Written for this image (see e2e/images/CONTRACTS.md); it keeps the parts of the
# official contract chstack relies on: the server runs in the foreground as clickhouse (uid 101) with
# --config-file=$CLICKHOUSE_CONFIG, the data and log directories are created, CLICKHOUSE_SKIP_USER_SETUP=1
# leaves users.d alone, and arguments that are not server options run as a plain command.
set -eo pipefail
shopt -s nullglob

CLICKHOUSE_CONFIG="${CLICKHOUSE_CONFIG:-/etc/clickhouse-server/config.xml}"
CLICKHOUSE_USER="${CLICKHOUSE_USER:-default}"
CLICKHOUSE_PASSWORD="${CLICKHOUSE_PASSWORD:-}"
CLICKHOUSE_ACCESS_MANAGEMENT="${CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT:-0}"
USERS_D=/etc/clickhouse-server/users.d

# The server's directories. 18.16 has no `clickhouse extract-from-config`: a small reader of the element
# path KEY (dotted, below the root element) in config.xml and then config.d/*.xml, the last file winning
# as in ClickHouse's own merge. Enough for the one-element-per-line files of the image and of chstack.
config_value() {
  local key="$1" value="" f v
  for f in "$CLICKHOUSE_CONFIG" "$(dirname "$CLICKHOUSE_CONFIG")"/config.d/*.xml; do
    [ -r "$f" ] || continue
    v="$(awk -v key="$key" '
      { line = line $0 "\n" }
      END {
        gsub(/<!--([^-]|-[^-])*-->/, "", line); gsub(/<\?[^>]*\?>/, "", line)
        depth = 0; out = ""
        while (match(line, /<[^>]+>/)) {
          tag = substr(line, RSTART + 1, RLENGTH - 2); rest = substr(line, RSTART + RLENGTH)
          if (tag ~ /^\//) { depth--; line = rest; continue }
          if (tag ~ /\/$/) { line = rest; continue }
          split(tag, parts, /[ \t\n]/); name[++depth] = parts[1]
          if (match(rest, /^[^<]*<\//)) {
            text = substr(rest, 1, RLENGTH - 2); p = ""
            for (i = 2; i <= depth; i++) p = p (p == "" ? "" : ".") name[i]
            if (p == key) { gsub(/^[ \t\n]+|[ \t\n]+$/, "", text); out = text }
          }
          line = rest
        }
        print out
      }' "$f")"
    [ -n "$v" ] && value="$v"
  done
  printf '%s' "$value"
}

as_clickhouse=()
if [ "$(id -u)" = "0" ]; then
  as_clickhouse=(setpriv --reuid=clickhouse --regid=clickhouse --init-groups --)
fi

if [[ $# -lt 1 ]] || [[ "$1" == "--"* ]]; then
  for dir in "$(config_value path)" "$(config_value tmp_path)" "$(config_value user_files_path)" \
    "$(config_value format_schema_path)" "$(dirname "$(config_value logger.log)")" "$(dirname "$(config_value logger.errorlog)")"; do
    [ -z "$dir" ] || [ "$dir" = "." ] && continue
    if ! mkdir -p "$dir"; then
      echo "Couldn't create necessary directory: $dir" >&2
      exit 1
    fi
    if [ "$(id -u)" = "0" ] && [ "$(stat -c %u:%g "$dir")" != "101:101" ]; then
      chown -R 101:101 "$dir"
    fi
  done

  if [ "${CLICKHOUSE_SKIP_USER_SETUP:-}" = "1" ]; then
    echo "$0: explicitly skip changing user 'default'"
  elif { [ -n "$CLICKHOUSE_USER" ] && [ "$CLICKHOUSE_USER" != "default" ]; } || [ -n "$CLICKHOUSE_PASSWORD" ] || [ "$CLICKHOUSE_ACCESS_MANAGEMENT" != "0" ]; then
    echo "$0: create new user '$CLICKHOUSE_USER' instead 'default'"
    cat > "$USERS_D/default-user.xml" <<EOT
<yandex>
  <users>
    <default remove="remove"></default>
    <${CLICKHOUSE_USER}>
      <profile>default</profile>
      <networks><ip>::/0</ip></networks>
      <password><![CDATA[${CLICKHOUSE_PASSWORD//]]>/]]]]><![CDATA[>}]]></password>
      <quota>default</quota>
      <access_management>${CLICKHOUSE_ACCESS_MANAGEMENT}</access_management>
    </${CLICKHOUSE_USER}>
  </users>
</yandex>
EOT
  else
    echo "$0: neither CLICKHOUSE_USER nor CLICKHOUSE_PASSWORD is set, disabling network access for user 'default'"
    cat > "$USERS_D/default-user.xml" <<'EOT'
<yandex>
  <users>
    <default>
      <networks replace="replace"><ip>::1</ip><ip>127.0.0.1</ip></networks>
    </default>
  </users>
</yandex>
EOT
  fi

  if [ -n "$(ls /docker-entrypoint-initdb.d/ 2>/dev/null)" ] || [ -n "${CLICKHOUSE_DB:-}" ]; then
    echo "$0: this stand-in does not run /docker-entrypoint-initdb.d or create CLICKHOUSE_DB" >&2
  fi

  cd "$(config_value path)"
  exec "${as_clickhouse[@]}" /usr/bin/clickhouse-server --config-file="$CLICKHOUSE_CONFIG" "$@"
fi

exec "$@"
