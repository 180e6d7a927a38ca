#!/bin/sh
# Makes sure NGINX has a TLS certificate before it starts, as CERTIFICATE_MODE
# says (10-educa-settings.envsh checked it and chose NGINX_CERTIFICATE_DIR).
# NGINX always reads fullchain.pem and privkey.pem (the names Let's Encrypt
# uses) from that directory.
#
#   self-signed, acme   the certs volume. Without a certificate there, one
#       is made for SITE_DOMAIN, its subdomains and localhost, valid
#       EDUCA_SELF_SIGNED_DAYS days, so HTTPS works on the first start. It is
#       signed by the stack's own CA (local-ca.pem beside it, valid ten
#       years, its key readable by NGINX's user only), which clients trust
#       once: renewing the certificate does not change what they trust, and
#       the certificate itself is an ordinary server certificate (no CA
#       rights), as strict validators and TLS scanners require. A marker file
#       records that it is ours, and ours is made again when it expires
#       within 30 days, SITE_DOMAIN changed or the CA is missing. In acme
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
ca_cert=$dir/local-ca.pem
ca_key=$dir/.local-ca.key
domain=${SITE_DOMAIN:-localhost}
days=${EDUCA_SELF_SIGNED_DAYS:-365}

# every line: UTC time, level, script, message
log() {
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) INFO $me: $*"
}

needs_new_certificate() {
    [ -s "$cert" ] && [ -s "$key" ] || return 0
    # one we did not make (the acme service's, or put there by hand) is kept
    [ -f "$marker" ] || return 1
    [ "$(cat "$marker")" = "$domain" ] || return 0
    [ -s "$ca_cert" ] && [ -s "$ca_key" ] || return 0
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
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) ERROR $me: $*" >&2
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

command -v openssl >/dev/null 2>&1 || fail "no certificate in $dir and no openssl to make one"
[ -w "$dir" ] || fail "no usable certificate in $dir and the directory is not writable"

# subjectAltName: an IP address or a name (with its subdomains), plus localhost.
# No wildcard under a single label (*.localhost): no client matches one, and
# strict validators refuse the whole certificate for it.
case "$domain" in
    *.*[!0-9.]* | *[!0-9.]*.*) san="DNS:$domain,DNS:*.$domain" ;;
    *[!0-9.]*) san="DNS:$domain" ;;
    *) san="IP:$domain" ;;
esac
[ "$domain" = localhost ] || san="$san,DNS:localhost"
san="$san,IP:127.0.0.1,IP:::1"
# The CA may sign for exactly these names (name constraints): trusting it
# trusts nothing but this site, even should its key leak.
case "$domain" in
    *[!0-9.]*) permitted="permitted;DNS:$domain" ;;
    *) permitted="permitted;IP:$domain/255.255.255.255" ;;
esac
[ "$domain" = localhost ] || permitted="$permitted,permitted;DNS:localhost"
permitted="$permitted,permitted;IP:127.0.0.1/255.255.255.255,permitted;IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"

umask 077
# a random serial of 120 bits, positive as RFC 5280 wants
serial() {
    echo "0x1$(openssl rand -hex 15)"
}

# The CA: made once, kept while it has more than 30 days to live and is the
# one for this SITE_DOMAIN (its name constraints hold the domain).
ca_name="educa local CA for $domain"
ca_is_usable() {
    [ -s "$ca_cert" ] && [ -s "$ca_key" ] &&
        openssl x509 -checkend 2592000 -noout -in "$ca_cert" >/dev/null 2>&1 &&
        [ "$(openssl x509 -noout -subject -nameopt multiline -in "$ca_cert" | sed -n 's/^ *commonName *= //p')" = "$ca_name" ]
}
if ! ca_is_usable; then
    log "generating the stack's own CA ($ca_cert), valid 3650 days"
    tmp_ca_key=$(mktemp "$dir/.local-ca-key.XXXXXX")
    tmp_ca_cert=$(mktemp "$dir/.local-ca.XXXXXX")
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
        -days 3650 -set_serial "$(serial)" -subj "/CN=$ca_name" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "nameConstraints=critical,$permitted" \
        -keyout "$tmp_ca_key" -out "$tmp_ca_cert" 2>/dev/null
    chmod 0600 "$tmp_ca_key"
    chmod 0644 "$tmp_ca_cert"
    mv -f "$tmp_ca_key" "$ca_key"
    mv -f "$tmp_ca_cert" "$ca_cert"
fi

log "generating a certificate for $domain ($san), valid $days days, signed by $ca_cert"
tmp_key=$(mktemp "$dir/.privkey.XXXXXX")
tmp_cert=$(mktemp "$dir/.fullchain.XXXXXX")
tmp_request=$(mktemp "$dir/.request.XXXXXX")
tmp_extensions=$(mktemp "$dir/.extensions.XXXXXX")
trap 'rm -f "$tmp_key" "$tmp_cert" "$tmp_request" "$tmp_extensions" "${tmp_ca_key:-}" "${tmp_ca_cert:-}"' EXIT
printf '%s\n' \
    "subjectAltName=$san" \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" \
    "subjectKeyIdentifier=hash" \
    "authorityKeyIdentifier=keyid" >"$tmp_extensions"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=$domain" -keyout "$tmp_key" -out "$tmp_request" 2>/dev/null
openssl x509 -req -in "$tmp_request" -CA "$ca_cert" -CAkey "$ca_key" -sha256 \
    -set_serial "$(serial)" -days "$days" -extfile "$tmp_extensions" -out "$tmp_cert" 2>/dev/null
chmod 0600 "$tmp_key"
chmod 0644 "$tmp_cert"
# the key first: NGINX never sees a certificate without its key
mv -f "$tmp_key" "$key"
mv -f "$tmp_cert" "$cert"
printf '%s\n' "$domain" >"$marker"
log "wrote $cert and $key"
stapling
