#!/bin/sh
# Run once by the official postgres image when the primary's data directory is
# created (/docker-entrypoint-initdb.d): lets the replica stream from it. The
# image's own pg_hba.conf line covers databases, not replication connections.
set -eu
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"
