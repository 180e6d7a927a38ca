#!/bin/sh
# Renders configuration templates with the container's environment:
#   $NGINX_ENVSUBST_TEMPLATE_DIR (default /etc/nginx/templates)/<path><suffix>
#     -> $NGINX_ENVSUBST_OUTPUT_DIR (default /etc/nginx/conf.d)/<path>
# with the suffix NGINX_ENVSUBST_TEMPLATE_SUFFIX (default .template). Only variables
# that exist in the environment are replaced (optionally only names matching the
# regular expression NGINX_ENVSUBST_FILTER), so nginx's own $host, $uri, ... survive.
set -eu

me=${0##*/}
note() {
  if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
    printf '%s\n' "$me: $*"
  fi
}

src=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
dest=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
filter=${NGINX_ENVSUBST_FILTER:-}

[ -d "$src" ] || exit 0
if [ ! -w "$dest" ]; then
  note "ERROR: $src holds templates but $dest is not writable; templates not rendered"
  exit 0
fi

# "${A} ${B} ..." for every variable name in the environment
known=$(awk -v want="$filter" 'BEGIN {
  for (name in ENVIRON)
    if (name ~ /^[A-Za-z_][A-Za-z0-9_]*$/ && (want == "" || name ~ want))
      printf "${%s} ", name
}')

find -L "$src" -type f -name "*$suffix" | LC_ALL=C sort | while IFS= read -r template; do
  rel=${template#"$src"/}
  out=$dest/${rel%"$suffix"}
  mkdir -p "$(dirname "$out")"
  note "rendering $template to $out"
  envsubst "$known" <"$template" >"$out"
done
