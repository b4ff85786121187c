//! Group commit: concurrent deposits, withdrawals and transfers share database transactions.
//!
//! Requests queue here (`bukubesar_common::batching`); a batch is the first one waiting plus
//! whatever else arrives until it holds `--batch-max-size` operations or `--batch-max-wait-us`
//! has passed (0: only what is already queued); one of `--batch-workers` workers posts it in
//! one transaction ([`super::batch::execute`]). While every worker is busy,
//! requests wait in the queue, so batches grow with the load: one transaction (a few round
//! trips and one WAL flush) carries many operations, and a hot account's row lock is taken once
//! per batch instead of once per request.
//!
//! Several replicas each batch on their own; row locks serialise their batches exactly as they
//! serialise single requests.

use std::sync::Arc;
use std::time::Instant;

use tracing::Instrument;

use bukubesar_common::batching::{BatchSettings, Batcher};
use bukubesar_process::trace::Traceparent;

use crate::datastore::Datastore;

use super::AppError;
use super::batch::{self, Posting};
use super::commit_signal::CommitSignal;
use super::metrics;
use super::outcome::PostResult;

type Reply = Result<PostResult, Arc<sqlx::Error>>;

/// The queue in front of the batch workers. Cheap to clone; the workers stop when the last
/// clone is dropped and the queue is empty.
#[derive(Clone, Debug)]
pub struct GroupCommit {
    batcher: Batcher<Posting, Reply>,
}

impl GroupCommit {
    /// Starts the collector on the current Tokio runtime. A request that gives up while
    /// queued (timeout, client gone) is not posted: nobody would learn its outcome. Every
    /// batch that posted or transferred something rings `committed`.
    pub fn start(datastore: Datastore, settings: BatchSettings, committed: CommitSignal) -> Self {
        let batcher = Batcher::start(settings, move |postings| {
            let datastore = datastore.clone();
            let committed = committed.clone();
            async move { post_batch(&datastore, &committed, postings).await }
        });
        GroupCommit { batcher }
    }

    /// Posts one operation with the next batch and waits for its own result. The span
    /// `db.posting` (queueing and the batch's transaction) is the parent of the outbox entry.
    pub async fn post(&self, mut posting: Posting) -> Result<PostResult, AppError> {
        let span = tracing::info_span!(
            "db.posting",
            otel.kind = "client",
            db.system.name = "postgresql",
            jenis_transaksi = posting.kind.code(),
            jenis = posting.kind.label(),
            idempotent = posting.idempotency.is_some(),
        );
        posting.traceparent = Traceparent::of(&span).map(|t| t.to_string());
        match self.batcher.submit(posting).instrument(span).await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(error)) => Err(AppError::from(error)),
            Err(stopped) => Err(AppError::Internal(stopped.into())),
        }
    }
}

/// Posts one batch; one reply per posting.
async fn post_batch(
    datastore: &Datastore,
    committed: &CommitSignal,
    postings: Vec<Posting>,
) -> Vec<Reply> {
    let span = tracing::info_span!(
        parent: None,
        "db.posting_batch",
        otel.kind = "client",
        db.system.name = "postgresql",
        batch.size = postings.len(),
    );
    let started = Instant::now();
    let result = batch::execute(datastore, &postings).instrument(span).await;
    metrics::posting_batch(postings.len(), started.elapsed(), result.is_ok());
    match result {
        Ok(results) => {
            if results.iter().any(PostResult::wrote_journal) {
                committed.ring();
            }
            // A requester that went away meanwhile still has its posting stand (a retry with
            // the same Idempotency-Key gets this outcome).
            results.into_iter().map(Ok).collect()
        }
        Err(error) => {
            tracing::warn!(
                batch_size = postings.len(),
                error = %error,
                "posting batch rolled back; every operation in it is answered with an error"
            );
            let error = Arc::new(error);
            postings.iter().map(|_| Err(error.clone())).collect()
        }
    }
}
