//! The money statements. Deposits, withdrawals and transfers are committed in batches (group
//! commit, see `app::group_commit`): ONE database transaction per batch, in this order:
//!
//! 1. [`PostingTx::claim_keys`]: insert the batch's idempotency keys, sorted;
//! 2. [`PostingTx::lock_rekening`]: `SELECT ... FOR UPDATE` the touched balance rows, sorted
//!    (a transfer's source and destination among them);
//! 3. the app applies the operations in memory, in arrival order;
//! 4. [`PostingTx::write`]: ONE statement updates every touched balance once and inserts
//!    every journal leg, outbox row and idempotency outcome (`UNNEST` arrays); the journal's
//!    trigger refuses a transaction whose debits and credits differ;
//! 5. [`PostingTx::commit`].
//!
//! Keys before accounts, each in a fixed order, is one global lock order for every replica:
//! two batches can wait for each other but never in a cycle, so group commit adds no deadlock,
//! and transfers A→B and B→A (or rings A→B→C→A) in concurrent batches cannot deadlock either.
//! The system accounts (`akun_sistem`) have no balance row to lock: their legs are inserted.

use std::collections::HashMap;

use bukubesar_common::event::Jenis;
use bukubesar_common::no_rekening::NoRekening;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::Datastore;

/// A balance row, locked for the batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rekening {
    pub no_rekening: NoRekening,
    pub saldo: Decimal,
    /// Committed transactions so far; the next one gets number `jumlah_transaksi + 1`.
    pub jumlah_transaksi: i64,
}

/// An idempotency key as the batch claims it.
#[derive(Clone, Copy, Debug)]
pub struct KeyClaim<'a> {
    pub no_rekening: &'a NoRekening,
    pub key: &'a str,
    pub fingerprint: &'a [u8],
}

/// A key some earlier transaction committed: the request it was used for, and its outcome
/// (the JSON the app stored).
#[derive(Clone, Debug)]
pub struct StoredKey {
    pub fingerprint: Vec<u8>,
    pub outcome: Option<String>,
}

/// The bank's own accounts (table `akun_sistem`). They have no balance row: a balance is the
/// sum of the account's legs (view `neraca_saldo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AkunSistem {
    /// Cash at the teller: the other side of every deposit and withdrawal.
    #[serde(rename = "KAS")]
    Kas,
    /// Fee income: the credit side of transfer fees.
    #[serde(rename = "PENDAPATAN_BIAYA")]
    PendapatanBiaya,
}

impl AkunSistem {
    pub fn code(self) -> &'static str {
        match self {
            AkunSistem::Kas => "KAS",
            AkunSistem::PendapatanBiaya => "PENDAPATAN_BIAYA",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "KAS" => Some(AkunSistem::Kas),
            "PENDAPATAN_BIAYA" => Some(AkunSistem::PendapatanBiaya),
            _ => None,
        }
    }
}

/// Whose a leg is.
#[derive(Clone, Copy, Debug)]
pub enum Akun<'a> {
    /// A customer's account: the balance right after this leg and the account's transaction
    /// number. Customer legs also get an outbox row (one statement line each).
    Nasabah {
        no_rekening: &'a NoRekening,
        saldo: Decimal,
        urutan_rekening: i64,
    },
    Sistem(AkunSistem),
}

/// One leg of a transaction to write.
#[derive(Clone, Debug)]
pub struct JurnalRow<'a> {
    /// The leg's id (the event id of a customer leg).
    pub id: Uuid,
    pub transaksi_id: Uuid,
    pub akun: Akun<'a>,
    /// Debit or credit.
    pub jenis: Jenis,
    pub nominal: Decimal,
    pub no_rekening_lawan: Option<&'a NoRekening>,
    pub keterangan: Option<&'a str>,
    pub referensi: Option<&'a str>,
    pub traceparent: Option<&'a str>,
}

/// A claimed key's outcome, stored in the same transaction as the money.
#[derive(Clone, Copy, Debug)]
pub struct KeyOutcome<'a> {
    pub no_rekening: &'a NoRekening,
    pub key: &'a str,
    pub outcome: &'a str,
}

