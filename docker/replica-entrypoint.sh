#!/bin/sh
# The `scale` profile's streaming replica: a base backup of the primary on first start
# (pg_basebackup -R writes the standby settings), then a hot standby that serves reads.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_basebackup -h db -U "$PGUSER" -D "$PGDATA" -R -X stream --checkpoint=fast; do
    echo "waiting for the primary to allow a base backup"; sleep 2
  done
  chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on
