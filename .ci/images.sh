#!/usr/bin/env bash
# .ci/images.sh - make the container images of the stack available without a registry.
#
# Why this exists
#   The Dockerfile and docker-compose.yml of the project name the official images
#   (python, postgres, redis, nginx). CI machines cannot reach any container registry,
#   so those names cannot be pulled there. This script provides local stand-ins under
#   the very same names, built from Debian trixie packages (the Debian release the
#   official images are based on), so the product files stay untouched.
#
# What it guarantees when it exits 0
#   * `docker compose` (Compose v2 CLI plugin) works; `docker buildx` is installed too.
#     Both come from Debian trixie's docker-compose / docker-buildx packages, unpacked
#     into $DOCKER_CONFIG/cli-plugins (default ~/.docker/cli-plugins). The host's apt
#     sources are not changed: the trixie index is fetched into a throw-away apt state.
#   * Each of these names exists in the local image store:
#         python:3.13-slim  python:3.13-slim-trixie  python:3.13
#         postgres:17       postgres:17-trixie
#         redis:8.0         redis:8.0-trixie
#         nginx:1.26        nginx:1.26-trixie
#     For every name: an existing image is kept (a real one wins); otherwise a quiet,
#     short `docker pull` is tried; if that fails too, the stand-in is built from
#     .ci/images/<name>/ on top of educa-ci/trixie:base (a debootstrapped trixie
#     minbase that trusts the host's extra CA certificates). A stand-in is only tagged
#     after the version it really contains was checked against the tag; it also gets
#     an exact-version tag (e.g. redis:8.0.2).
#   * Stand-ins honour the parts of the official images' interface the stack uses:
#       python   - python/pip on PATH (/usr/local/bin), venv, pip trusts the system CA
#                  bundle (/etc/pip.conf), system-wide `pip install` allowed.
#       postgres - POSTGRES_USER/PASSWORD/DB (+ *_FILE), POSTGRES_INITDB_ARGS,
#                  POSTGRES_INITDB_WALDIR, POSTGRES_HOST_AUTH_METHOD, initdb on an empty
#                  PGDATA, /docker-entrypoint-initdb.d, runs as `postgres` (uid 999),
#                  extra args passed to postgres, pg_isready/psql.
#       redis    - redis-server arguments (also bare `--opt`/`*.conf`), protected mode
#                  off and all interfaces bound by default, TLS, redis-cli, /data,
#                  runs as `redis` (uid 999).
#       nginx    - stock nginx.conf layout (conf.d/*.conf, mime.types, uwsgi_params),
#                  /docker-entrypoint.d scripts, envsubst of /etc/nginx/templates,
#                  user nginx (101:101), logs on stdout/stderr.
#   * Idempotent: a second run only inspects images and takes a few seconds. A stand-in
#     whose recipe (.ci/images/<name>/) changed since it was built is rebuilt; images
#     without the stand-in label (real ones) are never touched.
#   * The debootstrapped rootfs is cached as a tarball in $EDUCA_CI_CACHE_DIR (default
#     ${XDG_CACHE_HOME:-~/.cache}/educa-ci). A missing, old or broken cache only means
#     that debootstrap runs again.
#
# Environment it exports
#   Nothing is needed by callers: buildx 0.13 drives the BuildKit built into Docker
#   Engine 20.10 (BuildKit v0.8) through its `docker` driver, so `docker build` and
#   `docker compose build` work with their defaults. Limits of that BuildKit: no
#   `# syntax=` line (the frontend image cannot be pulled) and no Dockerfile heredocs or
#   `COPY --link`; `RUN --mount=type=cache` works. Only if buildx turns out not to work
#   with the engine does this script export DOCKER_BUILDKIT=0 for its own builds and
#   print that callers must do the same (compose then uses the classic builder too).
#
# Knobs (environment)
#   EDUCA_CI_CACHE_DIR       cache directory (see above)
#   EDUCA_CI_DEBIAN_MIRROR   Debian archive, default: the one this machine's apt uses
#   EDUCA_CI_PULL=0          do not try `docker pull` at all
#   EDUCA_CI_PULL_TIMEOUT    seconds per pull attempt, default 20
#   EDUCA_CI_REBUILD=1       rebuild every stand-in (and the base image)
#   EDUCA_CI_BASE_MAX_AGE    days after which the rootfs cache is refreshed, default 14
#
# Needs: bash, docker, and root for debootstrap/chroot/apt (only when something must be
# built or installed).

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RECIPES=$SCRIPT_DIR/images
SUITE=trixie
# The Debian archive this machine's apt already uses (deb822 or one-line
# sources), so the stand-ins come from wherever the host gets its packages.
host_mirror() {
  local files=() file
  for file in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$file" ] && files+=("$file")
  done
  [ ${#files[@]} -gt 0 ] || return 0
  awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }
       $1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' "${files[@]}" |
    { grep -v -- '-security' || true; } | head -n 1 || true
}
MIRROR=${EDUCA_CI_DEBIAN_MIRROR:-$(host_mirror)}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
CACHE_DIR=${EDUCA_CI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/educa-ci}
PULL=${EDUCA_CI_PULL:-1}
PULL_TIMEOUT=${EDUCA_CI_PULL_TIMEOUT:-20}
REBUILD=${EDUCA_CI_REBUILD:-0}
BASE_MAX_AGE=${EDUCA_CI_BASE_MAX_AGE:-14}
PLUGIN_DIR=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
HOST_CA_DIR=/usr/local/share/ca-certificates

BASE_IMAGE=educa-ci/$SUITE:base
# Bump when the rootfs preparation below changes: old caches are then ignored.
BASE_RECIPE=2
ROOTFS_CACHE=$CACHE_DIR/rootfs-$SUITE-minbase-v$BASE_RECIPE.tar
LABEL_KEY=org.educa-ci.standin
RECIPE_KEY=org.educa-ci.recipe

STANDINS=(python postgres redis nginx)
declare -A TAGS=(
  [python]="python:3.13-slim python:3.13-slim-trixie python:3.13"
  [postgres]="postgres:17 postgres:17-trixie"
  [redis]="redis:8.0 redis:8.0-trixie"
  [nginx]="nginx:1.26 nginx:1.26-trixie"
)
# Version series promised by the tags above; the built image must contain it.
declare -A SERIES=([python]=3.13 [postgres]=17 [redis]=8.0 [nginx]=1.26)
# Exact-version tag, %s = the version found in the image.
declare -A EXACT_TAG=([python]=python:%s-slim [postgres]=postgres:%s [redis]=redis:%s [nginx]=nginx:%s)
# Prints the version contained in the image (entrypoint bypassed).
declare -A PROBE=(
  [python]="python3 -c 'import platform; print(platform.python_version())'"
  [postgres]="postgres -V | sed -n 's/^postgres (PostgreSQL) \\([0-9.]*\\).*/\\1/p'"
  [redis]="redis-server --version | sed -n 's/.* v=\\([0-9.]*\\) .*/\\1/p'"
  [nginx]="nginx -v 2>&1 | sed -n 's|^nginx version: nginx/\\([0-9.]*\\).*|\\1|p'"
)

TMP_ROOT=''
log() { printf '[images] %s\n' "$*" >&2; }
die() { printf '[images] ERROR: %s\n' "$*" >&2; exit 1; }

cleanup() {
  local rc=$? j
  for j in $(jobs -p); do kill "$j" 2>/dev/null || true; done
  if [ -n "$TMP_ROOT" ] && [ -d "$TMP_ROOT" ]; then
    # a failed debootstrap may leave proc/sys mounted inside the rootfs
    awk -v p="$TMP_ROOT/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r |
      while IFS= read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$TMP_ROOT" || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM

tmpdir() { # tmpdir NAME -> a directory below the run's scratch dir (made in main)
  mkdir -p "$TMP_ROOT/$1"
  printf '%s\n' "$TMP_ROOT/$1"
}

need_root() {
  [ "$(id -u)" = 0 ] || die "$1 needs root (debootstrap, chroot, apt)"
}

need_mirror() {
  [ -n "$MIRROR" ] || die "no Debian archive in /etc/apt to take packages from: set EDUCA_CI_DEBIAN_MIRROR"
}

HOST_APT_UPDATED=0
host_apt_install() { # installs Debian packages on the host from its own sources
  need_root "installing $*"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$HOST_APT_UPDATED" = 0 ]; then
    apt-get update -qq >/dev/null
    HOST_APT_UPDATED=1
  fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- 1. docker CLI plugins -------------------------------------------------------------

fetch_trixie_debs() { # fetch_trixie_debs DESTDIR PKG... ; host apt sources stay untouched
  local dest=$1; shift
  command -v apt-get >/dev/null || die "apt-get is needed to fetch $*"
  [ -r "$KEYRING" ] || die "$KEYRING is missing (package debian-archive-keyring)"
  local st; st=$(tmpdir apt-state)
  mkdir -p "$st/lists/partial" "$st/cache/archives/partial" "$st/parts" "$st/prefs"
  need_mirror
  printf 'deb [signed-by=%s] %s %s main\n' "$KEYRING" "$MIRROR" "$SUITE" >"$st/sources.list"
  local opts=(
    -o "Dir::Etc::SourceList=$st/sources.list" -o "Dir::Etc::SourceParts=$st/parts"
    -o "Dir::Etc::Preferences=$st/prefs/none" -o "Dir::Etc::PreferencesParts=$st/prefs"
    -o "Dir::State::Lists=$st/lists" -o "Dir::Cache=$st/cache"
    -o APT::Sandbox::User=root -o Acquire::Languages=none -o Debug::NoLocking=1
  )
  apt-get "${opts[@]}" -qq update >/dev/null || die "cannot read the $SUITE index from $MIRROR"
  (cd "$dest" && apt-get "${opts[@]}" -qq download "$@" >/dev/null) || die "cannot download $*"
}

install_plugins() {
  local want=() p
  docker compose version >/dev/null 2>&1 || want+=(docker-compose)
  docker buildx version >/dev/null 2>&1 || want+=(docker-buildx)
  if [ "${#want[@]}" -gt 0 ]; then
    log "installing docker CLI plugin(s) from Debian $SUITE: ${want[*]}"
    local debs x; debs=$(tmpdir debs); x=$(tmpdir debs-x)
    fetch_trixie_debs "$debs" "${want[@]}"
    for p in "$debs"/*.deb; do dpkg -x "$p" "$x"; done
    mkdir -p "$PLUGIN_DIR"
    for p in "${want[@]}"; do
      install -m 0755 "$x/usr/libexec/docker/cli-plugins/$p" "$PLUGIN_DIR/$p"
    done
  fi
  docker compose version >/dev/null 2>&1 || die "docker compose still does not work"
  log "$(docker compose version)"
  if docker buildx version >/dev/null 2>&1 &&
    docker buildx inspect 2>/dev/null | grep -qiE '^ *status: *running'; then
    log "buildx: $(docker buildx version | awk '{print $2}') using the engine's BuildKit"
  else
    export DOCKER_BUILDKIT=0
    log "WARNING: buildx does not work with this engine; callers must export DOCKER_BUILDKIT=0"
  fi
}

# --- image bookkeeping -----------------------------------------------------------------

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

label_of() { # label_of IMAGE KEY
  docker image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

recipe_hash() { # content hash of .ci/images/NAME (file names and contents)
  (cd "$RECIPES/$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
    { cat; printf 'base=%s\n' "$BASE_RECIPE"; } | sha256sum | cut -c1-16
}

try_pull() {
  [ "$PULL" != 0 ] || return 1
  timeout "$PULL_TIMEOUT" docker pull -q "$1" >/dev/null 2>&1
}

# --- 2. base rootfs --------------------------------------------------------------------

tidy_rootfs() { # settings every stand-in image shares; result goes into the cache
  local r=$1
  rm -f "$r/etc/apt/sources.list"
  cat >"$r/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat >"$r/etc/apt/apt.conf.d/90educa-ci" <<'EOF'
// container image: no recommends, no package caches, no translations
APT::Install-Recommends "false";
APT::Keep-Downloaded-Packages "false";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
EOF
  cat >"$r/etc/dpkg/dpkg.cfg.d/90educa-ci" <<'EOF'
# container image, as Debian's slim images: keep licences, drop other
# documentation and the programs' message translations
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  find "$r/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$r/usr/share/man/"* "$r/usr/share/info/"*
  find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  # no daemons may be started by package scripts inside image builds
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
  chmod 0755 "$r/usr/sbin/policy-rc.d"
  rm -rf "$r/var/lib/apt/lists/"* "$r/var/cache/apt/"*.bin "$r/var/cache/apt/archives/"*.deb
  rm -f "$r/var/log/bootstrap.log" "$r/var/log/dpkg.log" "$r/var/log/alternatives.log"
  rm -rf "$r/var/log/apt/"*
  : >"$r/etc/resolv.conf"
  echo localhost >"$r/etc/hostname"
  [ ! -e "$r/etc/machine-id" ] || : >"$r/etc/machine-id"
}

make_rootfs() { # make_rootfs DIR: cached tarball if usable, debootstrap otherwise
  local r=$1
  if [ -s "$ROOTFS_CACHE" ] && [ "$REBUILD" = 0 ] &&
    [ -z "$(find "$ROOTFS_CACHE" -mtime +"$BASE_MAX_AGE" 2>/dev/null)" ]; then
    log "unpacking cached rootfs $ROOTFS_CACHE"
    mkdir -p "$r"
    if tar -C "$r" --numeric-owner -xpf "$ROOTFS_CACHE"; then
      return 0
    fi
    log "cache is unreadable, bootstrapping again"
    rm -f "$ROOTFS_CACHE"
    rm -rf --one-file-system "$r"
  fi
  command -v debootstrap >/dev/null || host_apt_install debootstrap
  need_mirror
  log "debootstrap --variant=minbase $SUITE from $MIRROR"
  local dlog; dlog=$(tmpdir logs)/debootstrap.log
  if ! debootstrap --variant=minbase --include=ca-certificates --keyring="$KEYRING" \
    "$SUITE" "$r" "$MIRROR" >"$dlog" 2>&1; then
    tail -n 30 "$dlog" >&2
    [ ! -f "$r/debootstrap/debootstrap.log" ] || tail -n 30 "$r/debootstrap/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  tidy_rootfs "$r"
  mkdir -p "$CACHE_DIR"
  if tar -C "$r" --numeric-owner --exclude='./proc/*' --exclude='./sys/*' \
    -cf "$ROOTFS_CACHE.part" .; then
    mv -f "$ROOTFS_CACHE.part" "$ROOTFS_CACHE"
  else
    rm -f "$ROOTFS_CACHE.part"
    log "WARNING: could not write the rootfs cache"
  fi
}

build_base() {
  need_root "building $BASE_IMAGE"
  local r; r=$(tmpdir rootfs)/root
  make_rootfs "$r"
  # The machine's own extra CAs (e.g. a TLS-inspecting proxy's): added at
  # import time, never cached, so the cache stays valid when they change.
  if [ -d "$HOST_CA_DIR" ] && [ -n "$(find "$HOST_CA_DIR" -name '*.crt' -print -quit)" ]; then
    cp -a "$HOST_CA_DIR/." "$r/usr/local/share/ca-certificates/"
  fi
  local calog; calog=$(tmpdir logs)/update-ca-certificates.log
  if ! chroot "$r" update-ca-certificates --fresh >"$calog" 2>&1; then
    cat "$calog" >&2
    die "update-ca-certificates failed in the rootfs"
  fi
  log "importing $BASE_IMAGE"
  tar -C "$r" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . |
    docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' \
      --change "LABEL $RECIPE_KEY=base-$BASE_RECIPE" \
      --message "debootstrap --variant=minbase $SUITE" - "$BASE_IMAGE" >/dev/null
  rm -rf --one-file-system "$r"
}

# --- 3. stand-ins ----------------------------------------------------------------------

# names of $1's tags that must be (re)provided; empty output = nothing to do
missing_tags() {
  local s=$1 hash=$2 t
  for t in ${TAGS[$s]}; do
    if have_image "$t"; then
      local mine; mine=$(label_of "$t" "$LABEL_KEY")
      if [ -z "$mine" ]; then continue; fi # not ours: a real image, keep it
      if [ "$REBUILD" = 0 ] && [ "$(label_of "$t" "$RECIPE_KEY")" = "$hash" ]; then continue; fi
      echo "$t"
    elif try_pull "$t"; then
      log "pulled $t"
    else
      echo "$t"
    fi
  done
}

verify_and_tag() { # verify_and_tag NAME CANDIDATE TAG...
  local s=$1 img=$2; shift 2
  local v
  v=$(docker run --rm --entrypoint sh "$img" -c "${PROBE[$s]}") || die "$s: version probe failed"
  case "$v" in
    "${SERIES[$s]}" | "${SERIES[$s]}".*) ;;
    *) die "$s stand-in contains version '${v:-?}', not ${SERIES[$s]}: refusing to tag $*" ;;
  esac
  local t exact
  # shellcheck disable=SC2059 # the format comes from EXACT_TAG
  exact=$(printf "${EXACT_TAG[$s]}" "$v")
  local old=() id
  for t in "$@" "$exact"; do
    if [ -n "$(label_of "$t" "$LABEL_KEY")" ]; then
      old+=("$(docker image inspect -f '{{.Id}}' "$t")")
    fi
  done
  for t in "$@" "$exact"; do docker tag "$img" "$t"; done
  docker rmi "$img" >/dev/null
  # a stand-in replaced by a newer recipe is dropped once no name points to it
  for id in ${old[@]+"${old[@]}"}; do
    if [ "$(docker image inspect -f '{{len .RepoTags}}' "$id" 2>/dev/null)" = 0 ]; then
      docker rmi "$id" >/dev/null 2>&1 || true
    fi
  done
  log "$s $v -> $* $exact"
}

build_standins() {
  declare -A todo=() hashes=()
  local s
  for s in "${STANDINS[@]}"; do
    hashes[$s]=$(recipe_hash "$s")
    local m; m=$(missing_tags "$s" "${hashes[$s]}" | xargs)
    [ -z "$m" ] || todo[$s]=$m
  done
  if [ "${#todo[@]}" = 0 ]; then
    log "all images present"
    return 0
  fi
  # a base made by an older recipe is made again (BASE_RECIPE, its label)
  if [ "$REBUILD" != 0 ] || [ "$(label_of "$BASE_IMAGE" "$RECIPE_KEY")" != "base-$BASE_RECIPE" ]; then
    build_base
  fi

  # build in parallel (apt downloads overlap with unpacking), then check and tag
  local logs; logs=$(tmpdir logs)
  declare -A pids=()
  for s in "${STANDINS[@]}"; do
    [ -n "${todo[$s]:-}" ] || continue
    log "building stand-in $s for: ${todo[$s]}"
    docker build --label "$LABEL_KEY=$s" --label "$RECIPE_KEY=${hashes[$s]}" \
      -t "educa-ci/candidate-$s:latest" "$RECIPES/$s" >"$logs/$s.log" 2>&1 &
    pids[$s]=$!
  done
  local failed=()
  for s in "${!pids[@]}"; do
    if ! wait "${pids[$s]}"; then
      log "build of $s failed; last lines of its log:"
      tail -n 40 "$logs/$s.log" >&2
      failed+=("$s")
    fi
  done
  [ "${#failed[@]}" = 0 ] || die "stand-in build failed: ${failed[*]}"
  for s in "${STANDINS[@]}"; do
    [ -n "${todo[$s]:-}" ] || continue
    # shellcheck disable=SC2086
    verify_and_tag "$s" "educa-ci/candidate-$s:latest" ${todo[$s]}
  done
}

# --- 4. report -------------------------------------------------------------------------

report() {
  local s t
  printf '%-28s %-14s %s\n' IMAGE ID SIZE
  for s in "${STANDINS[@]}"; do
    for t in ${TAGS[$s]}; do
      docker image ls --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}' "$t" |
        awk '{ printf "%-28s %-14s %s\n", $1, $2, $3 }'
    done
  done
}

main() {
  command -v docker >/dev/null || die "docker CLI not found"
  docker info >/dev/null 2>&1 || die "docker engine not reachable"
  TMP_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/educa-ci-images.XXXXXX")
  install_plugins
  build_standins
  report
}

main "$@"