/// Claims keys; returns the claimed ones. Waits on the unique index for a key that a concurrent
/// transaction holds, then either claims it (that one rolled back) or skips it (committed).
const CLAIM_KEYS: &str = "
    INSERT INTO idempotensi (no_rekening, kunci, sidik_permintaan)
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::bytea[])
        ON CONFLICT DO NOTHING
    RETURNING no_rekening, kunci";

const STORED_KEYS: &str = "
    SELECT i.no_rekening, i.kunci, i.sidik_permintaan, i.hasil
      FROM idempotensi AS i
      JOIN UNNEST($1::text[], $2::text[]) AS k(no_rekening, kunci)
        ON i.no_rekening = k.no_rekening AND i.kunci = k.kunci";

/// Locks in primary-key order (the sort runs below the row locks) and reads the newest
/// committed balance of each row, plus the time the batch's postings take effect.
const LOCK_REKENING: &str = "
    SELECT no_rekening, saldo, jumlah_transaksi, clock_timestamp()
      FROM rekening
     WHERE no_rekening = ANY($1::text[])
     ORDER BY no_rekening
       FOR UPDATE";

/// Every write of a batch in one statement. The outbox rows reuse the journal's parameters:
/// one per customer leg.
const WRITE: &str = "
    WITH r AS (
        UPDATE rekening AS r
           SET saldo = u.saldo, jumlah_transaksi = u.jumlah_transaksi, diperbarui_pada = $4
          FROM UNNEST($1::text[], $2::numeric[], $3::bigint[])
                   AS u(no_rekening, saldo, jumlah_transaksi)
         WHERE r.no_rekening = u.no_rekening
        RETURNING 1
    ), j AS (
        INSERT INTO jurnal (id, transaksi_id, no_rekening, akun_sistem, jenis_transaksi, nominal,
                            saldo, urutan_rekening, no_rekening_lawan, keterangan, referensi,
                            tanggal_transaksi)
        SELECT id, transaksi_id, no_rekening, akun_sistem, jenis_transaksi, nominal, saldo,
               urutan_rekening, lawan, keterangan, referensi, $4
          FROM UNNEST($5::uuid[], $6::uuid[], $7::text[], $8::text[], $9::text[],
                      $10::numeric[], $11::numeric[], $12::bigint[], $13::text[], $14::text[],
                      $15::text[])
                   AS t(id, transaksi_id, no_rekening, akun_sistem, jenis_transaksi, nominal,
                        saldo, urutan_rekening, lawan, keterangan, referensi)
        RETURNING 1
    ), o AS (
        INSERT INTO outbox (event_id, transaksi_id, tanggal_transaksi, no_rekening,
                            jenis_transaksi, nominal, saldo, urutan_rekening, no_rekening_lawan,
                            keterangan, referensi, traceparent)
        SELECT id, transaksi_id, $4, no_rekening, jenis_transaksi, nominal, saldo,
               urutan_rekening, lawan, keterangan, referensi, traceparent
          FROM UNNEST($5::uuid[], $6::uuid[], $7::text[], $9::text[], $10::numeric[],
                      $11::numeric[], $12::bigint[], $13::text[], $14::text[], $15::text[],
                      $16::text[])
                   AS t(id, transaksi_id, no_rekening, jenis_transaksi, nominal, saldo,
                        urutan_rekening, lawan, keterangan, referensi, traceparent)
         WHERE no_rekening IS NOT NULL
        RETURNING 1
    ), i AS (
        UPDATE idempotensi AS i
           SET hasil = k.hasil
          FROM UNNEST($17::text[], $18::text[], $19::text[]) AS k(no_rekening, kunci, hasil)
         WHERE i.no_rekening = k.no_rekening AND i.kunci = k.kunci
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM j), (SELECT count(*) FROM o),
           (SELECT count(*) FROM i)";

/// A batch's database transaction. Dropped without [`PostingTx::commit`], it rolls back.
pub struct PostingTx {
    tx: Transaction<'static, Postgres>,
}

impl Datastore {
    /// Starts a batch's transaction.
    pub async fn begin_postings(&self) -> Result<PostingTx, sqlx::Error> {
        Ok(PostingTx {
            tx: self.pool.begin().await?,
        })
    }
}

