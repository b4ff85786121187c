-- The journal's customer indexes hold customer legs only (issue 19). A leg on a system
-- account (`akun_sistem`: every deposit's and withdrawal's cash leg, a transfer's fee) has no
-- `no_rekening` and no `urutan_rekening`, so its entries in the two customer indexes were
-- (NULL, NULL) and (transaksi_id, NULL): never looked up, never in conflict (NULLs are
-- distinct), only written, two index insertions out of seven per deposit. Partial unique
-- indexes enforce the same rules on the rows they are about; the system legs keep their own
-- (`jurnal_transaksi_akun_sistem_unik`), and every query by account (`no_rekening = $1`)
-- implies the index's predicate.
ALTER TABLE jurnal
    DROP CONSTRAINT jurnal_urutan_unik,
    DROP CONSTRAINT jurnal_transaksi_rekening_unik;
-- One leg per account and transaction number: an account's journal in order.
CREATE UNIQUE INDEX jurnal_urutan_unik ON jurnal (no_rekening, urutan_rekening)
    WHERE no_rekening IS NOT NULL;
-- One leg per account and transaction (also the index of "a transaction's customer legs").
CREATE UNIQUE INDEX jurnal_transaksi_rekening_unik ON jurnal (transaksi_id, no_rekening)
    WHERE no_rekening IS NOT NULL;
