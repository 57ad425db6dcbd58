#!/bin/sh
# db2: on first start, a base backup of db1 that streams from it as the
# standby named db2 (-R writes primary_conninfo and standby.signal); then the
# server. Promoted (pg_ctl promote), it takes writes.
set -e
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_basebackup -h db1 -U replicator -D "$PGDATA" -R -X stream; do sleep 1; done
  echo "primary_conninfo = 'host=db1 user=replicator password=replicate application_name=db2'" >> "$PGDATA/postgresql.auto.conf"
  chmod 700 "$PGDATA"
fi
exec postgres
