-- The double-entry journal. Every transaction is a set of legs (journal rows sharing one
-- `transaksi_id`) whose debits (D) equal its credits (C). A leg is on a customer's account
-- (`no_rekening`, with the balance right after it and the account's transaction number) or on
-- one of the bank's own accounts (`akun_sistem`). Balances are credit-positive (credits minus
-- debits), the sign a customer's saldo has always had: the bank owes its customers, so their
-- balances are positive; the cash it holds (`KAS`) is the other side and negative; fee income
-- is positive. Hence the trial balance: all balances sum to zero (view `neraca_saldo`).
--
-- The system accounts carry no balance row: their balance is the sum of their legs. Every
-- deposit and withdrawal has a leg on `KAS`, so a balance row there would be one row every
-- batch locks, and batches would stop committing side by side.
CREATE TABLE akun_sistem (
    kode TEXT PRIMARY KEY CHECK (kode ~ '^[A-Z_]{1,32}$'),
    nama TEXT NOT NULL
);
INSERT INTO akun_sistem (kode, nama) VALUES
    ('KAS', 'Kas teller: lawan setiap tabung dan tarik'),
    ('PENDAPATAN_BIAYA', 'Pendapatan biaya transfer');

ALTER TABLE jurnal
    ADD COLUMN transaksi_id UUID,
    ADD COLUMN akun_sistem TEXT REFERENCES akun_sistem (kode),
    -- Transfers: the other customer, the customer's description and reference.
    ADD COLUMN no_rekening_lawan TEXT CHECK (no_rekening_lawan ~ '^[0-9]{10}$'),
    ADD COLUMN keterangan TEXT CHECK (char_length(keterangan) BETWEEN 1 AND 140),
    ADD COLUMN referensi TEXT CHECK (char_length(referensi) BETWEEN 1 AND 64);

-- Every existing row was a whole deposit or withdrawal: its id is its transaction's id.
UPDATE jurnal SET transaksi_id = id;
ALTER TABLE jurnal
    ALTER COLUMN transaksi_id SET NOT NULL,
    ALTER COLUMN no_rekening DROP NOT NULL,
    ALTER COLUMN saldo DROP NOT NULL,
    ALTER COLUMN urutan_rekening DROP NOT NULL,
    ADD CONSTRAINT jurnal_satu_akun CHECK ((no_rekening IS NULL) <> (akun_sistem IS NULL)),
    ADD CONSTRAINT jurnal_nasabah_bersaldo CHECK (
        (no_rekening IS NULL) = (saldo IS NULL)
        AND (no_rekening IS NULL) = (urutan_rekening IS NULL)),
    -- One leg per account and transaction (also the index of "a transaction's legs").
    ADD CONSTRAINT jurnal_transaksi_rekening_unik UNIQUE (transaksi_id, no_rekening);
CREATE UNIQUE INDEX jurnal_transaksi_akun_sistem_unik
    ON jurnal (transaksi_id, akun_sistem) WHERE akun_sistem IS NOT NULL;

-- The other leg of every existing deposit (cash in: KAS debited) and withdrawal (cash out:
-- KAS credited). Customer rows are not touched.
INSERT INTO jurnal (id, transaksi_id, akun_sistem, jenis_transaksi, nominal, tanggal_transaksi)
SELECT gen_random_uuid(), id, 'KAS',
       CASE jenis_transaksi WHEN 'C' THEN 'D' ELSE 'C' END,
       nominal, tanggal_transaksi
  FROM jurnal
 WHERE no_rekening IS NOT NULL;

-- Debits equal credits in every transaction. All legs of a transaction are written by one
-- statement (the batch's one INSERT), so the check runs once per statement over its rows.
CREATE FUNCTION jurnal_seimbang() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    timpang UUID;
BEGIN
    SELECT transaksi_id INTO timpang
      FROM baru
     GROUP BY transaksi_id
    HAVING sum(CASE jenis_transaksi WHEN 'D' THEN nominal ELSE -nominal END) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'transaksi % tidak seimbang: debit tidak sama dengan kredit', timpang
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER jurnal_seimbang AFTER INSERT ON jurnal
    REFERENCING NEW TABLE AS baru
    FOR EACH STATEMENT EXECUTE FUNCTION jurnal_seimbang();

-- The journal is append-only: a committed leg is never changed or removed.
CREATE FUNCTION jurnal_tetap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'jurnal hanya boleh ditambah' USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER jurnal_tetap BEFORE UPDATE OR DELETE ON jurnal
    FOR EACH STATEMENT EXECUTE FUNCTION jurnal_tetap();

-- The trial balance: every account's balance, customers' from their balance rows, the
-- system accounts' from their legs. `sum(saldo)` over it is zero after every commit.
CREATE VIEW neraca_saldo AS
    SELECT no_rekening AS akun, saldo FROM rekening
    UNION ALL
    SELECT a.kode,
           COALESCE((SELECT sum(CASE j.jenis_transaksi WHEN 'C' THEN j.nominal ELSE -j.nominal END)
                       FROM jurnal AS j
                      WHERE j.akun_sistem = a.kode), 0)
      FROM akun_sistem AS a;

-- The outbox carries one event per customer leg: its transaction, and for a transfer the
-- other customer, the description and the reference.
ALTER TABLE outbox
    ADD COLUMN transaksi_id UUID,
    ADD COLUMN no_rekening_lawan TEXT,
    ADD COLUMN keterangan TEXT,
    ADD COLUMN referensi TEXT;
UPDATE outbox SET transaksi_id = event_id;
ALTER TABLE outbox ALTER COLUMN transaksi_id SET NOT NULL;
