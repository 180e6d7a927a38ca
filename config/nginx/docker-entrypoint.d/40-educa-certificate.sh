#!/bin/sh
# Makes sure NGINX has a TLS certificate before it starts, as CERTIFICATE_MODE
# says (10-educa-settings.envsh checked it and chose NGINX_CERTIFICATE_DIR).
# NGINX always reads fullchain.pem and privkey.pem (the names Let's Encrypt
# uses) from that directory.
#
#   self-signed, acme   the certs volume. Without a certificate there, a
#       self-signed one is generated for SITE_DOMAIN, its subdomains and
#       localhost, valid EDUCA_SELF_SIGNED_DAYS days, so HTTPS works on the
#       first start; a marker file records that it is ours, and ours is made
#       again when it expires within 30 days or SITE_DOMAIN changed. In acme
#       mode that is what the site serves until the acme service installs the
#       CA's certificate (and removes the marker). A certificate without the
#       marker, from the CA or put there by hand, is never touched.
#   files               CERTIFICATE_FILES_DIR, the operator's own files,
#       mounted read-only: they must be there, readable, and belong together.
#
# Then the OCSP stapling directives are written for the certificate
# (educa-ocsp-stapling). 50-educa-certificate-watch.sh reloads NGINX when the
# files change later.

set -eu

me=${0##*/}
mode=${CERTIFICATE_MODE:-self-signed}
dir=${NGINX_CERTIFICATE_DIR:-/etc/nginx/certs}
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
    # one we did not make (the acme service's, or put there by hand) is kept
    [ -f "$marker" ] || return 1
    [ "$(cat "$marker")" = "$domain" ] || return 0
    ! openssl x509 -checkend 2592000 -noout -in "$cert" >/dev/null 2>&1
}

# The operator's files: checked, never changed. A missing or unreadable file,
# or a key that is not the certificate's, stops NGINX with what to fix.
check_own_files() {
    where="CERTIFICATE_FILES_DIR (mounted at $dir)"
    for file in "$cert" "$key"; do
        [ -e "$file" ] || fail "CERTIFICATE_MODE=files: ${file##*/} is missing from $where; set CERTIFICATE_FILES_DIR in .env to the directory holding fullchain.pem and privkey.pem"
        [ -r "$file" ] || fail "CERTIFICATE_MODE=files: ${file##*/} in $where is not readable by NGINX (uid $(id -u)): make it readable by that uid"
    done
    openssl x509 -noout -in "$cert" >/dev/null 2>&1 ||
        fail "CERTIFICATE_MODE=files: fullchain.pem in $where is not a PEM certificate"
    educa-key-matches "$cert" "$key" ||
        fail "CERTIFICATE_MODE=files: privkey.pem in $where is not the key of fullchain.pem"
    if ! openssl x509 -checkend 0 -noout -in "$cert" >/dev/null 2>&1; then
        log "WARNING: the certificate in $where has expired: browsers will refuse it"
    elif ! openssl x509 -checkend 1209600 -noout -in "$cert" >/dev/null 2>&1; then
        log "WARNING: the certificate in $where expires within 14 days"
    fi
    log "using the certificate in $where: $(openssl x509 -noout -subject -enddate -in "$cert" | tr '\n' ' ')"
}

fail() {
    echo "$me: $*" >&2
    exit 1
}

stapling() {
    responder=$(educa-ocsp-stapling "$cert")
    [ "$responder" = none ] || log "OCSP stapling on (responder $responder)"
}

if [ "$mode" = files ]; then
    check_own_files
    stapling
    exit 0
fi

if ! needs_new_certificate; then
    log "using the certificate in $dir"
    stapling
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
stapling
