//! The outbox relay: publishes committed postings to the Redis Stream, in batches, as soon as
//! they commit (the posting path rings the [`CommitSignal`]; a short poll covers rows committed
//! by a replica that died before publishing them).
//!
//! One round: claim unpublished rows (the datastore locks them), `XADD` them, and mark them
//! published only after Redis acknowledged every entry; each entry is published in a span of
//! the posting's trace. The money path never waits on this: when Redis (or the database)
//! fails, postings keep committing into the outbox while the relay retries with exponential
//! backoff. It logs one WARNING when it starts failing and one INFO when it recovers, then
//! drains the backlog.

use std::time::{Duration, Instant};

use bukubesar_common::event::MutasiEvent;
use bukubesar_common::retry::Outage;
use bukubesar_process::trace::Traceparent;

use super::commit_signal::CommitSignal;
use super::metrics;
use crate::datastore::Datastore;
use crate::datastore::outbox::OutboxError;
use crate::datastore::stream::StreamPublisher;

#[derive(Clone, Debug)]
pub struct RelaySettings {
    /// Most rows published per round (one `XADD` pipeline, one database transaction).
    pub batch_size: i64,
    /// Longest wait between rounds when nothing woke the relay.
    pub poll_interval: Duration,
    /// First and longest wait after a failed round.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

/// Why a relay round failed. Nothing was marked published.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

/// How far below the highest row it published the relay looks again on every round. A
/// published row leaves a dead version in the "unpublished" index until vacuum, so a scan from
/// the start wades through every row published since; rows are numbered when inserted but
/// commit in any order, so a row numbered below one already published may commit later. It is
/// found by this margin (more rows than all batches in flight of several replicas hold), or at
/// the latest by the full scan made every `poll_interval`.
const RESCAN_MARGIN_ROWS: i64 = 8_192;

/// Where the relay is: the highest row it published, and when it next scans from the start.
struct Position {
    highest_published: i64,
    next_full_scan: Instant,
    published_total: u64,
}

impl Position {
    /// Where this round starts looking: the start once per `poll_interval`, else just below
    /// the highest row published.
    fn scan_from(&mut self, now: Instant, poll_interval: Duration) -> i64 {
        if now >= self.next_full_scan {
            self.next_full_scan = now + poll_interval;
            0
        } else {
            self.highest_published.saturating_sub(RESCAN_MARGIN_ROWS)
        }
    }

    fn published(&mut self, rows: usize, highest: Option<i64>) {
        if let Some(highest) = highest {
            self.highest_published = self.highest_published.max(highest);
        }
        self.published_total += rows as u64;
    }
}

/// Runs until the task is dropped.
pub async fn run(
    datastore: Datastore,
    publisher: StreamPublisher,
    settings: RelaySettings,
    committed: CommitSignal,
) {
    assert!(settings.batch_size >= 1);
    let mut outage = Outage::new(settings.backoff_min, settings.backoff_max);
    let mut position = Position {
        highest_published: 0,
        next_full_scan: Instant::now(),
        published_total: 0,
    };
    loop {
        let started = Instant::now();
        let scan_from = position.scan_from(started, settings.poll_interval);
        let result = round(&datastore, &publisher, settings.batch_size, scan_from).await;
        metrics::relay_round(
            result.as_ref().ok().map(|(published, _)| *published),
            started.elapsed(),
        );
        match result {
            Ok((published, highest)) => {
                position.published(published, highest);
                if let Some(lasted) = outage.succeeded() {
                    tracing::info!(
                        outage_secs = lasted.as_secs(),
                        published,
                        "outbox relay recovered; publishing the backlog"
                    );
                }
                if published as i64 == settings.batch_size {
                    // A full batch: there is probably more backlog; go on at once.
                    continue;
                }
                let published_total = position.published_total;
                tracing::debug!(published, published_total, "outbox relay idle");
                tokio::select! {
                    () = committed.rung() => {}
                    () = tokio::time::sleep(settings.poll_interval) => {}
                }
            }
            Err(error) => {
                let failure = outage.failed();
                if failure.first {
                    let backlog = datastore.outbox_backlog().await.ok();
                    tracing::warn!(
                        error = %error,
                        backlog,
                        "outbox relay cannot publish; postings keep committing and wait in the outbox"
                    );
                } else {
                    tracing::debug!(error = %error, retry_in_ms = failure.wait.as_millis() as u64, "outbox relay still failing");
                }
                tokio::time::sleep(failure.wait).await;
            }
        }
    }
}

/// One round: claim up to `limit` unpublished rows numbered `scan_from` or above, publish
/// them, mark them published. Returns how many were published (0: nothing to do, or every
/// candidate is being published by another relay) and the highest number published.
async fn round(
    datastore: &Datastore,
    publisher: &StreamPublisher,
    limit: i64,
    scan_from: i64,
) -> Result<(usize, Option<i64>), RelayError> {
    let Some(mut claim) = datastore.claim_unpublished(limit, scan_from).await? else {
        return Ok((0, None));
    };
    // One span per entry, in the trace of the posting that wrote the row; the entry carries
    // this span's context, so mutasi's consume span is its child.
    let spans: Vec<tracing::Span> = claim
        .events
        .iter_mut()
        .map(|event| publish_span(event, publisher.stream()))
        .collect();
    if let Err(error) = publisher.publish(&claim.events).await {
        for span in &spans {
            span.record("otel.status_code", "error");
        }
        return Err(error.into());
    }
    let (published, highest) = claim.mark_published().await?;
    drop(spans);
    Ok((published, Some(highest)))
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
