//! The money statements. Deposits and withdrawals are committed in batches (group commit, see
//! `app::group_commit`): ONE database transaction per batch, in this order:
//!
//! 1. [`PostingTx::claim_keys`]: insert the batch's idempotency keys, sorted;
//! 2. [`PostingTx::lock_rekening`]: `SELECT ... FOR UPDATE` the touched balance rows, sorted;
//! 3. the app applies the operations in memory, in arrival order;
//! 4. [`PostingTx::write`]: ONE statement updates every touched balance once and inserts
//!    every journal row, outbox row and idempotency outcome (`UNNEST` arrays);
//! 5. [`PostingTx::commit`].
//!
//! Keys before accounts, each in a fixed order, is one global lock order for every replica:
//! two batches can wait for each other but never in a cycle, so group commit adds no deadlock.

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

/// A journal row to write; its outbox row carries the same values and `traceparent`.
#[derive(Clone, Debug)]
pub struct JurnalRow<'a> {
    pub id: Uuid,
    pub no_rekening: &'a NoRekening,
    pub jenis: Jenis,
    pub nominal: Decimal,
    /// The balance right after this transaction.
    pub saldo: Decimal,
    pub urutan_rekening: i64,
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

/// Every write of a batch in one statement. The outbox rows reuse the journal's parameters.
const WRITE: &str = "
    WITH r AS (
        UPDATE rekening AS r
           SET saldo = u.saldo, jumlah_transaksi = u.jumlah_transaksi, diperbarui_pada = $4
          FROM UNNEST($1::text[], $2::numeric[], $3::bigint[])
                   AS u(no_rekening, saldo, jumlah_transaksi)
         WHERE r.no_rekening = u.no_rekening
        RETURNING 1
    ), j AS (
        INSERT INTO jurnal (id, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening,
                            tanggal_transaksi)
        SELECT id, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening, $4
          FROM UNNEST($5::uuid[], $6::text[], $7::text[], $8::numeric[], $9::numeric[],
                      $10::bigint[])
                   AS t(id, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening)
        RETURNING 1
    ), o AS (
        INSERT INTO outbox (event_id, tanggal_transaksi, no_rekening, jenis_transaksi, nominal,
                            saldo, urutan_rekening, traceparent)
        SELECT id, $4, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening, traceparent
          FROM UNNEST($5::uuid[], $6::text[], $7::text[], $8::numeric[], $9::numeric[],
                      $10::bigint[], $11::text[])
                   AS t(id, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening,
                        traceparent)
        RETURNING 1
    ), i AS (
        UPDATE idempotensi AS i
           SET hasil = k.hasil
          FROM UNNEST($12::text[], $13::text[], $14::text[]) AS k(no_rekening, kunci, hasil)
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
    /// journal and outbox row, every claimed key's outcome. Fails, and the caller rolls back,
    /// unless exactly that many rows were written.
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
        let ids: Vec<Uuid> = jurnal.iter().map(|j| j.id).collect();
        let jurnal_no_rekening: Vec<&NoRekening> = jurnal.iter().map(|j| j.no_rekening).collect();
        let jenis: Vec<&str> = jurnal.iter().map(|j| j.jenis.code()).collect();
        let nominal: Vec<Decimal> = jurnal.iter().map(|j| j.nominal).collect();
        let saldo_after: Vec<Decimal> = jurnal.iter().map(|j| j.saldo).collect();
        let urutan: Vec<i64> = jurnal.iter().map(|j| j.urutan_rekening).collect();
        let traceparents: Vec<Option<&str>> = jurnal.iter().map(|j| j.traceparent).collect();
        let key_no_rekening: Vec<&NoRekening> = outcomes.iter().map(|o| o.no_rekening).collect();
        let keys: Vec<&str> = outcomes.iter().map(|o| o.key).collect();
        let stored: Vec<&str> = outcomes.iter().map(|o| o.outcome).collect();
        let written: (i64, i64, i64, i64) = sqlx::query_as(WRITE)
            .bind(&no_rekening_rows)
            .bind(&saldo)
            .bind(&jumlah)
            .bind(tanggal_transaksi)
            .bind(&ids)
            .bind(&jurnal_no_rekening)
            .bind(&jenis)
            .bind(&nominal)
            .bind(&saldo_after)
            .bind(&urutan)
            .bind(&traceparents)
            .bind(&key_no_rekening)
            .bind(&keys)
            .bind(&stored)
            .fetch_one(&mut *self.tx)
            .await?;
        let expected = (
            rekening.len() as i64,
            jurnal.len() as i64,
            jurnal.len() as i64,
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
