//! The outbox. Each committed posting wrote one outbox row in its own transaction; the relay
//! (`app::relay`) claims a batch of unpublished rows ([`Datastore::claim_unpublished`]:
//! `FOR UPDATE SKIP LOCKED`, so several replicas never publish the same row at the same time),
//! appends them to the stream, and only then marks them published in the same database
//! transaction ([`OutboxClaim::mark_published`]). A crash between the two publishes those rows
//! again: duplicates, which mutasi recognises by `event_id`, never gaps.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use bukubesar_common::event::{
    Jenis, MAX_KETERANGAN_CHARS, MAX_REFERENSI_CHARS, MutasiEvent, is_free_text,
};
use bukubesar_common::no_rekening::NoRekening;
use bukubesar_process::trace::Traceparent;

use super::Datastore;

/// Why claiming or marking failed. Nothing was marked published.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("outbox row {urutan} cannot be published: {reason}")]
    Corrupt { urutan: i64, reason: String },
}

/// Unpublished rows this transaction holds locked, as stream events. Dropped without
/// [`OutboxClaim::mark_published`], it rolls back and the rows stay unpublished.
pub struct OutboxClaim {
    tx: Transaction<'static, Postgres>,
    urutan: Vec<i64>,
    /// The rows' events, oldest first.
    pub events: Vec<MutasiEvent>,
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    urutan: i64,
    event_id: Uuid,
    transaksi_id: Uuid,
    no_rekening: String,
    jenis_transaksi: String,
    nominal: Decimal,
    saldo: Decimal,
    urutan_rekening: i64,
    tanggal_transaksi: DateTime<Utc>,
    traceparent: Option<String>,
    no_rekening_lawan: Option<String>,
    keterangan: Option<String>,
    referensi: Option<String>,
}

impl Datastore {
    /// Claims up to `limit` of the oldest unpublished rows numbered `scan_from` or above;
    /// `None` when there is none (or every candidate is being published by another relay).
    pub async fn claim_unpublished(
        &self,
        limit: i64,
        scan_from: i64,
    ) -> Result<Option<OutboxClaim>, OutboxError> {
        let mut tx = self.pool.begin().await?;
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT urutan, event_id, transaksi_id, no_rekening, jenis_transaksi, nominal, saldo,
                    urutan_rekening, tanggal_transaksi, traceparent, no_rekening_lawan,
                    keterangan, referensi
               FROM outbox
              WHERE dipublikasikan_pada IS NULL AND urutan >= $2
              ORDER BY urutan
              LIMIT $1
                FOR UPDATE SKIP LOCKED",
        )
        .bind(limit)
        .bind(scan_from)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            tx.rollback().await?;
            return Ok(None);
        }
        let urutan = rows.iter().map(|row| row.urutan).collect();
        let events = rows.into_iter().map(event).collect::<Result<_, _>>()?;
        Ok(Some(OutboxClaim { tx, urutan, events }))
    }

    /// Rows committed but not yet published.
    pub async fn outbox_backlog(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE dipublikasikan_pada IS NULL")
            .fetch_one(&self.pool)
            .await
    }

    /// Deletes up to `max_rows` rows published more than `retention_hours` ago (they are kept
    /// that long so a lost stream could be republished from them); returns how many.
    pub async fn sweep_published_outbox(
        &self,
        retention_hours: u32,
        max_rows: i64,
    ) -> Result<u64, sqlx::Error> {
        sqlx::query(
            "DELETE FROM outbox WHERE ctid IN (
                 SELECT ctid FROM outbox
                  WHERE dipublikasikan_pada < now() - make_interval(hours => $1)
                  LIMIT $2)",
        )
        .bind(i32::try_from(retention_hours).unwrap_or(i32::MAX))
        .bind(max_rows)
        .execute(&self.pool)
        .await
        .map(|r| r.rows_affected())
    }
}

impl OutboxClaim {
    /// Marks every claimed row published and commits; returns how many rows and the highest
    /// number among them. Call only after the stream acknowledged every event.
    pub async fn mark_published(mut self) -> Result<(usize, i64), OutboxError> {
        let marked =
            sqlx::query("UPDATE outbox SET dipublikasikan_pada = now() WHERE urutan = ANY($1)")
                .bind(&self.urutan)
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
        if marked != self.urutan.len() as u64 {
            // The rows are locked by this transaction, so this cannot happen; if it does,
            // roll back (they are published again later: a duplicate, never a loss).
            return Err(OutboxError::Corrupt {
                urutan: self.urutan[0],
                reason: format!("marked {marked} of {} claimed rows", self.urutan.len()),
            });
        }
        self.tx.commit().await?;
        let highest = self.urutan.iter().copied().max().unwrap_or_default();
        Ok((self.urutan.len(), highest))
    }
}

/// A row as the event it becomes; a row no event can carry is corrupt.
fn event(row: OutboxRow) -> Result<MutasiEvent, OutboxError> {
    let urutan = row.urutan;
    let corrupt = |reason: String| OutboxError::Corrupt { urutan, reason };
    let account = |text: &str, field: &str| {
        NoRekening::parse(text).map_err(|_| corrupt(format!("{field} {text:?}")))
    };
    let text = |value: Option<String>, field: &str, max: usize| match value {
        Some(value) if !is_free_text(&value, max) => Err(corrupt(format!("{field} {value:?}"))),
        value => Ok(value),
    };
    Ok(MutasiEvent {
        event_id: row.event_id,
        transaksi_id: row.transaksi_id,
        no_rekening: account(&row.no_rekening, "no_rekening")?,
        jenis: Jenis::from_code(&row.jenis_transaksi)
            .ok_or_else(|| corrupt(format!("jenis_transaksi {:?}", row.jenis_transaksi)))?,
        nominal: row.nominal,
        saldo: row.saldo,
        urutan_rekening: row.urutan_rekening,
        tanggal_transaksi: row.tanggal_transaksi,
        traceparent: row.traceparent.as_deref().and_then(Traceparent::parse),
        no_rekening_lawan: row
            .no_rekening_lawan
            .as_deref()
            .map(|lawan| account(lawan, "no_rekening_lawan"))
            .transpose()?,
        keterangan: text(row.keterangan, "keterangan", MAX_KETERANGAN_CHARS)?,
        referensi: text(row.referensi, "referensi", MAX_REFERENSI_CHARS)?,
    })
}
