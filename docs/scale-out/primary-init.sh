#!/bin/sh
# Run once by the postgres image when db1's cluster is created: a user the
# standby copies and streams with, allowed from the compose network.
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD 'replicate';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
