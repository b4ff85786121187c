//! Consuming the stream into the statement. At-least-once delivery, exactly-once effect:
//!
//! 1. Read a batch with the consumer group (`XREADGROUP`).
//! 2. Parse every entry; insert the good ones in ONE statement (`UNNEST` arrays) with
//!    `ON CONFLICT (transaksi_id, no_rekening) DO NOTHING`, so a redelivered event adds nothing.
//!    When the batch was full, the next batch is read meanwhile (no waiting: it becomes
//!    pending with us, and after a failed round is re-read with our other pending entries).
//! 3. Only after that commit: dead-letter the poison entries, then `XACK` the batch. A crash
//!    before the `XACK` redelivers the batch: harmless by step 2.
//!
//! One `mutasi.batch` span per batch carries the counts; per-event spans (continuing each
//! posting's trace) only when traces are exported (`trace_each_event`).
//!
//! After a start or a failed round the consumer first re-reads its own pending entries.
//! Entries left pending by a consumer that died are taken over with `XAUTOCLAIM` once idle
//! for `claim_idle`. Poison entries (unparseable, refused by the statement table, or delivered
//! more than `max_deliveries` times) go to the dead-letter stream with the reason, are
//! acknowledged, logged as ERROR and counted: they never block the stream.
//!
//! Deliveries are only retried once the database answers again, so an outage does not inflate
//! delivery counts and push healthy entries over `max_deliveries`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bukubesar_common::event::MutasiEvent;
use bukubesar_common::retry::Outage;
use tokio::time::Instant;
use tracing::Instrument;

use super::metrics;
use super::stats::ConsumerStats;
use crate::datastore::Datastore;
use crate::datastore::stream::{Entry, StreamConsumer};

#[derive(Clone, Debug)]
pub struct ConsumerSettings {
    pub stream: String,
    pub group: String,
    pub consumer: String,
    pub dead_letter_stream: String,
    /// Most entries per round (one insert statement, one XACK).
    pub batch_size: usize,
    /// One `mutasi.consume` span (with its `mutasi.insert` child) per event, in the trace its
    /// entry carries, besides the batch's span: when traces are exported (`--otlp-endpoint`).
    pub trace_each_event: bool,
    /// Longest wait for new entries in one XREADGROUP.
    pub block: Duration,
    /// An entry pending this long with another consumer is taken over.
    pub claim_idle: Duration,
    /// More deliveries than this without being stored make an entry poison.
    pub max_deliveries: u64,
    /// Acknowledged entries older than this are trimmed from the stream.
    pub stream_retention: Duration,
    pub trim_interval: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

struct Progress {
    group_ready: bool,
    /// New entries read while the previous batch was being stored (delivered to us, pending):
    /// the next batch. Emptied after a failed round (they are re-read as own pending entries).
    read_ahead: Vec<Entry>,
    /// Re-read own pending entries after this id before reading new ones.
    own_pending_after: Option<String>,
    /// Ping the database before delivering anything again.
    check_database: bool,
    claim_cursor: String,
    next_claim: Instant,
    next_trim: Instant,
}

/// What one round works with.
struct Consumer<'a> {
    datastore: &'a Datastore,
    stream: &'a StreamConsumer,
    settings: &'a ConsumerSettings,
    stats: &'a ConsumerStats,
}

/// Why an entry cannot be stored.
type Poison<'a> = (&'a Entry, String);

