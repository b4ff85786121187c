-- Seeds the pgbench database (schema applied by `transaksi migrate`) with :accounts customers
-- and accounts, numbered :first + 1 ... :first + :accounts (10 digits), each funded with
-- :funding. The PIN hash only has to satisfy the column's CHECK: nobody logs in here.
--
--   psql -v accounts=10000 -v first=1000000000 -v funding=1000000 -f scripts/bench/seed.sql
\set ON_ERROR_STOP on
INSERT INTO nasabah (no_rekening, nama, nik, no_hp, pin_hash)
SELECT (:first + i)::text, 'Bench ' || i, (3300000000000000 + i)::text,
       (62800000000 + i)::text, '$argon2id$bench'
  FROM generate_series(1, :accounts) AS i;
INSERT INTO rekening (no_rekening, saldo)
SELECT (:first + i)::text, :funding
  FROM generate_series(1, :accounts) AS i;
VACUUM ANALYZE nasabah;
VACUUM ANALYZE rekening;
