#!/bin/bash
# Runs once, on the first start of an empty data directory (the official
# image's /docker-entrypoint-initdb.d): one role and one database per service,
# so neither service can read the other's tables.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v fixes_pw="$(cat "$FIXES_PASSWORD_FILE")" \
  -v scriptbuilder_pw="$(cat "$SCRIPTBUILDER_PASSWORD_FILE")" <<'SQL'
CREATE ROLE fixes LOGIN PASSWORD :'fixes_pw';
CREATE DATABASE flowpilot_fixes OWNER fixes;
REVOKE ALL ON DATABASE flowpilot_fixes FROM PUBLIC;
CREATE ROLE scriptbuilder LOGIN PASSWORD :'scriptbuilder_pw';
CREATE DATABASE flowpilot_scriptbuilder OWNER scriptbuilder;
REVOKE ALL ON DATABASE flowpilot_scriptbuilder FROM PUBLIC;
SQL