/// Runs until the task is dropped.
pub async fn run(
    datastore: Datastore,
    stream: StreamConsumer,
    settings: ConsumerSettings,
    stats: Arc<ConsumerStats>,
) {
    assert!(settings.batch_size >= 1);
    assert!(settings.max_deliveries >= 1);
    assert!(
        settings.block < Duration::from_secs(3),
        "below the Redis response timeout"
    );
    let mut progress = Progress {
        group_ready: false,
        read_ahead: Vec::new(),
        own_pending_after: Some("0".to_owned()),
        check_database: true,
        claim_cursor: "0-0".to_owned(),
        next_claim: Instant::now(),
        next_trim: Instant::now() + settings.trim_interval,
    };
    let mut outage = Outage::new(settings.backoff_min, settings.backoff_max);
    tracing::info!(
        stream = %settings.stream,
        group = %settings.group,
        consumer = %settings.consumer,
        "statement consumer started"
    );
    let consumer = Consumer {
        datastore: &datastore,
        stream: &stream,
        settings: &settings,
        stats: &stats,
    };
    loop {
        match consumer.round(&mut progress).await {
            Ok(()) => {
                if let Some(lasted) = outage.succeeded() {
                    tracing::info!(
                        outage_secs = lasted.as_secs(),
                        "statement consumer recovered"
                    );
                }
            }
            Err(error) => {
                let failure = outage.failed();
                if failure.first {
                    tracing::warn!(error = %error, "statement consumer cannot proceed; retrying (nothing is acknowledged until stored)");
                } else {
                    tracing::debug!(error = %error, "statement consumer still failing");
                }
                progress.own_pending_after = Some("0".to_owned());
                progress.read_ahead.clear();
                progress.check_database = true;
                if matches!(error, RoundError::Redis(_)) {
                    // Redis may have restarted without the group (e.g. a new instance).
                    progress.group_ready = false;
                }
                tokio::time::sleep(failure.wait).await;
            }
        }
    }
}

