-- Each statement line carries the account's transaction number from transaksi (1, 2, 3, ...
-- in commit order). The statement is ordered by it, and the unique index below both serves
-- "one account, newest first" (read backwards) and refuses two different events claiming the
-- same number for one account.
ALTER TABLE mutasi ADD COLUMN urutan_rekening BIGINT CHECK (urutan_rekening >= 1);
WITH bernomor AS (
    SELECT id, row_number() OVER (PARTITION BY no_rekening ORDER BY tanggal_transaksi, id) AS n
      FROM mutasi
)
UPDATE mutasi SET urutan_rekening = bernomor.n FROM bernomor WHERE mutasi.id = bernomor.id;
ALTER TABLE mutasi ALTER COLUMN urutan_rekening SET NOT NULL;

DROP INDEX mutasi_rekening_terbaru;
ALTER TABLE mutasi ADD CONSTRAINT mutasi_rekening_urutan_unik UNIQUE (no_rekening, urutan_rekening);
