#!/bin/sh
# Entrypoint of the redis stand-in image, with the behaviour of the official image:
#  - `docker run IMAGE --opt ...` or `docker run IMAGE /path/x.conf` runs redis-server;
#  - started as root, it gives /data (the working directory) to "redis" and re-executes
#    itself as that user, so the server runs as PID 1 without root rights;
#  - protected mode is off unless a given config file sets it. Debian's
#    /etc/redis/redis.conf is never loaded implicitly, so the server binds all
#    interfaces like upstream's built-in default.
set -e

case "${1:-}" in
  -* | *.conf) set -- redis-server "$@" ;;
esac

if [ "${1:-}" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

if [ "${1:-}" = redis-server ]; then
  # the official image is built with protected mode off; Debian's binary has it on
  conf=
  case "${2:-}" in
    - | -v | --version | -h | --help | --test-memory | --check-system) conf=- ;;
    '' | -*) ;;
    *) conf=$2 ;;
  esac
  if [ -z "$conf" ]; then
    shift
    set -- redis-server --protected-mode no "$@"
  elif [ "$conf" != - ] && ! grep -Eqi '^[[:space:]]*protected-mode[[:space:]]' "$conf" 2>/dev/null; then
    shift 2
    set -- redis-server "$conf" --protected-mode no "$@"
  fi
  # files written by the server are private unless the caller chose a umask
  if [ "$(umask)" = 0022 ]; then umask 0077; fi
fi

exec "$@"