impl Consumer<'_> {
    async fn round(&self, progress: &mut Progress) -> Result<(), RoundError> {
        if !progress.group_ready {
            self.stream.ensure_group().await?;
            progress.group_ready = true;
        }
        if progress.check_database {
            self.datastore.ping().await?;
            progress.check_database = false;
        }
        // 1. Our own pending entries (after a start or a failed round), oldest first.
        if let Some(after) = progress.own_pending_after.clone() {
            return self.reread_own_pending(progress, &after).await;
        }
        // 2. Entries a dead (or hung) consumer left pending.
        if Instant::now() >= progress.next_claim && self.take_over(progress).await? {
            return Ok(());
        }
        // 3. Trim what every group has acknowledged.
        if Instant::now() >= progress.next_trim {
            progress.next_trim = Instant::now() + self.settings.trim_interval;
            self.trim().await?;
        }
        // 4. New entries: those read ahead, or wait for some. A full batch means more are
        //    probably there: read the next batch while this one is stored.
        let settings = self.settings;
        let entries = if progress.read_ahead.is_empty() {
            self.stream
                .read_new(settings.batch_size, settings.block)
                .await?
        } else {
            std::mem::take(&mut progress.read_ahead)
        };
        if entries.is_empty() {
            return Ok(());
        }
        let full = entries.len() >= settings.batch_size;
        let read_next = async {
            if full {
                self.stream.read_new_now(settings.batch_size).await
            } else {
                Ok(Vec::new())
            }
        };
        let (processed, next) = tokio::join!(self.process(entries, false), read_next);
        // Entries read ahead are pending with us: after a failure they are re-read.
        progress.read_ahead = next?;
        processed
    }

    async fn reread_own_pending(
        &self,
        progress: &mut Progress,
        after: &str,
    ) -> Result<(), RoundError> {
        let entries = self
            .stream
            .read_own_pending(self.settings.batch_size, after)
            .await?;
        match entries.last() {
            None => progress.own_pending_after = None,
            Some(last) => {
                progress.own_pending_after = Some(last.id.clone());
                self.process(entries, true).await?;
            }
        }
        Ok(())
    }

    /// Takes over a batch of entries idle with another consumer; true when there were some.
    async fn take_over(&self, progress: &mut Progress) -> Result<bool, RoundError> {
        let settings = self.settings;
        let claimed = self
            .stream
            .autoclaim(
                settings.claim_idle,
                &progress.claim_cursor,
                settings.batch_size,
            )
            .await?;
        progress.claim_cursor = claimed.next_cursor;
        if progress.claim_cursor == "0-0" {
            // A full pass over the pending list: look again in half the idle time.
            progress.next_claim = Instant::now() + settings.claim_idle / 2;
        }
        if claimed.entries.is_empty() {
            return Ok(false);
        }
        self.stats
            .claimed
            .fetch_add(claimed.entries.len() as u64, Ordering::Relaxed);
        tracing::info!(
            entries = claimed.entries.len(),
            idle_ms = settings.claim_idle.as_millis() as u64,
            "took over entries left pending by another consumer"
        );
        self.process(claimed.entries, true).await?;
        Ok(true)
    }

    async fn trim(&self) -> Result<(), RoundError> {
        let trimmed = self
            .stream
            .trim_acknowledged(self.settings.stream_retention)
            .await?;
        if trimmed > 0 {
            self.stats.trimmed.fetch_add(trimmed, Ordering::Relaxed);
            tracing::debug!(trimmed, "acknowledged entries trimmed from the stream");
        }
        Ok(())
    }

    /// Stores what can be stored, dead-letters the poison, then acknowledges the whole batch,
    /// in one `mutasi.batch` span with its counts.
    async fn process(&self, entries: Vec<Entry>, redelivered: bool) -> Result<(), RoundError> {
        let batch = tracing::info_span!(
            "mutasi.batch",
            otel.kind = "consumer",
            messaging.system = "redis",
            messaging.destination.name = %self.settings.stream,
            messaging.batch.message_count = entries.len(),
            redelivered,
            inserted = tracing::field::Empty,
            dead_lettered = tracing::field::Empty
        );
        // Per-event spans only when traces are exported: each continues the trace carried in
        // its entry. Otherwise the batch span alone (no span work per event).
        let per_event = self.settings.trace_each_event;
        self.process_batch(entries, redelivered, per_event, &batch)
            .instrument(batch.clone())
            .await
    }

    async fn process_batch(
        &self,
        entries: Vec<Entry>,
        redelivered: bool,
        per_event: bool,
        batch: &tracing::Span,
    ) -> Result<(), RoundError> {
        self.stats
            .read
            .fetch_add(entries.len() as u64, Ordering::Relaxed);
        let deliveries: HashMap<String, u64> = if redelivered {
            let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
            self.stream.delivery_counts(&ids).await?
        } else {
            HashMap::new()
        };
        let (good, mut poison) = sort(&entries, &deliveries, self.settings.max_deliveries);
        // Each event's `mutasi.consume` span continues the trace carried in its entry; its
        // `mutasi.insert` child covers the batch insert that stored it.
        let consume_spans: Vec<tracing::Span> = if per_event {
            good.iter()
                .map(|(entry, event)| consume_span(self.settings, entry, event, redelivered))
                .collect()
        } else {
            Vec::new()
        };
        let inserted_before = self.stats.inserted.load(Ordering::Relaxed);
        poison.extend(self.store(&good, &consume_spans).await?);
        batch.record(
            "inserted",
            self.stats.inserted.load(Ordering::Relaxed) - inserted_before,
        );
        batch.record("dead_lettered", poison.len());
        self.dead_letter(&poison).await?;
        // Every entry of the batch is now stored (or was already), gone, or dead-lettered.
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        self.stream.ack(&ids).await?;
        drop(consume_spans);
        Ok(())
    }

    /// Inserts the events in one statement; when the table refuses the batch, one by one.
    /// Returns the entries the table refused.
    async fn store<'e>(
        &self,
        good: &[(&'e Entry, MutasiEvent)],
        consume_spans: &[tracing::Span],
    ) -> Result<Vec<Poison<'e>>, RoundError> {
        if good.is_empty() {
            return Ok(Vec::new());
        }
        let events: Vec<&MutasiEvent> = good.iter().map(|(_, e)| e).collect();
        let insert_spans: Vec<tracing::Span> = consume_spans
            .iter()
            .map(|parent| {
                tracing::info_span!(
                    parent: parent,
                    "mutasi.insert",
                    otel.kind = "client",
                    db.system.name = "postgresql",
                    batch_size = events.len()
                )
            })
            .collect();
        let started = std::time::Instant::now();
        let stored = self.datastore.insert_events(&events).await;
        metrics::batch_inserted(events.len(), started.elapsed());
        drop(insert_spans);
        match stored {
            Ok(inserted) => {
                count_inserted(self.stats, inserted, events.len());
                Ok(Vec::new())
            }
            Err(error) if bukubesar_common::db::is_unavailable(&error) => Err(error.into()),
            Err(error) => {
                // Something in the batch is refused by the table: find it, store the rest.
                tracing::warn!(error = %error, entries = events.len(), "batch refused; storing its entries one by one");
                self.store_one_by_one(good).await
            }
        }
    }

    async fn store_one_by_one<'e>(
        &self,
        good: &[(&'e Entry, MutasiEvent)],
    ) -> Result<Vec<Poison<'e>>, RoundError> {
        let mut refused = Vec::new();
        for (entry, event) in good {
            match self.datastore.insert_events(&[event]).await {
                Ok(inserted) => count_inserted(self.stats, inserted, 1),
                Err(error) if bukubesar_common::db::is_unavailable(&error) => {
                    return Err(error.into());
                }
                Err(error) => refused.push((*entry, refusal(&error))),
            }
        }
        Ok(refused)
    }

    async fn dead_letter(&self, poison: &[Poison<'_>]) -> Result<(), RoundError> {
        for (entry, reason) in poison {
            self.stream.dead_letter(entry, reason).await?;
            let total = self.stats.dead_lettered.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::error!(
                stream_id = %entry.id,
                reason = %reason,
                dead_letter_stream = %self.settings.dead_letter_stream,
                dead_lettered_total = total,
                "poison entry moved to the dead-letter stream"
            );
        }
        Ok(())
    }
}

