//! The outbox relay: publishes committed postings to the Redis Stream, in batches, as soon as
//! they commit (the posting path rings the [`CommitSignal`]; a short poll covers rows committed
//! by other replicas, and rows held back while an older transaction was still running).
//!
//! One round: lock the published-up-to watermark (one relay of all replicas works at a time;
//! the others wait for it), read the rows after it whose writing transaction has ended (rows
//! held back behind an older transaction still running are looked for again within
//! milliseconds even when no commit rings, [`HeldBack`]), `XADD` them, and move the watermark
//! past them only after Redis acknowledged every entry (one row updated per round; published
//! rows are never rewritten). When traces are exported, each entry is published in an
//! `outbox.publish` span of the posting's trace; otherwise the entry carries the posting's
//! own trace context, so mutasi's work still joins the posting's trace without a span per
//! entry here. The money path never waits on this: when Redis (or the database) fails, postings keep committing into the outbox while the relay retries with exponential
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
    /// One `outbox.publish` span per entry: when traces are exported (`--otlp-endpoint`).
    pub trace_each_event: bool,
}

/// Why a relay round failed. The watermark did not move.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
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
    let mut published_total: u64 = 0;
    let mut held_back = HeldBack::default();
    loop {
        let started = Instant::now();
        let result = round(&datastore, &publisher, &settings).await;
        metrics::relay_round(result.as_ref().ok().copied(), started.elapsed());
        match result {
            Ok(published) => {
                published_total += published as u64;
                if let Some(lasted) = outage.succeeded() {
                    tracing::info!(
                        outage_secs = lasted.as_secs(),
                        published,
                        "outbox relay recovered; publishing the backlog"
                    );
                }
                if published > 0 {
                    held_back.reset();
                }
                if published as i64 == settings.batch_size {
                    // A full batch: there is probably more backlog; go on at once.
                    continue;
                }
                let wait = held_back
                    .next_wait(&datastore, settings.poll_interval)
                    .await;
                tracing::debug!(published, published_total, "outbox relay idle");
                tokio::select! {
                    () = committed.rung() => {}
                    () = tokio::time::sleep(wait) => {}
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

/// Committed rows the last round could not take: their writers' transaction ids are above
/// the horizon because an older transaction was still running (another replica's batch, or
/// any transaction on the server). Their own commit's ring has come and gone, so while such
/// rows wait the relay waits for the next ring only up to a short time (10 ms, doubling up to
/// the poll interval while rounds publish nothing), not the whole poll interval. Under load
/// the next ring comes first anyway; a single posting held back is published within
/// milliseconds.
struct HeldBack {
    wait: Duration,
}

impl HeldBack {
    /// The first wait: about one group-commit batch.
    const FIRST_WAIT: Duration = Duration::from_millis(10);

    fn reset(&mut self) {
        self.wait = Self::FIRST_WAIT;
    }

    /// How long to wait for a ring before the next round: the poll interval when no committed
    /// row is after the watermark (or the check failed: the next round reports failures),
    /// else the held-back wait, which doubles for the next time.
    async fn next_wait(&mut self, datastore: &Datastore, poll_interval: Duration) -> Duration {
        if !datastore.outbox_unpublished_exists().await.unwrap_or(false) {
            self.reset();
            return poll_interval;
        }
        let wait = self.wait.min(poll_interval);
        self.wait = (self.wait * 2).min(poll_interval);
        wait
    }
}

impl Default for HeldBack {
    fn default() -> Self {
        HeldBack {
            wait: Self::FIRST_WAIT,
        }
    }
}

/// One round: wait for the watermark, claim up to `batch_size` rows after it, publish them,
/// move the watermark past them. Returns how many were published (0: nothing to do).
async fn round(
    datastore: &Datastore,
    publisher: &StreamPublisher,
    settings: &RelaySettings,
) -> Result<usize, RelayError> {
    let Some(mut claim) = datastore.claim_unpublished(settings.batch_size).await? else {
        return Ok(0);
    };
    // When exporting, one span per entry, in the trace of the posting that wrote the row; the
    // entry carries this span's context, so mutasi's consume span is its child.
    let spans: Vec<tracing::Span> = if settings.trace_each_event {
        claim
            .events
            .iter_mut()
            .map(|event| publish_span(event, publisher.stream()))
            .collect()
    } else {
        Vec::new()
    };
    if let Err(error) = publisher.publish(&claim.events).await {
        for span in &spans {
            span.record("otel.status_code", "error");
        }
        return Err(error.into());
    }
    let (published, _) = claim.mark_published().await?;
    drop(spans);
    Ok(published)
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
