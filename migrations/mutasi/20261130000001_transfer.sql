-- Statement lines of transfers. A line belongs to one (transaction, account): a transfer
-- gives its source a D line and its destination a C line, both with the transaction's id.
-- Events written before transfers existed (format 1) carry only `event_id`, which was the
-- transaction id: it becomes `transaksi_id`. The unique (transaksi_id, no_rekening) is what
-- makes a redelivered or republished event harmless, whichever format carried it.
ALTER TABLE mutasi
    ADD COLUMN transaksi_id UUID,
    ADD COLUMN no_rekening_lawan TEXT,
    ADD COLUMN keterangan TEXT,
    ADD COLUMN referensi TEXT;
UPDATE mutasi SET transaksi_id = event_id;
ALTER TABLE mutasi
    ALTER COLUMN transaksi_id SET NOT NULL,
    ADD CONSTRAINT mutasi_transaksi_rekening_unik UNIQUE (transaksi_id, no_rekening);
