#!/usr/bin/env bash
# chstack stand-in for the official postgres image's docker-entrypoint.sh (docker-library/postgres), over
# Debian's postgresql-15. Written for this image; the contract it keeps (see e2e/images/CONTRACTS.md):
# - a first argument that is an option means `postgres ARGS`;
# - for `postgres`: PGDATA is created (0700) and, when run as root, handed to postgres (uid 999) and the
#   script re-runs as postgres; an empty PGDATA is initialised with initdb, POSTGRES_USER (default
#   postgres) as superuser with POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust),
#   POSTGRES_INITDB_ARGS, a `host all all all <method>` line in pg_hba.conf (method: POSTGRES_HOST_AUTH_METHOD,
#   else password_encryption, scram-sha-256), POSTGRES_DB (default POSTGRES_USER) created on a
#   socket-only temporary server that also runs /docker-entrypoint-initdb.d/*.sql and *.sh;
# - then exec "$@" (the server with the container's args, listening on listen_addresses='*').
# VAR_FILE variants of POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB and POSTGRES_INITDB_ARGS are read too.
set -Eeo pipefail

from_file() {
  local var="$1" file="${1}_FILE" default="${2:-}"
  if [ -n "${!var:-}" ] && [ -n "${!file:-}" ]; then
    echo "error: both $var and $file are set (but are exclusive)" >&2
    exit 1
  fi
  local value="$default"
  if [ -n "${!var:-}" ]; then value="${!var}"; elif [ -n "${!file:-}" ]; then value="$(< "${!file}")"; fi
  export "$var"="$value"
  unset "$file"
}

wants_help() {
  local a
  for a; do
    case "$a" in -'?'|--help|--describe-config|-V|--version) return 0 ;; esac
  done
  return 1
}

sql() {
  local run=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
  [ -n "$POSTGRES_DB" ] && run+=(--dbname "$POSTGRES_DB")
  PGHOST= PGHOSTADDR= "${run[@]}" "$@"
}

init_files() {
  local f
  for f; do
    case "$f" in
      *.sh) if [ -x "$f" ]; then echo "$0: running $f"; "$f"; else echo "$0: sourcing $f"; . "$f"; fi ;;
      *.sql) echo "$0: running $f"; sql -f "$f" ;;
      *.sql.gz) echo "$0: running $f"; gunzip -c "$f" | sql ;;
      *) echo "$0: ignoring $f" ;;
    esac
  done
}

main() {
  if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
  fi
  if [ "$1" != 'postgres' ] || wants_help "$@"; then
    exec "$@"
  fi

  from_file POSTGRES_PASSWORD
  from_file POSTGRES_USER postgres
  from_file POSTGRES_DB "$POSTGRES_USER"
  from_file POSTGRES_INITDB_ARGS
  : "${POSTGRES_HOST_AUTH_METHOD:=}"

  mkdir -p "$PGDATA"
  chmod 00700 "$PGDATA" || :
  mkdir -p /var/run/postgresql || :
  chmod 03775 /var/run/postgresql || :
  if [ "$(id -u)" = '0' ]; then
    find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
    exec setpriv --reuid=postgres --regid=postgres --init-groups -- "${BASH_SOURCE[0]}" "$@"
  fi

  if [ -s "$PGDATA/PG_VERSION" ]; then
    printf '\nPostgreSQL Database directory appears to contain a database; Skipping initialization\n\n'
    exec "$@"
  fi

  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
    echo 'Error: Database is uninitialized and superuser password is not specified (POSTGRES_PASSWORD).' >&2
    exit 1
  fi
  ls /docker-entrypoint-initdb.d/ > /dev/null

  eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"

  local args=("${@:2}") auth
  auth="$(postgres -C password_encryption "${args[@]}")"
  : "${POSTGRES_HOST_AUTH_METHOD:=$auth}"
  printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >> "$PGDATA/pg_hba.conf"

  export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
  PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" \
    -o "$(printf '%q ' "${args[@]}" -c listen_addresses='' -p "${PGPORT:-5432}")" -w start
  if [ -z "$(POSTGRES_DB= sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<< "SELECT 1 FROM pg_database WHERE datname = :'db';")" ]; then
    POSTGRES_DB= sql --dbname postgres --set db="$POSTGRES_DB" <<< 'CREATE DATABASE :"db";'
  fi
  shopt -s nullglob
  init_files /docker-entrypoint-initdb.d/*
  shopt -u nullglob
  PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
  unset PGPASSWORD
  printf '\nPostgreSQL init process complete; ready for start up.\n\n'
  exec "$@"
}

main "$@"
