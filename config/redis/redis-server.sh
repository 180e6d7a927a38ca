#!/bin/sh
# Starts Redis for educa (the cache service's command); arguments are added
# to the server's (docker-compose.tls.yml passes its TLS options this way).
#
# Access: the default user is off, so a connection that has not logged in
# may run nothing. The application logs in as the ACL user "educa" (the user
# name in REDIS_URL) with REDIS_PASSWORD, and may run every command except
# the @dangerous ones (FLUSHALL, CONFIG, DEBUG, KEYS, MODULE, SHUTDOWN,
# REPLICAOF, ...): with the password, nobody can reconfigure Redis, make it
# write files or empty every database. FLUSHDB stays allowed: the cache
# empties its own database after an outage (courses/cache.py).
#
# The password is read from the secret file here and handed to Redis as its
# SHA-256 alone: it is in neither the container's environment nor its
# recorded command (docker inspect), nor in Redis's process arguments.
#
# Everything in this Redis can be rebuilt (sessions live in PostgreSQL):
# when memory is full the least recently used keys go.
set -eu

password_hash=$(printf '%s' "$(cat /run/secrets/redis_password)" | sha256sum | cut -d ' ' -f 1)

exec docker-entrypoint.sh redis-server \
    --user default off \
    --user educa on "#$password_hash" '~*' '&*' +@all -@dangerous +flushdb \
    --appendonly yes \
    --appendfsync everysec \
    --maxmemory "$REDIS_MAXMEMORY" \
    --maxmemory-policy allkeys-lru \
    "$@"
