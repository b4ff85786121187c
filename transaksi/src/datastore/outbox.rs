//! The outbox. Each committed posting wrote one outbox row in its own transaction, stamped with
//! that transaction's id (`writer_xid`). The relay (`app::relay`) publishes rows in
//! `(writer_xid, urutan)` order and records how far it got in the one-row table
//! `relay_watermark`, so a published row is never rewritten:
//!
//! - [`Datastore::claim_unpublished`] locks the watermark row (`FOR UPDATE`: one relay of all
//!   replicas works at a time; the others wait for it and then see where it stopped) and reads
//!   the rows after it whose writer ended before every transaction still running
//!   (`writer_xid < pg_snapshot_xmin(pg_current_snapshot())`). Ids come from a sequence and
//!   commit in any order, but a transaction id below that horizon belongs to a transaction that
//!   has ended, so no row can still appear below it: the order has no gaps to fill later.
//! - [`OutboxClaim::mark_published`], called after the stream acknowledged every event, moves
//!   the watermark to the last row and commits (without waiting for the WAL flush: a
//!   watermark lost in a database crash only republishes). A crash or error in between rolls
//!   back: the same rows are published again (duplicates, which mutasi recognises), never
//!   skipped.
//! - [`Datastore::sweep_published_outbox`] deletes old rows at or below the watermark, a bounded
//!   batch at a time.

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

/// The rows after the watermark. Written with the watermark in sub-selects and the extra
/// `writer_xid >=` bound so the planner reads the `(writer_xid, urutan)` index from the
/// watermark up: a join with `relay_watermark` was planned as a (parallel, JIT-compiled) scan
/// of the whole outbox, published rows included (0.1 s at 400,000 rows, against 0.2 ms).
macro_rules! after_watermark {
    () => {
        "
      FROM outbox
     WHERE writer_xid >= (SELECT writer_xid FROM relay_watermark)
       AND (writer_xid, urutan) > (SELECT writer_xid, urutan FROM relay_watermark)"
    };
}

/// Why claiming or marking failed. Nothing was marked published.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("outbox row {urutan} cannot be published: {reason}")]
    Corrupt { urutan: i64, reason: String },
}

/// A position in the outbox's publishing order: the writing transaction's id, then the row's
/// number. Transaction ids (`xid8`) are carried as `BIGINT` (they stay below 2^63).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, sqlx::FromRow)]
pub struct OutboxPosition {
    pub writer_xid: i64,
    pub urutan: i64,
}

