#!/bin/sh
# Run once on an empty data volume (/docker-entrypoint-initdb.d): the new
# cluster's postgresql.conf includes the archiving settings of the image, so
# every WAL segment reaches the backups from the first start on.
set -eu
printf "\n# educa: WAL archiving for point-in-time restores\ninclude '/etc/postgresql/archiving.conf'\n" \
    >> "$PGDATA/postgresql.conf"
