#!/bin/sh
# The application's own database role, made once: the postgres image runs
# this (from /docker-entrypoint-initdb.d) when it starts on an empty data
# volume, as the bootstrap superuser ("postgres") over the Unix socket.
#
# The application logs in as EDUCA_DB_USER (POSTGRES_USER of .env) with
# POSTGRES_PASSWORD. That role owns the database and its public schema, so
# migrations create and alter everything they need, and holds nothing else:
# no SUPERUSER (which would make `COPY ... TO PROGRAM` a shell in this
# container), CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS, and no
# connection to the other databases. The superuser keeps no password: it
# logs in only over the socket inside this container
# (`docker compose exec db psql -U postgres`).
set -eu

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set app_user="$EDUCA_DB_USER" --set db="$POSTGRES_DB" --set admin="$POSTGRES_USER" <<'SQL'
-- read by psql itself, so the password is on no command line
\set app_password `cat /run/secrets/postgres_password`
CREATE ROLE :"app_user" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'app_password';
\unset app_password
ALTER DATABASE :"db" OWNER TO :"app_user";
ALTER SCHEMA public OWNER TO :"app_user";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
REVOKE CONNECT ON DATABASE template1 FROM PUBLIC;
ALTER ROLE :"admin" PASSWORD NULL;
SQL
