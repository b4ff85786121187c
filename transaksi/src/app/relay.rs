//! The outbox relay: publishes committed postings to the Redis Stream, in batches, as soon as
//! they commit (the posting path wakes it; a short poll covers rows committed by a replica
//! that died before publishing them).
//!
//! The money path never waits on this: when Redis (or the database) fails, postings keep
//! committing into the outbox while the relay retries with exponential backoff. It logs one
//! WARNING when it starts failing and one INFO when it recovers, then drains the backlog.

use std::time::{Duration, Instant};

use bukubesar_common::retry::Outage;

use super::metrics;
use crate::datastore::Datastore;
use crate::datastore::outbox::StreamPublisher;

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

/// How far below the highest row it published the relay looks again on every round. A
/// published row leaves a dead version in the "unpublished" index until vacuum, so a scan from
/// the start wades through every row published since; rows are numbered when inserted but
/// commit in any order, so a row numbered below one already published may commit later. It is
/// found by this margin (more rows than all batches in flight of several replicas hold), or at
/// the latest by the full scan made every `poll_interval`.
const RESCAN_MARGIN_ROWS: i64 = 8_192;

/// Runs until the task is dropped.
pub async fn run(datastore: Datastore, publisher: StreamPublisher, settings: RelaySettings) {
    assert!(settings.batch_size >= 1);
    let mut outage = Outage::new(settings.backoff_min, settings.backoff_max);
    let mut published_total: u64 = 0;
    let mut highest_published: i64 = 0;
    let mut next_full_scan = Instant::now();
    loop {
        let started = Instant::now();
        let scan_from = if started >= next_full_scan {
            next_full_scan = started + settings.poll_interval;
            0
        } else {
            highest_published.saturating_sub(RESCAN_MARGIN_ROWS)
        };
        let round = datastore
            .relay_outbox(&publisher, settings.batch_size, scan_from)
            .await;
        metrics::relay_round(
            round.as_ref().ok().map(|(published, _)| *published),
            started.elapsed(),
        );
        match round {
            Ok((published, highest)) => {
                if let Some(highest) = highest {
                    highest_published = highest_published.max(highest);
                }
                published_total += published as u64;
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
                tracing::debug!(published, published_total, "outbox relay idle");
                tokio::select! {
                    () = datastore.outbox_written() => {}
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
