#!/usr/bin/env bash
# Commit-to-statement delay, read from mutasi's own table: for each statement row, the time
# from the transaction (tanggal_transaksi, taken in transaksi's transaction) to the row's
# insertion in mutasi (diterima_pada). Prints count, p50, p90, p99 and max in milliseconds.
#
#   scripts/statement-delay.sh [SINCE]      # SINCE: a timestamp, e.g. "$(date -u +%FT%T)Z"
#
# Environment: DB_HOST (127.0.0.1), DB_PORT (5432), DB_USER (postgres), DB_PASSWORD,
# MUTASI_DB (mutasi).
set -euo pipefail
SINCE="${1:-1970-01-01T00:00:00Z}"
PGPASSWORD="${DB_PASSWORD:-}" psql -X -q -h "${DB_HOST:-127.0.0.1}" -p "${DB_PORT:-5432}" \
  -U "${DB_USER:-postgres}" -d "${MUTASI_DB:-mutasi}" -v since="$SINCE" <<'SQL'
WITH d AS (
    SELECT extract(epoch FROM diterima_pada - tanggal_transaksi) * 1000 AS ms
      FROM mutasi WHERE tanggal_transaksi >= :'since'::timestamptz
)
SELECT count(*) AS rows,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) AS p50_ms,
       round(percentile_cont(0.9) WITHIN GROUP (ORDER BY ms)::numeric, 1) AS p90_ms,
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1) AS p99_ms,
       round(max(ms)::numeric, 1) AS max_ms
  FROM d;
SQL
