//! The outbox and its publication. Each committed posting wrote one outbox row in its own
//! transaction; the relay claims a batch of unpublished rows (`FOR UPDATE SKIP LOCKED`, so
//! several replicas never publish the same row at the same time), appends them to the Redis
//! Stream with `XADD` (one pipeline), and marks them published in the same database
//! transaction only after Redis acknowledged every entry. A crash between the `XADD` and the
//! commit publishes those rows again: duplicates, which mutasi recognises by `event_id`, never
//! gaps.

use chrono::{DateTime, Utc};
use redis::aio::ConnectionManager;
use rust_decimal::Decimal;
use uuid::Uuid;

use bukubesar_common::event::{Jenis, MutasiEvent};
use bukubesar_process::trace::Traceparent;

use super::Datastore;

/// Why a relay round failed. Nothing was marked published.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("outbox row {urutan} cannot be published: {reason}")]
    Corrupt { urutan: i64, reason: String },
}

/// Appends events to the stream.
#[derive(Clone)]
pub struct StreamPublisher {
    connection: ConnectionManager,
    stream: String,
}

impl StreamPublisher {
    pub fn new(connection: ConnectionManager, stream: String) -> Self {
        StreamPublisher { connection, stream }
    }

    /// `XADD`s every event, in order, in one round trip. Ok only when Redis accepted all.
    pub async fn publish(&self, events: &[MutasiEvent]) -> Result<(), redis::RedisError> {
        let mut pipeline = redis::pipe();
        for event in events {
            let command = pipeline.cmd("XADD").arg(&self.stream).arg("*");
            for (field, value) in event.fields() {
                command.arg(field).arg(value);
            }
        }
        let mut connection = self.connection.clone();
        let ids: Vec<String> = pipeline.query_async(&mut connection).await?;
        debug_assert_eq!(ids.len(), events.len());
        Ok(())
    }
}

/// The `outbox.publish` span of one entry: a child of the context stored with the row (a new
/// trace when there is none); the entry's `traceparent` becomes this span's context.
fn publish_span(event: &mut MutasiEvent, stream: &str) -> tracing::Span {
    let span = tracing::info_span!(
        parent: None,
        "outbox.publish",
        otel.kind = "producer",
        otel.status_code = tracing::field::Empty,
        messaging.system = "redis",
        messaging.destination.name = stream,
        event_id = %event.event_id
    );
    if let Some(parent) = &event.traceparent {
        parent.adopt(&span);
    }
    if let Some(own) = Traceparent::of(&span) {
        event.traceparent = Some(own);
    }
    span
}

type OutboxRow = (
    i64,
    Uuid,
    String,
    String,
    Decimal,
    Decimal,
    i64,
    DateTime<Utc>,
    Option<String>,
);

impl Datastore {
    /// Publishes up to `limit` of the oldest unpublished rows numbered `scan_from` or above
    /// and returns how many were published (0: nothing to do, or every candidate is being
    /// published by another relay) and the highest number published.
    pub async fn relay_outbox(
        &self,
        publisher: &StreamPublisher,
        limit: i64,
        scan_from: i64,
    ) -> Result<(usize, Option<i64>), RelayError> {
        let mut tx = self.pool.begin().await?;
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT urutan, event_id, no_rekening, jenis_transaksi, nominal, saldo,
                    urutan_rekening, tanggal_transaksi, traceparent
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
            return Ok((0, None));
        }
        let mut urutan = Vec::with_capacity(rows.len());
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            let (id, event_id, no_rekening, jenis, nominal, saldo, nomor, tanggal, trace) = row;
            let jenis = Jenis::from_code(&jenis).ok_or_else(|| RelayError::Corrupt {
                urutan: id,
                reason: format!("jenis_transaksi {jenis:?}"),
            })?;
            urutan.push(id);
            events.push(MutasiEvent {
                event_id,
                no_rekening,
                jenis,
                nominal,
                saldo,
                urutan_rekening: nomor,
                tanggal_transaksi: tanggal,
                traceparent: trace.as_deref().and_then(Traceparent::parse),
            });
        }
        // One span per entry, in the trace of the posting that wrote the row; the entry carries
        // this span's context, so mutasi's consume span is its child.
        let spans: Vec<tracing::Span> = events
            .iter_mut()
            .map(|event| publish_span(event, &publisher.stream))
            .collect();
        let published = publisher.publish(&events).await;
        if published.is_err() {
            for span in &spans {
                span.record("otel.status_code", "error");
            }
        }
        published?;
        let marked =
            sqlx::query("UPDATE outbox SET dipublikasikan_pada = now() WHERE urutan = ANY($1)")
                .bind(&urutan)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if marked != urutan.len() as u64 {
            // The rows are locked by this transaction, so this cannot happen; if it does,
            // roll back (they are published again later: a duplicate, never a loss).
            return Err(RelayError::Corrupt {
                urutan: urutan[0],
                reason: format!("marked {marked} of {} claimed rows", urutan.len()),
            });
        }
        tx.commit().await?;
        drop(spans);
        Ok((urutan.len(), urutan.iter().copied().max()))
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
