#!/usr/bin/env bash
# Entrypoint of the postgres stand-in image. It provides the interface the official
# image documents:
#   POSTGRES_PASSWORD   superuser password; required unless POSTGRES_HOST_AUTH_METHOD=trust
#   POSTGRES_USER       superuser name, default "postgres"
#   POSTGRES_DB         database created on first start, default = POSTGRES_USER
#   POSTGRES_INITDB_ARGS, POSTGRES_INITDB_WALDIR, POSTGRES_HOST_AUTH_METHOD
#   VAR_FILE            read VAR from a file instead (PASSWORD, USER, DB, INITDB_ARGS)
#   PGDATA              default /var/lib/postgresql/data
# On an empty PGDATA it runs initdb, creates the database and runs
# /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz|*.sql.xz|*.sql.zst once. Started as
# root it fixes ownership and re-executes itself as "postgres"; the server then runs as
# PID 1 under that user. `docker run IMAGE -c foo=bar` passes options to postgres.
set -Eeo pipefail

say() { printf '%s\n' "entrypoint: $*"; }
fail() {
  printf >&2 'entrypoint: error: %s\n' "$*"
  exit 1
}

# env_or_file VAR [DEFAULT]: VAR, else the contents of the file named by VAR_FILE
env_or_file() {
  local name=$1 fallback=${2:-} file_name="${1}_FILE" value
  if [ -n "${!name:-}" ] && [ -n "${!file_name:-}" ]; then
    fail "$name and $file_name are both set; use only one of them"
  fi
  value=$fallback
  if [ -n "${!name:-}" ]; then
    value=${!name}
  elif [ -n "${!file_name:-}" ]; then
    value=$(<"${!file_name}")
  fi
  export "$name=$value"
  unset "$file_name"
}

is_info_request() { # postgres options that only print something and exit
  local a
  for a in "$@"; do
    case "$a" in
      -'?' | --help | --describe-config | -V | --version | -C) return 0 ;;
    esac
  done
  return 1
}

load_settings() {
  env_or_file POSTGRES_PASSWORD
  env_or_file POSTGRES_USER postgres
  env_or_file POSTGRES_DB "$POSTGRES_USER"
  env_or_file POSTGRES_INITDB_ARGS
  : "${POSTGRES_HOST_AUTH_METHOD:=}"
  : "${PGDATA:=/var/lib/postgresql/data}"
  export PGDATA
  HAS_CLUSTER=
  if [ -s "$PGDATA/PG_VERSION" ]; then HAS_CLUSTER=yes; fi
}

prepare_dirs() { # works as root and (as far as permissions allow) as any user
  local d
  mkdir -p "$PGDATA"
  chmod 00700 "$PGDATA" 2>/dev/null || :
  mkdir -p /var/run/postgresql 2>/dev/null || :
  chmod 03775 /var/run/postgresql 2>/dev/null || :
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
    mkdir -p "$POSTGRES_INITDB_WALDIR"
    chmod 00700 "$POSTGRES_INITDB_WALDIR" 2>/dev/null || :
  fi
  if [ "$(id -u)" = 0 ]; then
    for d in "$PGDATA" /var/run/postgresql ${POSTGRES_INITDB_WALDIR:+"$POSTGRES_INITDB_WALDIR"}; do
      find "$d" \! -user postgres -exec chown postgres:postgres '{}' +
    done
  fi
}

# initdb wants the current uid in the user database; for arbitrary --user ids fake one
with_user_entry() {
  if getent passwd "$(id -u)" >/dev/null; then
    "$@"
    return
  fi
  local lib
  lib=$(find /usr/lib -name libnss_wrapper.so -print -quit 2>/dev/null || true)
  [ -n "$lib" ] || fail "uid $(id -u) has no passwd entry and libnss_wrapper is missing"
  local dir
  dir=$(mktemp -d)
  printf 'postgres:x:%s:%s:PostgreSQL:%s:/bin/false\n' "$(id -u)" "$(id -g)" "$PGDATA" >"$dir/passwd"
  printf 'postgres:x:%s:\n' "$(id -g)" >"$dir/group"
  LD_PRELOAD=$lib NSS_WRAPPER_PASSWD=$dir/passwd NSS_WRAPPER_GROUP=$dir/group "$@"
  rm -rf "$dir"
}

host_auth_method() { printf '%s\n' "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"; }

