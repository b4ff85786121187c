-- pgbench script: the database's ceiling for "one request = one transaction": one posting as
-- ONE statement (balance, journal and outbox in one round trip), as transaksi executed every
-- request before group commit. :tabung_percent of the postings
-- are deposits, the rest withdrawals, on account :first + random(1, :accounts) (accounts=1:
-- one hot account), amounts 0.01 ... 1000.00.
--
-- The two statements are the constants TABUNG and TARIK (with the macro journal_and_outbox!)
-- of transaksi/src/datastore/posting.rs as of commit 738b912, the last single-statement
-- version, with the double-entry journal of issue 18: the customer's leg and the opposite
-- leg on the cash account KAS, one transaction id; today's batch writes the same rows
-- (transaksi/src/app/batch.rs). Differences
-- only where pgbench has no equivalent binding: the journal id is gen_random_uuid() (the
-- service binds a UUIDv7), the jenis code is a literal (the service binds 'C'/'D'), the
-- traceparent is NULL (the service binds the span's, NULL without tracing). The amount is
-- cast to numeric: in prepared mode pgbench's parameters arrive as text, which UNION ALL would
-- not coerce.
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
 ), t AS (
     SELECT gen_random_uuid() AS id
 ), j AS (
     INSERT INTO jurnal (id, transaksi_id, no_rekening, akun_sistem, jenis_transaksi, nominal,
                         saldo, urutan_rekening)
     SELECT t.id, t.id, r.no_rekening, NULL, 'C', CAST(:nominal AS numeric), r.saldo,
            r.jumlah_transaksi
       FROM r, t
     UNION ALL
     SELECT gen_random_uuid(), t.id, NULL, 'KAS', 'D', CAST(:nominal AS numeric), NULL, NULL
       FROM r, t
     RETURNING id, transaksi_id, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening,
               tanggal_transaksi
 ), o AS (
     INSERT INTO outbox (event_id, transaksi_id, tanggal_transaksi, no_rekening,
                         jenis_transaksi, nominal, saldo, urutan_rekening, traceparent)
     SELECT id, transaksi_id, tanggal_transaksi, no_rekening, jenis_transaksi, nominal, saldo,
            urutan_rekening, NULL
       FROM j WHERE no_rekening IS NOT NULL
 )
 SELECT saldo, urutan_rekening, tanggal_transaksi FROM j WHERE no_rekening IS NOT NULL;
\else
-- TARIK
WITH r AS (
     UPDATE rekening SET saldo = saldo - :nominal, jumlah_transaksi = jumlah_transaksi + 1,
                         diperbarui_pada = now()
      WHERE no_rekening = :rekening AND saldo >= :nominal
  RETURNING no_rekening, saldo, jumlah_transaksi
 ), t AS (
     SELECT gen_random_uuid() AS id
 ), j AS (
     INSERT INTO jurnal (id, transaksi_id, no_rekening, akun_sistem, jenis_transaksi, nominal,
                         saldo, urutan_rekening)
     SELECT t.id, t.id, r.no_rekening, NULL, 'D', CAST(:nominal AS numeric), r.saldo,
            r.jumlah_transaksi
       FROM r, t
     UNION ALL
     SELECT gen_random_uuid(), t.id, NULL, 'KAS', 'C', CAST(:nominal AS numeric), NULL, NULL
       FROM r, t
     RETURNING id, transaksi_id, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening,
               tanggal_transaksi
 ), o AS (
     INSERT INTO outbox (event_id, transaksi_id, tanggal_transaksi, no_rekening,
                         jenis_transaksi, nominal, saldo, urutan_rekening, traceparent)
     SELECT id, transaksi_id, tanggal_transaksi, no_rekening, jenis_transaksi, nominal, saldo,
            urutan_rekening, NULL
       FROM j WHERE no_rekening IS NOT NULL
 )
 SELECT saldo, urutan_rekening, tanggal_transaksi FROM j WHERE no_rekening IS NOT NULL;
\endif
