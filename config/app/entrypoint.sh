#!/bin/sh
# Entrypoint of the educa application image (web, daphne, migrate).
#
# Waits for the services the command needs, then replaces itself with the
# command, so uWSGI or Daphne is PID 1 and receives the stop signal directly.
#
#   WAIT_FOR          space-separated host:port list to wait for. Unset: the
#                     database (POSTGRES_HOST:POSTGRES_PORT) and the Redis server
#                     named in REDIS_URL. Empty: do not wait.
#   WAIT_FOR_TIMEOUT  seconds before giving up (default 60); the container then
#                     exits with status 124 and its restart policy tries again.
#
# Compose orders start-up with depends_on already; this matters where that is
# not honoured (Docker Swarm, `docker run`).

set -eu

# host:port of the Redis server in a redis:// or rediss:// URL, or nothing.
redis_target() {
    url=${REDIS_URL:-}
    [ -n "$url" ] || return 0
    rest=${url#*://}        # drop the scheme
    rest=${rest##*@}        # drop user:password@
    rest=${rest%%/*}        # drop /db
    rest=${rest%%\?*}       # drop ?options
    [ -n "$rest" ] || return 0
    case "$rest" in
        \[*\]:*) printf '%s' "$rest" ;;              # [v6]:port
        \[*\]) printf '%s:6379' "$rest" ;;           # [v6]
        *:*) printf '%s' "$rest" ;;                  # host:port
        *) printf '%s:6379' "$rest" ;;               # host
    esac
}

if [ "${WAIT_FOR+set}" != set ]; then
    WAIT_FOR="${POSTGRES_HOST:-db}:${POSTGRES_PORT:-5432} $(redis_target)"
fi

# An all-blank list means "do not wait".
case "$WAIT_FOR" in
    *[![:space:]]*)
        set -f  # split the list on spaces, never glob it
        # shellcheck disable=SC2086
        exec wait-for-it.sh -t "${WAIT_FOR_TIMEOUT:-60}" $WAIT_FOR -- "$@"
        ;;
esac

exec "$@"
