-- Per-account transaction numbers: `rekening.jumlah_transaksi` counts the account's committed
-- transactions and each journal/outbox row carries its number (1, 2, 3, ...). The number is
-- taken under the balance row's lock, so it follows commit order exactly; the statement in
-- mutasi is ordered by it, not by wall-clock time.
ALTER TABLE rekening
    ADD COLUMN jumlah_transaksi BIGINT NOT NULL DEFAULT 0 CHECK (jumlah_transaksi >= 0);
ALTER TABLE jurnal ADD COLUMN urutan_rekening BIGINT CHECK (urutan_rekening >= 1);
ALTER TABLE outbox
    ADD COLUMN urutan_rekening BIGINT CHECK (urutan_rekening >= 1),
    -- The W3C trace context of the request that caused the transaction.
    ADD COLUMN traceparent TEXT CHECK (char_length(traceparent) <= 128);

-- Number the rows written before this migration (journal ids are UUIDv7: time-ordered).
WITH bernomor AS (
    SELECT id, row_number() OVER (PARTITION BY no_rekening ORDER BY tanggal_transaksi, id) AS n
      FROM jurnal
)
UPDATE jurnal SET urutan_rekening = bernomor.n FROM bernomor WHERE jurnal.id = bernomor.id;
UPDATE outbox SET urutan_rekening = jurnal.urutan_rekening
  FROM jurnal WHERE outbox.event_id = jurnal.id;
UPDATE rekening SET jumlah_transaksi = hitungan.n
  FROM (SELECT no_rekening, count(*) AS n FROM jurnal GROUP BY no_rekening) AS hitungan
 WHERE rekening.no_rekening = hitungan.no_rekening;

ALTER TABLE jurnal
    ALTER COLUMN urutan_rekening SET NOT NULL,
    ADD CONSTRAINT jurnal_urutan_unik UNIQUE (no_rekening, urutan_rekening);
ALTER TABLE outbox ALTER COLUMN urutan_rekening SET NOT NULL;
-- The unique index above serves "one account's journal in order"; the old one only costs writes.
DROP INDEX jurnal_rekening_tanggal;

-- Published rows are kept for a while (a lost stream can be republished from them), then
-- swept oldest first.
CREATE INDEX outbox_dipublikasikan ON outbox (dipublikasikan_pada)
    WHERE dipublikasikan_pada IS NOT NULL;

-- mutasi authenticates customers with the same credential table (one lockout across both
-- services, and no call to transaksi per request). Its database user is made a member of
-- this role, which may read only what authentication needs and write only the lockout state.
-- The role is created here when the migrating user may create roles; otherwise the database
-- administrator creates it first (the operator's and compose's init scripts do).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bukubesar_autentikasi') THEN
        BEGIN
            CREATE ROLE bukubesar_autentikasi NOLOGIN;
        EXCEPTION
            -- Another database on this server migrated at the same moment and created it.
            WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO bukubesar_autentikasi', current_database());
END
$$;
GRANT SELECT (no_rekening, pin_hash, gagal_pin, terkunci_sampai),
      UPDATE (gagal_pin, terkunci_sampai)
   ON nasabah TO bukubesar_autentikasi;