/// The entries whose events can be stored, and the poison: delivered too often, or
/// unparseable. An entry deleted from the stream while pending is neither (nothing is left to
/// store; it is acknowledged with the rest).
fn sort<'e>(
    entries: &'e [Entry],
    deliveries: &HashMap<String, u64>,
    max_deliveries: u64,
) -> (Vec<(&'e Entry, MutasiEvent)>, Vec<Poison<'e>>) {
    let mut good = Vec::with_capacity(entries.len());
    let mut poison = Vec::new();
    for entry in entries {
        let Some(fields) = &entry.fields else {
            continue;
        };
        if let Some(count) = deliveries.get(&entry.id).filter(|n| **n > max_deliveries) {
            poison.push((
                entry,
                format!("delivered {count} times without being stored"),
            ));
            continue;
        }
        match parse(fields) {
            Ok(event) => good.push((entry, event)),
            Err(reason) => poison.push((entry, reason)),
        }
    }
    (good, poison)
}

/// The `mutasi.consume` span of one event: a child of the entry's `traceparent` (the relay's
/// `outbox.publish` span), a new trace when the entry has none.
fn consume_span(
    settings: &ConsumerSettings,
    entry: &Entry,
    event: &MutasiEvent,
    redelivered: bool,
) -> tracing::Span {
    let span = tracing::info_span!(
        parent: None,
        "mutasi.consume",
        otel.kind = "consumer",
        messaging.system = "redis",
        messaging.destination.name = %settings.stream,
        messaging.consumer.group.name = %settings.group,
        messaging.message.id = %entry.id,
        event_id = %event.event_id,
        redelivered
    );
    if let Some(parent) = &event.traceparent {
        parent.adopt(&span);
    }
    span
}

fn count_inserted(stats: &ConsumerStats, inserted: u64, offered: usize) {
    stats.inserted.fetch_add(inserted, Ordering::Relaxed);
    let duplicates = offered as u64 - inserted.min(offered as u64);
    if duplicates > 0 {
        stats.duplicates.fetch_add(duplicates, Ordering::Relaxed);
        tracing::debug!(
            duplicates,
            "redelivered events ignored (already in the statement)"
        );
    }
}

fn parse(fields: &[(String, Vec<u8>)]) -> Result<MutasiEvent, String> {
    let mut map = HashMap::with_capacity(fields.len());
    for (name, value) in fields {
        let text =
            std::str::from_utf8(value).map_err(|_| format!("field {name} is not UTF-8 text"))?;
        if map.insert(name.clone(), text.to_owned()).is_some() {
            return Err(format!("field {name} appears twice"));
        }
    }
    MutasiEvent::parse(&map)
}

/// The table's reason, without values (PostgreSQL puts values only in the error's detail).
fn refusal(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => format!("the statement table refused it: {}", db.message()),
        other => format!("the statement table refused it: {other}"),
    }
}
