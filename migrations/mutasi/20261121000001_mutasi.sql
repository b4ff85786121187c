-- The account statement: one row per committed transaction event received from the stream.
-- `event_id` is the transaction id from transaksi; its unique constraint makes a redelivered
-- event harmless (INSERT ... ON CONFLICT (event_id) DO NOTHING).
CREATE TABLE mutasi (
    id                BIGINT        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id          UUID          NOT NULL,
    tanggal_transaksi TIMESTAMPTZ   NOT NULL,
    no_rekening       TEXT          NOT NULL,
    jenis_transaksi   CHAR(1)       NOT NULL CHECK (jenis_transaksi IN ('C', 'D')),
    nominal           NUMERIC(20,2) NOT NULL CHECK (nominal > 0),
    saldo             NUMERIC(20,2) NOT NULL CHECK (saldo >= 0),
    diterima_pada     TIMESTAMPTZ   NOT NULL DEFAULT now(),
    CONSTRAINT mutasi_event_id_unik UNIQUE (event_id)
);

-- Serves "one account, newest first" (and the keyset cursor on (tanggal_transaksi, id)).
CREATE INDEX mutasi_rekening_terbaru ON mutasi (no_rekening, tanggal_transaksi DESC, id DESC);
