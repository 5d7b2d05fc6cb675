#!/bin/sh
# Run once, when the primary's data folder is created (docker-entrypoint-initdb.d): let the
# replica of the `scale` profile stream from it with the same role and password.
set -eu
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"
