#!/bin/sh
# Makes sure NGINX has a TLS certificate before it starts.
#
# The certificate and key are /etc/nginx/certs/fullchain.pem and privkey.pem
# (the names Let's Encrypt uses), in a volume so they survive restarts.
#   * Both present: used as they are (a real certificate is never touched).
#   * Missing: a self-signed certificate is generated for SITE_DOMAIN, its
#     subdomains and localhost, valid for a year, so the site works over HTTPS
#     on the first start. A marker file records that it is ours.
#   * Ours and expiring within 30 days, or made for another SITE_DOMAIN:
#     generated again.
# To use a real certificate, put fullchain.pem and privkey.pem in the volume
# (or mount them there) and reload NGINX; see config/nginx/README.md.

set -eu

me=${0##*/}
dir=${EDUCA_CERT_DIR:-/etc/nginx/certs}
cert=$dir/fullchain.pem
key=$dir/privkey.pem
marker=$dir/.self-signed
domain=${SITE_DOMAIN:-localhost}
days=${EDUCA_SELF_SIGNED_DAYS:-365}

log() {
    echo "$me: $*"
}

needs_new_certificate() {
    [ -s "$cert" ] && [ -s "$key" ] || return 0
    # a certificate we did not make is the operator's business
    [ -f "$marker" ] || return 1
    [ "$(cat "$marker")" = "$domain" ] || return 0
    ! openssl x509 -checkend 2592000 -noout -in "$cert" >/dev/null 2>&1
}

if ! needs_new_certificate; then
    log "using the certificate in $dir"
    exit 0
fi

command -v openssl >/dev/null 2>&1 || {
    echo "$me: no certificate in $dir and no openssl to make one" >&2
    exit 1
}
[ -w "$dir" ] || {
    echo "$me: no usable certificate in $dir and the directory is not writable" >&2
    exit 1
}

# subjectAltName: an IP address or a name (with its subdomains), plus localhost
case "$domain" in
    *[!0-9.]*) san="DNS:$domain,DNS:*.$domain" ;;
    *) san="IP:$domain" ;;
esac
[ "$domain" = localhost ] || san="$san,DNS:localhost"
san="$san,IP:127.0.0.1,IP:::1"

log "generating a self-signed certificate for $domain ($san), valid $days days"
umask 077
tmp_key=$(mktemp "$dir/.privkey.XXXXXX")
tmp_cert=$(mktemp "$dir/.fullchain.XXXXXX")
trap 'rm -f "$tmp_key" "$tmp_cert"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
    -days "$days" -subj "/CN=$domain" \
    -addext "subjectAltName=$san" \
    -addext "keyUsage=critical,digitalSignature,keyCertSign" \
    -addext "extendedKeyUsage=serverAuth" \
    -keyout "$tmp_key" -out "$tmp_cert" 2>/dev/null
chmod 0600 "$tmp_key"
chmod 0644 "$tmp_cert"
# the key first: NGINX never sees a certificate without its key
mv -f "$tmp_key" "$key"
mv -f "$tmp_cert" "$cert"
printf '%s\n' "$domain" >"$marker"
log "wrote $cert and $key"
