#!/bin/sh
# Reloads NGINX when its certificate changes, so a certificate the acme
# service installs, or an operator's renewed files, are served without hands.
#
# Started by the entrypoint before NGINX; runs in the background for the
# container's life. Every CERTIFICATE_WATCH_INTERVAL seconds (default 10) it
# compares fullchain.pem and privkey.pem in NGINX_CERTIFICATE_DIR with what
# NGINX loaded. On a change it waits until the key belongs to the
# certificate (the files are replaced one at a time), rewrites the OCSP
# stapling directives, tests the whole configuration and only then sends
# `nginx -s reload`: a graceful reload, in which new connections get the new
# certificate while open requests and WebSockets finish on the old workers.
# A configuration that fails the test is not loaded; NGINX keeps serving
# what it has and the error is logged.

set -eu

me=${0##*/}
dir=${NGINX_CERTIFICATE_DIR:-/etc/nginx/certs}
interval=${CERTIFICATE_WATCH_INTERVAL:-10}
cert=$dir/fullchain.pem
key=$dir/privkey.pem

# every line: UTC time, level, script, message
log() {
    level=$1
    shift
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $level $me: $*"
}

case "$interval" in
    '' | *[!0-9]* | 0)
        log ERROR "CERTIFICATE_WATCH_INTERVAL must be a whole number of seconds above 0, got '$interval'" >&2
        exit 1
        ;;
esac

fingerprint() {
    cat "$cert" "$key" 2>/dev/null | cksum
}

watch() {
    loaded=$(fingerprint)
    reported=''
    while sleep "$interval"; do
        now=$(fingerprint)
        [ "$now" != "$loaded" ] || continue
        if ! educa-key-matches "$cert" "$key"; then
            # half replaced, or broken: looked at again next time
            [ "$reported" = "$now" ] || log WARN "the certificate and key in $dir do not belong together (yet): not reloading"
            reported=$now
            continue
        fi
        educa-ocsp-stapling "$cert" >/dev/null
        if errors=$(nginx -t -q 2>&1); then
            nginx -s reload
            loaded=$now
            log INFO "new certificate in $dir, NGINX reloaded: $(openssl x509 -noout -serial -enddate -in "$cert" | tr '\n' ' ')"
        else
            [ "$reported" = "$now" ] || log WARN "the new certificate in $dir fails NGINX's configuration test, not loaded: $errors"
            reported=$now
        fi
    done
}

watch </dev/null &
log INFO "watching $dir every ${interval}s"
