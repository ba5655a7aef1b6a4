#!/bin/sh
# Run once by the postgres image on an empty data directory: one database per service,
# each owned by the platform's user ($POSTGRES_USER).
set -eu
for db in registration evaluation requests reporting notifications accounts; do
    echo "creating database $db"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -c "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\""
done
