#!/bin/sh
# bukubesar's PostgreSQL init: docker-compose.yml mounts this file, the operator's ConfigMap carries it
# (include_str! in operator/src/builders/postgres.rs). Runs once, on an empty data directory.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  --set=transaksi_user="$TRANSAKSI_DB_USER" --set=transaksi_password="$TRANSAKSI_DB_PASSWORD" \
  --set=mutasi_user="$MUTASI_DB_USER" --set=mutasi_password="$MUTASI_DB_PASSWORD" <<'SQL'
CREATE ROLE :"transaksi_user" LOGIN PASSWORD :'transaksi_password';
CREATE DATABASE transaksi OWNER :"transaksi_user";
REVOKE ALL ON DATABASE transaksi FROM PUBLIC;
CREATE ROLE :"mutasi_user" LOGIN PASSWORD :'mutasi_password';
CREATE DATABASE mutasi OWNER :"mutasi_user";
REVOKE ALL ON DATABASE mutasi FROM PUBLIC;
-- mutasi authenticates customers against transaksi's credential table through this role;
-- transaksi's migrations grant it CONNECT and exactly the columns authentication needs.
CREATE ROLE bukubesar_autentikasi NOLOGIN;
GRANT bukubesar_autentikasi TO :"mutasi_user";
SQL