impl PostingTx {
    /// Claims `keys` (distinct pairs) in `(no_rekening, key)` order; returns one flag per
    /// key, in the given order: true when this transaction now owns it.
    pub async fn claim_keys(&mut self, keys: &[KeyClaim<'_>]) -> Result<Vec<bool>, sqlx::Error> {
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_unstable_by_key(|&i| (keys[i].no_rekening, keys[i].key));
        let no_rekening: Vec<&NoRekening> = order.iter().map(|&i| keys[i].no_rekening).collect();
        let key: Vec<&str> = order.iter().map(|&i| keys[i].key).collect();
        let fingerprints: Vec<&[u8]> = order.iter().map(|&i| keys[i].fingerprint).collect();
        let claimed: Vec<(NoRekening, String)> = sqlx::query_as(CLAIM_KEYS)
            .bind(&no_rekening)
            .bind(&key)
            .bind(&fingerprints)
            .fetch_all(&mut *self.tx)
            .await?;
        Ok(keys
            .iter()
            .map(|claim| {
                claimed
                    .iter()
                    .any(|(no, key)| no == claim.no_rekening && key == claim.key)
            })
            .collect())
    }

    /// The committed records of `keys` (`(no_rekening, key)`); a key without a record is
    /// absent from the map.
    pub async fn stored_keys(
        &mut self,
        keys: &[(&NoRekening, &str)],
    ) -> Result<HashMap<(NoRekening, String), StoredKey>, sqlx::Error> {
        let no_rekening: Vec<&NoRekening> = keys.iter().map(|k| k.0).collect();
        let key: Vec<&str> = keys.iter().map(|k| k.1).collect();
        let rows: Vec<(NoRekening, String, Vec<u8>, Option<String>)> = sqlx::query_as(STORED_KEYS)
            .bind(&no_rekening)
            .bind(&key)
            .fetch_all(&mut *self.tx)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(no, key, fingerprint, outcome)| {
                (
                    (no, key),
                    StoredKey {
                        fingerprint,
                        outcome,
                    },
                )
            })
            .collect())
    }

    /// Locks the balance rows of `no_rekening` (any order, duplicates allowed) in primary-key
    /// order and returns them with the time the batch takes effect. Unregistered accounts are
    /// missing from the result.
    pub async fn lock_rekening(
        &mut self,
        no_rekening: &[&NoRekening],
    ) -> Result<(Vec<Rekening>, DateTime<Utc>), sqlx::Error> {
        let rows: Vec<(NoRekening, Decimal, i64, DateTime<Utc>)> = sqlx::query_as(LOCK_REKENING)
            .bind(no_rekening)
            .fetch_all(&mut *self.tx)
            .await?;
        let now = match rows.first() {
            Some(row) => row.3,
            None => Utc::now(),
        };
        let locked = rows
            .into_iter()
            .map(|(no_rekening, saldo, jumlah_transaksi, _)| Rekening {
                no_rekening,
                saldo,
                jumlah_transaksi,
            })
            .collect();
        Ok((locked, now))
    }

    /// Writes the batch in one statement: each changed balance row once (`rekening`), every
    /// journal leg, an outbox row per customer leg, every claimed key's outcome. Fails, and
    /// the caller rolls back, unless exactly that many rows were written (or when a
    /// transaction's debits and credits differ: the journal's trigger).
    pub async fn write(
        &mut self,
        rekening: &[Rekening],
        jurnal: &[JurnalRow<'_>],
        outcomes: &[KeyOutcome<'_>],
        tanggal_transaksi: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let no_rekening_rows: Vec<&NoRekening> = rekening.iter().map(|a| &a.no_rekening).collect();
        let saldo: Vec<Decimal> = rekening.iter().map(|a| a.saldo).collect();
        let jumlah: Vec<i64> = rekening.iter().map(|a| a.jumlah_transaksi).collect();
        let legs = LegColumns::of(jurnal);
        let key_no_rekening: Vec<&NoRekening> = outcomes.iter().map(|o| o.no_rekening).collect();
        let keys: Vec<&str> = outcomes.iter().map(|o| o.key).collect();
        let stored: Vec<&str> = outcomes.iter().map(|o| o.outcome).collect();
        let written: (i64, i64, i64, i64) = sqlx::query_as(WRITE)
            .bind(&no_rekening_rows)
            .bind(&saldo)
            .bind(&jumlah)
            .bind(tanggal_transaksi)
            .bind(&legs.id)
            .bind(&legs.transaksi_id)
            .bind(&legs.no_rekening)
            .bind(&legs.akun_sistem)
            .bind(&legs.jenis)
            .bind(&legs.nominal)
            .bind(&legs.saldo)
            .bind(&legs.urutan)
            .bind(&legs.lawan)
            .bind(&legs.keterangan)
            .bind(&legs.referensi)
            .bind(&legs.traceparent)
            .bind(&key_no_rekening)
            .bind(&keys)
            .bind(&stored)
            .fetch_one(&mut *self.tx)
            .await?;
        let expected = (
            rekening.len() as i64,
            jurnal.len() as i64,
            legs.customer_legs as i64,
            outcomes.len() as i64,
        );
        if written != expected {
            return Err(sqlx::Error::Protocol(format!(
                "batch wrote (balances, journal, outbox, keys) = {written:?}, expected {expected:?}"
            )));
        }
        Ok(())
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

/// The legs as one array per column, for `UNNEST`.
struct LegColumns<'a> {
    id: Vec<Uuid>,
    transaksi_id: Vec<Uuid>,
    no_rekening: Vec<Option<&'a str>>,
    akun_sistem: Vec<Option<&'static str>>,
    jenis: Vec<&'static str>,
    nominal: Vec<Decimal>,
    saldo: Vec<Option<Decimal>>,
    urutan: Vec<Option<i64>>,
    lawan: Vec<Option<&'a str>>,
    keterangan: Vec<Option<&'a str>>,
    referensi: Vec<Option<&'a str>>,
    traceparent: Vec<Option<&'a str>>,
    customer_legs: usize,
}

impl<'a> LegColumns<'a> {
    fn of(jurnal: &[JurnalRow<'a>]) -> Self {
        let mut columns = LegColumns {
            id: Vec::with_capacity(jurnal.len()),
            transaksi_id: Vec::with_capacity(jurnal.len()),
            no_rekening: Vec::with_capacity(jurnal.len()),
            akun_sistem: Vec::with_capacity(jurnal.len()),
            jenis: Vec::with_capacity(jurnal.len()),
            nominal: Vec::with_capacity(jurnal.len()),
            saldo: Vec::with_capacity(jurnal.len()),
            urutan: Vec::with_capacity(jurnal.len()),
            lawan: Vec::with_capacity(jurnal.len()),
            keterangan: Vec::with_capacity(jurnal.len()),
            referensi: Vec::with_capacity(jurnal.len()),
            traceparent: Vec::with_capacity(jurnal.len()),
            customer_legs: 0,
        };
        for leg in jurnal {
            columns.id.push(leg.id);
            columns.transaksi_id.push(leg.transaksi_id);
            match leg.akun {
                Akun::Nasabah {
                    no_rekening,
                    saldo,
                    urutan_rekening,
                } => {
                    columns.no_rekening.push(Some(no_rekening.as_str()));
                    columns.akun_sistem.push(None);
                    columns.saldo.push(Some(saldo));
                    columns.urutan.push(Some(urutan_rekening));
                    columns.customer_legs += 1;
                }
                Akun::Sistem(akun) => {
                    columns.no_rekening.push(None);
                    columns.akun_sistem.push(Some(akun.code()));
                    columns.saldo.push(None);
                    columns.urutan.push(None);
                }
            }
            columns.jenis.push(leg.jenis.code());
            columns.nominal.push(leg.nominal);
            columns
                .lawan
                .push(leg.no_rekening_lawan.map(NoRekening::as_str));
            columns.keterangan.push(leg.keterangan);
            columns.referensi.push(leg.referensi);
            columns.traceparent.push(leg.traceparent);
        }
        columns
    }
}