check_password() {
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$(host_auth_method)" != trust ]; then
    cat >&2 <<'EOF'
entrypoint: error: the database is not initialised and no superuser password is set.
  Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty value, or set
  POSTGRES_HOST_AUTH_METHOD=trust to allow every connection without a password
  (never do that outside throw-away test setups).
EOF
    exit 1
  fi
  if [ "$(host_auth_method)" = trust ]; then
    say "WARNING: POSTGRES_HOST_AUTH_METHOD=trust: anyone who can reach the port can log in"
  fi
}

run_initdb() {
  local method initdb_host extra=()
  method=$(host_auth_method)
  case "$method" in
    trust | reject | md5 | password | scram-sha-256) initdb_host=$method ;;
    *) if [ -n "$POSTGRES_PASSWORD" ]; then initdb_host=scram-sha-256; else initdb_host=trust; fi ;;
  esac
  if [ -n "$POSTGRES_INITDB_ARGS" ]; then
    # word splitting with shell quoting, as documented for the official image
    eval "extra=($POSTGRES_INITDB_ARGS)"
  fi
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
    extra=(--waldir "$POSTGRES_INITDB_WALDIR" "${extra[@]}")
  fi
  if [ "$method" = md5 ]; then
    extra=(--set password_encryption=md5 "${extra[@]}")
  fi
  if [ -n "$POSTGRES_PASSWORD" ]; then
    with_user_entry initdb --username="$POSTGRES_USER" --auth-local=trust \
      --auth-host="$initdb_host" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") "${extra[@]}"
  else
    with_user_entry initdb --username="$POSTGRES_USER" --auth-local=trust \
      --auth-host="$initdb_host" "${extra[@]}"
  fi
  {
    printf '\n# connections from other containers (added by the entrypoint)\n'
    printf 'host all all all %s\n' "$method"
  } >>"$PGDATA/pg_hba.conf"
}

psql_run() { # psql over the unix socket as the superuser, stopping at the first error
  PGHOST='' PGHOSTADDR='' psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password \
    --no-psqlrc "$@"
}

# SQL on POSTGRES_DB; the name matches the helper sourced init scripts of the official
# image may call
docker_process_sql() {
  psql_run --dbname "$POSTGRES_DB" "$@"
}

start_private_server() { # unix socket only, with the user's extra server options
  PGUSER=${PGUSER:-$POSTGRES_USER} pg_ctl -D "$PGDATA" -w start \
    -o "$(printf '%q ' "$@" -c "listen_addresses=" -p "${PGPORT:-5432}")"
}

stop_private_server() {
  PGUSER=${PGUSER:-$POSTGRES_USER} pg_ctl -D "$PGDATA" -m fast -w stop
}

create_database() {
  [ "$POSTGRES_DB" != postgres ] || return 0
  local found
  found=$(psql_run --dbname postgres -tA --set db="$POSTGRES_DB" <<'EOSQL'
SELECT 1 FROM pg_database WHERE datname = :'db';
EOSQL
)
  if [ -z "$found" ]; then
    psql_run --dbname postgres --set db="$POSTGRES_DB" <<'EOSQL'
CREATE DATABASE :"db";
EOSQL
  fi
}

run_init_files() {
  local f
  shopt -s nullglob
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh)
        if [ -x "$f" ]; then
          say "running $f"
          "$f"
        else
          say "sourcing $f"
          # shellcheck disable=SC1090
          . "$f"
        fi
        ;;
      *.sql) say "running $f"; docker_process_sql -f "$f" ;;
      *.sql.gz) say "running $f"; gunzip -c "$f" | docker_process_sql ;;
      *.sql.xz) say "running $f"; xz -dc "$f" | docker_process_sql ;;
      *.sql.zst) say "running $f"; zstd -dcq "$f" | docker_process_sql ;;
      *) say "ignoring $f" ;;
    esac
  done
  shopt -u nullglob
}

main() {
  if [ "${1:0:1}" = - ]; then
    set -- postgres "$@"
  fi
  if [ "$1" = postgres ] && ! is_info_request "$@"; then
    load_settings
    prepare_dirs
    if [ "$(id -u)" = 0 ]; then
      exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
    fi
    if [ -z "$HAS_CLUSTER" ]; then
      check_password
      say "initialising a new cluster in $PGDATA"
      run_initdb
      export PGPASSWORD=${PGPASSWORD:-$POSTGRES_PASSWORD}
      start_private_server "${@:2}"
      create_database
      run_init_files
      stop_private_server
      unset PGPASSWORD
      say "initialisation complete; starting the server"
    else
      say "$PGDATA holds a cluster already; skipping initialisation"
    fi
  fi
  exec "$@"
}

main "$@"
