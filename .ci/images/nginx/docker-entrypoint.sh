#!/bin/sh
# Entrypoint of the nginx stand-in image. When the command is nginx (or nginx-debug) it
# first runs the hooks in /docker-entrypoint.d in sorted order: executable *.sh files
# are run, executable *.envsh files are sourced (they may export variables for the
# later hooks and for nginx), anything else is skipped. Then it executes the command.
# NGINX_ENTRYPOINT_QUIET_LOGS=1 silences the messages.
set -e

hook_dir=/docker-entrypoint.d

note() {
  if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
    printf '%s\n' "$0: $*"
  fi
}

if [ "${1:-}" = nginx ] || [ "${1:-}" = nginx-debug ]; then
  hooks=$(find -L "$hook_dir" -type f 2>/dev/null | LC_ALL=C sort)
  if [ -z "$hooks" ]; then
    note "no files in $hook_dir, nothing to configure"
  else
    note "running the hooks in $hook_dir"
    # here-document, not a pipe: sourced hooks must change this shell's environment
    while IFS= read -r hook; do
      case "$hook" in
        *.envsh)
          if [ -x "$hook" ]; then
            note "sourcing $hook"
            # shellcheck disable=SC1090
            . "$hook"
          else
            note "skipping $hook: not executable"
          fi
          ;;
        *.sh)
          if [ -x "$hook" ]; then
            note "running $hook"
            "$hook"
          else
            note "skipping $hook: not executable"
          fi
          ;;
        *) note "skipping $hook: neither *.sh nor *.envsh" ;;
      esac
    done <<HOOKS
$hooks
HOOKS
    note "configuration done, starting $1"
  fi
fi

exec "$@"
