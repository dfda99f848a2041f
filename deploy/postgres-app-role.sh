#!/bin/sh
# Run once by the postgres image on a fresh volume: the login role the workers use.
# Its privileges are granted by `pulse db grant pulse_app` after the migrations.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v password="$PULSE_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE pulse_app LOGIN PASSWORD :'password';
SQL
