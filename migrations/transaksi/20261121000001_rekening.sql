-- Customers (nasabah) and their credentials. One row per account; the PIN is stored only as an
-- argon2id PHC string. The lockout state lives here so it survives restarts and holds across
-- replicas.
CREATE TABLE nasabah (
    no_rekening      TEXT        PRIMARY KEY CHECK (no_rekening ~ '^[0-9]{10}$'),
    nama             TEXT        NOT NULL CHECK (char_length(nama) BETWEEN 1 AND 100),
    nik              TEXT        NOT NULL CHECK (nik ~ '^[0-9]{16}$'),
    no_hp            TEXT        NOT NULL CHECK (no_hp ~ '^[0-9]{10,15}$'),
    pin_hash         TEXT        NOT NULL CHECK (pin_hash LIKE '$argon2id$%'),
    -- Wrong PINs since the last correct one, plus verifications in flight (a slot is reserved
    -- before argon2 runs, so parallel guesses cannot exceed the limit).
    gagal_pin        INTEGER     NOT NULL DEFAULT 0 CHECK (gagal_pin >= 0),
    terkunci_sampai  TIMESTAMPTZ,
    dibuat_pada      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT nasabah_nik_unik UNIQUE (nik),
    CONSTRAINT nasabah_no_hp_unik UNIQUE (no_hp)
);

-- Balances. NUMERIC(20,2): 18 integer digits and 2 decimals, never negative.
CREATE TABLE rekening (
    no_rekening     TEXT          PRIMARY KEY REFERENCES nasabah (no_rekening),
    saldo           NUMERIC(20,2) NOT NULL DEFAULT 0 CHECK (saldo >= 0),
    diperbarui_pada TIMESTAMPTZ   NOT NULL DEFAULT now()
);

-- The journal: one row per committed deposit (C, credit) or withdrawal (D, debit), with the
-- balance right after it. Its id is the transaction id and the event id.
CREATE TABLE jurnal (
    id                UUID          PRIMARY KEY,
    no_rekening       TEXT          NOT NULL REFERENCES rekening (no_rekening),
    jenis_transaksi   CHAR(1)       NOT NULL CHECK (jenis_transaksi IN ('C', 'D')),
    nominal           NUMERIC(20,2) NOT NULL CHECK (nominal > 0),
    saldo             NUMERIC(20,2) NOT NULL CHECK (saldo >= 0),
    tanggal_transaksi TIMESTAMPTZ   NOT NULL DEFAULT now()
);
CREATE INDEX jurnal_rekening_tanggal ON jurnal (no_rekening, tanggal_transaksi DESC);

-- The transactional outbox: written in the same database transaction as the journal row, read
-- by the relay that publishes to the Redis Stream `mutasi`. `dipublikasikan_pada` is set only
-- after Redis acknowledged the entry.
CREATE TABLE outbox (
    urutan             BIGINT        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id           UUID          NOT NULL UNIQUE,
    tanggal_transaksi  TIMESTAMPTZ   NOT NULL,
    no_rekening        TEXT          NOT NULL,
    jenis_transaksi    CHAR(1)       NOT NULL CHECK (jenis_transaksi IN ('C', 'D')),
    nominal            NUMERIC(20,2) NOT NULL CHECK (nominal > 0),
    saldo              NUMERIC(20,2) NOT NULL CHECK (saldo >= 0),
    dibuat_pada        TIMESTAMPTZ   NOT NULL DEFAULT now(),
    dipublikasikan_pada TIMESTAMPTZ
);
CREATE INDEX outbox_belum_dipublikasikan ON outbox (urutan) WHERE dipublikasikan_pada IS NULL;

-- Idempotency keys, scoped to the account. A row is inserted (with an empty response) at the
-- start of the money transaction and completed in the same transaction, so a concurrent retry
-- with the same key waits on the unique index and then reads the stored outcome.
CREATE TABLE idempotensi (
    no_rekening     TEXT        NOT NULL REFERENCES nasabah (no_rekening),
    kunci           TEXT        NOT NULL CHECK (char_length(kunci) BETWEEN 1 AND 255),
    sidik_permintaan BYTEA      NOT NULL,
    -- The business outcome of the first request (JSON), replayed verbatim on a retry.
    hasil           TEXT,
    dibuat_pada     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (no_rekening, kunci)
);
CREATE INDEX idempotensi_dibuat_pada ON idempotensi (dibuat_pada);
