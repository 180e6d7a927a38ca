#!/bin/sh
# wait-for-it.sh - wait until TCP services accept connections, then run a command.
#
# Usage: wait-for-it.sh [-t seconds] [-q] host:port [host:port ...] [-- command [args ...]]
#
#   -t seconds   give up after this many seconds in total (default 30, 0 = never)
#   -q           print nothing but errors
#   -h           show this help
#
# Exit status: 0 when every target answered (or the command's own status once
# it runs: it replaces this script), 124 when the time ran out (as timeout(1)
# does; the message names the target that did not answer), 2 on a usage error.
#
# Compose's depends_on conditions order the start-up on one machine; Swarm and
# plain `docker run` ignore them, so the application containers call this
# first. Plain POSIX sh: a connection is tried with nc when the image has it,
# otherwise with Python's socket module (the application image has Python), or
# bash's /dev/tcp as a last resort.

set -eu
# no pathname expansion: targets are split on spaces, never globbed
set -f

me=${0##*/}
timeout=30
quiet=0

usage() {
    cat <<EOF
Usage: $me [-t seconds] [-q] host:port [host:port ...] [-- command [args ...]]
Wait until every host:port accepts TCP connections, then run the command.
  -t seconds  give up after this many seconds in total (default 30, 0 = never)
  -q          print nothing but errors
Exit status: 0 on success, 124 on timeout, 2 on a usage error.
EOF
}

usage_error() {
    printf '%s: %s\n' "$me" "$1" >&2
    usage >&2
    exit 2
}

say() {
    [ "$quiet" -eq 1 ] || printf '%s: %s\n' "$me" "$*" >&2
}

is_number() {
    case "$1" in
        '' | *[!0-9]*) return 1 ;;
        *) return 0 ;;
    esac
}

now() {
    date +%s
}

# show HOST PORT the way it was given: IPv6 addresses in brackets
address() {
    case "$1" in
        *:*) printf '[%s]:%s' "$1" "$2" ;;
        *) printf '%s:%s' "$1" "$2" ;;
    esac
}

# Pick the probe once: the first tool found wins.
if command -v nc >/dev/null 2>&1; then
    probe_with=nc
elif command -v python3 >/dev/null 2>&1; then
    probe_with=python3
elif command -v python >/dev/null 2>&1; then
    probe_with=python
elif command -v bash >/dev/null 2>&1; then
    probe_with=bash
else
    probe_with=''
fi

# try_connect HOST PORT: one attempt, at most about a second.
try_connect() {
    case "$probe_with" in
        nc) nc -z -w 1 "$1" "$2" >/dev/null 2>&1 ;;
        python3 | python)
            "$probe_with" -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
except OSError:
    sys.exit(1)
' "$1" "$2" >/dev/null 2>&1
            ;;
        bash) bash -c 'exec 3<>"/dev/tcp/$1/$2"' wait-for-it "$1" "$2" >/dev/null 2>&1 ;;
    esac
}

# ---- arguments -------------------------------------------------------------
targets=''
while [ $# -gt 0 ]; do
    case "$1" in
        -t)
            [ $# -ge 2 ] || usage_error "-t needs a number of seconds"
            is_number "$2" || usage_error "-t needs a number of seconds, got '$2'"
            timeout=$2
            shift 2
            ;;
        -t*)
            is_number "${1#-t}" || usage_error "-t needs a number of seconds, got '${1#-t}'"
            timeout=${1#-t}
            shift
            ;;
        -q) quiet=1; shift ;;
        -h | --help) usage; exit 0 ;;
        --) shift; break ;;
        -*) usage_error "unknown option '$1'" ;;
        *:*)
            port=${1##*:}
            host=${1%:*}
            # [::1]:5432 -> ::1
            case "$host" in \[*\]) host=${host#\[}; host=${host%\]} ;; esac
            [ -n "$host" ] || usage_error "no host in '$1'"
            if ! is_number "$port" || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
                usage_error "bad port in '$1'"
            fi
            case "$host" in *[[:space:]]*) usage_error "bad host in '$1'" ;; esac
            targets="$targets $host:$port"
            shift
            ;;
        *) usage_error "expected host:port, got '$1'" ;;
    esac
done

[ -n "$targets" ] || usage_error "no host:port to wait for"
[ -n "$probe_with" ] || {
    printf '%s: found neither nc, python nor bash to open a TCP connection\n' "$me" >&2
    exit 2
}

# ---- waiting ---------------------------------------------------------------
start=$(now)
for target in $targets; do
    port=${target##*:}
    host=${target%:*}
    say "waiting for $(address "$host" "$port")"
    until try_connect "$host" "$port"; do
        if [ "$timeout" -gt 0 ] && [ $(($(now) - start)) -ge "$timeout" ]; then
            printf '%s: timed out after %ss: %s did not accept a connection\n' \
                "$me" "$timeout" "$(address "$host" "$port")" >&2
            exit 124
        fi
        sleep 1
    done
    say "$(address "$host" "$port") is up after $(($(now) - start))s"
done

[ $# -gt 0 ] || exit 0
exec "$@"
