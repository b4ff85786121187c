//! Group commit: concurrent deposits and withdrawals share database transactions.
//!
//! Requests queue here; a collector takes the first one waiting, then whatever else arrives
//! until the batch holds `--batch-max-size` operations or `--batch-max-wait-us` has passed
//! (0: only what is already queued), and hands the batch to one of `--batch-workers` workers,
//! which posts it in one transaction ([`super::batch::execute`]). While every worker is busy,
//! requests wait in the queue, so batches grow with the load: one transaction (a few round
//! trips and one WAL flush) carries many operations, and a hot account's row lock is taken once
//! per batch instead of once per request.
//!
//! Several replicas each batch on their own; row locks serialise their batches exactly as they
//! serialise single requests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc, oneshot};
use tracing::Instrument;

use bukubesar_common::trace::Traceparent;

use crate::datastore::Datastore;
use crate::datastore::posting::{Outcome, PostResult};

use super::AppError;
use super::batch::{self, Posting};
use super::metrics;

/// Queued operations per allowed batch slot: beyond `max_batch_size * workers * this`,
/// requests wait to be queued (their request timeout still applies).
const QUEUE_BATCHES: usize = 8;

/// The `--batch-*` settings.
#[derive(Clone, Copy, Debug)]
pub struct GroupCommitSettings {
    /// Most operations in one transaction (1: a transaction per request).
    pub max_batch_size: usize,
    /// How long a batch may wait for more operations after its first.
    pub max_wait: Duration,
    /// Batches in flight at once (each holds one database connection).
    pub workers: usize,
}

type Reply = Result<PostResult, Arc<sqlx::Error>>;

struct Queued {
    posting: Posting,
    reply: oneshot::Sender<Reply>,
}

/// The queue in front of the batch workers. Cheap to clone; the workers stop when the last
/// clone is dropped and the queue is empty.
#[derive(Clone, Debug)]
pub struct GroupCommit {
    queue: mpsc::Sender<Queued>,
}

impl GroupCommit {
    /// Starts the collector on the current Tokio runtime.
    pub fn start(datastore: Datastore, settings: GroupCommitSettings) -> Self {
        assert!(settings.max_batch_size >= 1 && settings.workers >= 1);
        let capacity = settings.max_batch_size * settings.workers * QUEUE_BATCHES;
        let (queue, receiver) = mpsc::channel(capacity);
        tokio::spawn(collect(datastore, settings, receiver));
        GroupCommit { queue }
    }

    /// Posts one operation with the next batch and waits for its own result. The span
    /// `db.posting` (queueing and the batch's transaction) is the parent of the outbox entry.
    pub async fn post(&self, mut posting: Posting) -> Result<PostResult, AppError> {
        let span = tracing::info_span!(
            "db.posting",
            otel.kind = "client",
            db.system.name = "postgresql",
            jenis_transaksi = posting.jenis.code(),
            idempotent = posting.idempotency.is_some(),
        );
        posting.traceparent = Traceparent::of(&span).map(|t| t.to_string());
        async {
            let (reply, answer) = oneshot::channel();
            self.queue
                .send(Queued { posting, reply })
                .await
                .map_err(|_| AppError::Internal(anyhow::anyhow!("the posting queue is closed")))?;
            match answer.await {
                Ok(Ok(result)) => Ok(result),
                Ok(Err(error)) => Err(AppError::from(error)),
                Err(_) => Err(AppError::Internal(anyhow::anyhow!(
                    "the posting batch ended without an answer"
                ))),
            }
        }
        .instrument(span)
        .await
    }
}

async fn collect(
    datastore: Datastore,
    settings: GroupCommitSettings,
    mut queue: mpsc::Receiver<Queued>,
) {
    let workers = Arc::new(Semaphore::new(settings.workers));
    loop {
        let Ok(worker) = workers.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = queue.recv().await else {
            return;
        };
        let mut batch = Vec::with_capacity(settings.max_batch_size);
        batch.push(first);
        fill(&mut queue, &mut batch, &settings).await;
        let datastore = datastore.clone();
        tokio::spawn(async move {
            post_batch(&datastore, batch).await;
            drop(worker);
        });
    }
}

/// Adds queued operations to `batch` up to the size limit, waiting at most `max_wait` for
/// ones that have not arrived yet.
async fn fill(
    queue: &mut mpsc::Receiver<Queued>,
    batch: &mut Vec<Queued>,
    settings: &GroupCommitSettings,
) {
    let deadline = tokio::time::Instant::now() + settings.max_wait;
    while batch.len() < settings.max_batch_size {
        match queue.try_recv() {
            Ok(queued) => batch.push(queued),
            Err(mpsc::error::TryRecvError::Disconnected) => return,
            Err(mpsc::error::TryRecvError::Empty) => {
                if settings.max_wait.is_zero() {
                    return;
                }
                match tokio::time::timeout_at(deadline, queue.recv()).await {
                    Ok(Some(queued)) => batch.push(queued),
                    Ok(None) | Err(_) => return,
                }
            }
        }
    }
}

/// Posts one batch and answers every operation in it.
async fn post_batch(datastore: &Datastore, batch: Vec<Queued>) {
    // A request that gave up while queued (timeout, client gone) is not posted: nobody
    // would learn its outcome.
    let (postings, replies): (Vec<Posting>, Vec<oneshot::Sender<Reply>>) = batch
        .into_iter()
        .filter(|queued| !queued.reply.is_closed())
        .map(|queued| (queued.posting, queued.reply))
        .unzip();
    if postings.is_empty() {
        return;
    }
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
            debug_assert_eq!(results.len(), replies.len());
            if results
                .iter()
                .any(|r| matches!(r, PostResult::Fresh(Outcome::Posted(_))))
            {
                datastore.outbox_committed();
            }
            for (reply, result) in replies.into_iter().zip(results) {
                // The requester may have gone meanwhile; its posting stands (a retry with the
                // same Idempotency-Key gets this outcome).
                let _ = reply.send(Ok(result));
            }
        }
        Err(error) => {
            tracing::warn!(
                batch_size = postings.len(),
                error = %error,
                "posting batch rolled back; every operation in it is answered with an error"
            );
            let error = Arc::new(error);
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}
