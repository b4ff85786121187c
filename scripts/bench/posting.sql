-- pgbench script: the database's ceiling for "one request = one transaction": one posting as
-- ONE statement (balance, journal and outbox in one round trip), as transaksi executed every
-- request before group commit. :tabung_percent of the postings
-- are deposits, the rest withdrawals, on account :first + random(1, :accounts) (accounts=1:
-- one hot account), amounts 0.01 ... 1000.00.
--
-- The two statements are the constants TABUNG and TARIK (with the macro journal_and_outbox!)
-- of transaksi/src/datastore/posting.rs as of commit 738b912, the last single-statement
-- version; today's batch writes the same rows (transaksi/src/app/batch.rs). Differences
-- only where pgbench has no equivalent binding: the journal id is gen_random_uuid() (the
-- service binds a UUIDv7), the jenis code is a literal (the service binds 'C'/'D'), the
-- traceparent is NULL (the service binds the span's, NULL without tracing).
--
-- Variables (pgbench -D): first, accounts, tabung_percent, max_saldo (the service binds
-- max_saldo() = 999999999999999999.99).
\set roll random(1, 100)
\set rekening :first + random(1, :accounts)
\set nominal random(1, 100000) / 100.0
\if :roll <= :tabung_percent
-- TABUNG
WITH r AS (
     UPDATE rekening SET saldo = saldo + :nominal, jumlah_transaksi = jumlah_transaksi + 1,
                         diperbarui_pada = now()
      WHERE no_rekening = :rekening AND saldo + :nominal <= :max_saldo
  RETURNING no_rekening, saldo, jumlah_transaksi
 ), j AS (
     INSERT INTO jurnal (id, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening)
     SELECT gen_random_uuid(), no_rekening, 'C', :nominal, saldo, jumlah_transaksi FROM r
     RETURNING id, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening,
               tanggal_transaksi
 ), o AS (
     INSERT INTO outbox (event_id, tanggal_transaksi, no_rekening, jenis_transaksi,
                         nominal, saldo, urutan_rekening, traceparent)
     SELECT id, tanggal_transaksi, no_rekening, jenis_transaksi, nominal, saldo,
            urutan_rekening, NULL
       FROM j
 )
 SELECT saldo, urutan_rekening, tanggal_transaksi FROM j;
\else
-- TARIK
WITH r AS (
     UPDATE rekening SET saldo = saldo - :nominal, jumlah_transaksi = jumlah_transaksi + 1,
                         diperbarui_pada = now()
      WHERE no_rekening = :rekening AND saldo >= :nominal
  RETURNING no_rekening, saldo, jumlah_transaksi
 ), j AS (
     INSERT INTO jurnal (id, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening)
     SELECT gen_random_uuid(), no_rekening, 'D', :nominal, saldo, jumlah_transaksi FROM r
     RETURNING id, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening,
               tanggal_transaksi
 ), o AS (
     INSERT INTO outbox (event_id, tanggal_transaksi, no_rekening, jenis_transaksi,
                         nominal, saldo, urutan_rekening, traceparent)
     SELECT id, tanggal_transaksi, no_rekening, jenis_transaksi, nominal, saldo,
            urutan_rekening, NULL
       FROM j
 )
 SELECT saldo, urutan_rekening, tanggal_transaksi FROM j;
\endif