/// The rows after the watermark, as stream events, with the watermark row locked by this
/// transaction. Dropped without [`OutboxClaim::mark_published`], it rolls back: the watermark
/// stays and the rows are published again.
pub struct OutboxClaim {
    tx: Transaction<'static, Postgres>,
    last: OutboxPosition,
    /// The rows' events, in publishing order.
    pub events: Vec<MutasiEvent>,
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    writer_xid: i64,
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
    /// Waits for the watermark row's lock, then claims up to `limit` rows after the watermark
    /// whose writing transaction has ended; `None` (lock released) when there is none.
    pub async fn claim_unpublished(&self, limit: i64) -> Result<Option<OutboxClaim>, OutboxError> {
        let mut tx = self.pool.begin().await?;
        // Locked first, in its own statement: after waiting for another relay, the next
        // statement's snapshot sees the watermark that relay committed and the rows it saw.
        // Sorting is off for this transaction: with statistics older than a sudden backlog the
        // planner sorted every row after the watermark on each round (50 ms for 100,000 rows)
        // instead of reading the index in order up to the limit (under 1 ms).
        // The commit that moves the watermark does not wait for its WAL flush
        // (`synchronous_commit` off for this transaction only): after a database crash the
        // watermark may fall back to an earlier position, and rows after it are published
        // again, duplicates that mutasi recognises; it can never move past a row the stream
        // has not acknowledged, because it is set only after that. The postings themselves
        // commit durably in their own transactions.
        let watermark: OutboxPosition = sqlx::query_as(
            "SELECT writer_xid::text::bigint AS writer_xid, urutan,
                    set_config('enable_sort', 'off', true) AS sorting,
                    set_config('synchronous_commit', 'off', true) AS durability
               FROM relay_watermark FOR UPDATE",
        )
        .fetch_one(&mut *tx)
        .await?;
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT writer_xid::text::bigint AS writer_xid, urutan, event_id, transaksi_id,
                    no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening,
                    tanggal_transaksi, traceparent, no_rekening_lawan, keterangan, referensi
               FROM outbox
              WHERE (writer_xid, urutan) > ($1::bigint::text::xid8, $2)
                AND writer_xid < pg_snapshot_xmin(pg_current_snapshot())
              ORDER BY outbox.writer_xid, outbox.urutan
              LIMIT $3",
        )
        .bind(watermark.writer_xid)
        .bind(watermark.urutan)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = rows.last().map(|row| OutboxPosition {
            writer_xid: row.writer_xid,
            urutan: row.urutan,
        }) else {
            tx.rollback().await?;
            return Ok(None);
        };
        let events = rows.into_iter().map(event).collect::<Result<_, _>>()?;
        Ok(Some(OutboxClaim { tx, last, events }))
    }

    /// Whether any committed row is after the watermark (one index probe; the relay asks after
    /// a round that left some behind).
    pub async fn outbox_unpublished_exists(&self) -> Result<bool, sqlx::Error> {
        // Not `EXISTS`: the planner drops an `EXISTS` subquery's order and limit and scans the
        // table for a first match (the whole outbox when none: 160 ms at 400,000 rows); a
        // scalar subquery keeps them and reads the index from the watermark up (0.06 ms).
        sqlx::query_scalar(concat!(
            "SELECT (SELECT urutan ",
            after_watermark!(),
            " ORDER BY writer_xid, urutan LIMIT 1) IS NOT NULL"
        ))
        .fetch_one(&self.pool)
        .await
    }

    /// Rows committed but not yet published: those after the watermark (rows of transactions
    /// still running are not counted; they are not committed yet).
    pub async fn outbox_backlog(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(concat!("SELECT count(*) ", after_watermark!()))
            .fetch_one(&self.pool)
            .await
    }

    /// Deletes published rows (at or below the watermark) written more than `retention_hours`
    /// ago (they are kept that long so a lost stream could be republished from them), looking
    /// at no more than the `max_rows` oldest; returns how many it deleted.
    pub async fn sweep_published_outbox(
        &self,
        retention_hours: u32,
        max_rows: i64,
    ) -> Result<u64, sqlx::Error> {
        // The oldest rows in index order, never a sort of every published row (see
        // `claim_unpublished`); deleted through the primary key, never a scan of the table.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT set_config('enable_sort', 'off', true)")
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query(
            "DELETE FROM outbox WHERE urutan = ANY(ARRAY(
                 SELECT urutan FROM (
                     SELECT outbox.urutan, outbox.dibuat_pada FROM outbox, relay_watermark AS w
                      WHERE (outbox.writer_xid, outbox.urutan) <= (w.writer_xid, w.urutan)
                      ORDER BY outbox.writer_xid, outbox.urutan
                      LIMIT $2) AS oldest
                  WHERE dibuat_pada < now() - make_interval(hours => $1)))",
        )
        .bind(i32::try_from(retention_hours).unwrap_or(i32::MAX))
        .bind(max_rows)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(deleted)
    }
}

impl OutboxClaim {
    /// Moves the watermark to the last claimed row and commits; returns how many rows were
    /// published and the new watermark. Call only after the stream acknowledged every event.
    pub async fn mark_published(mut self) -> Result<(usize, OutboxPosition), OutboxError> {
        sqlx::query(
            "UPDATE relay_watermark
                SET writer_xid = $1::bigint::text::xid8, urutan = $2, diperbarui_pada = now()",
        )
        .bind(self.last.writer_xid)
        .bind(self.last.urutan)
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await?;
        Ok((self.events.len(), self.last))
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
