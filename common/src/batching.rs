//! A queue that hands concurrent requests to a handler in batches: the first request waiting,
//! plus whatever else arrives until the batch holds `max_batch_size` items or `max_wait` has
//! passed (zero: only what is already queued). At most `workers` batches run at once; while
//! they do, requests wait in the queue, so batches grow with the load by themselves.
//!
//! transaksi posts deposits and withdrawals this way (group commit), and both services read
//! credentials this way (one query for many requests).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, oneshot};

/// Queued items per batch slot: beyond `max_batch_size * workers * this`, submitters wait to
/// be queued.
const QUEUE_BATCHES: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSettings {
    /// Most items per batch (1: every item alone).
    pub max_batch_size: usize,
    /// How long a batch may wait for more items after its first.
    pub max_wait: Duration,
    /// Batches handled at once.
    pub workers: usize,
}

/// The batcher stopped (its handler panicked, or the runtime is shutting down).
#[derive(Clone, Copy, Debug, thiserror::Error)]
#[error("the batch queue stopped")]
pub struct Stopped;

struct Queued<T, R> {
    item: T,
    reply: oneshot::Sender<R>,
}

/// The submitting side. Cheap to clone; the collector ends when the last clone is dropped.
pub struct Batcher<T, R> {
    queue: mpsc::Sender<Queued<T, R>>,
}

impl<T, R> Clone for Batcher<T, R> {
    fn clone(&self) -> Self {
        Batcher {
            queue: self.queue.clone(),
        }
    }
}

impl<T, R> std::fmt::Debug for Batcher<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("capacity", &self.queue.max_capacity())
            .finish()
    }
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// Starts the collector on the current Tokio runtime. `handler` gets the items of one
    /// batch in arrival order and returns exactly one result per item, in the same order.
    /// Items whose submitter stopped waiting before the batch formed are left out.
    pub fn start<H, F>(settings: BatchSettings, handler: H) -> Self
    where
        H: Fn(Vec<T>) -> F + Send + Sync + 'static,
        F: Future<Output = Vec<R>> + Send + 'static,
    {
        assert!(settings.max_batch_size >= 1 && settings.workers >= 1);
        let capacity = settings.max_batch_size * settings.workers * QUEUE_BATCHES;
        let (queue, receiver) = mpsc::channel(capacity);
        tokio::spawn(collect(settings, receiver, Arc::new(handler)));
        Batcher { queue }
    }

    /// Queues `item` and waits for its result.
    pub async fn submit(&self, item: T) -> Result<R, Stopped> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Queued { item, reply })
            .await
            .map_err(|_| Stopped)?;
        answer.await.map_err(|_| Stopped)
    }
}

async fn collect<T, R, H, F>(
    settings: BatchSettings,
    mut queue: mpsc::Receiver<Queued<T, R>>,
    handler: Arc<H>,
) where
    T: Send + 'static,
    R: Send + 'static,
    H: Fn(Vec<T>) -> F + Send + Sync + 'static,
    F: Future<Output = Vec<R>> + Send + 'static,
{
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
        let (items, replies): (Vec<T>, Vec<oneshot::Sender<R>>) = batch
            .into_iter()
            .filter(|queued| !queued.reply.is_closed())
            .map(|queued| (queued.item, queued.reply))
            .unzip();
        if items.is_empty() {
            continue;
        }
        let handler = handler.clone();
        tokio::spawn(async move {
            let expected = items.len();
            let results = handler(items).await;
            assert_eq!(results.len(), expected, "one result per item");
            for (reply, result) in replies.into_iter().zip(results) {
                // The submitter may have stopped waiting meanwhile.
                let _ = reply.send(result);
            }
            drop(worker);
        });
    }
}

/// Adds queued items to `batch` up to the size limit, waiting at most `max_wait` for ones
/// that have not arrived yet.
async fn fill<T, R>(
    queue: &mut mpsc::Receiver<Queued<T, R>>,
    batch: &mut Vec<Queued<T, R>>,
    settings: &BatchSettings,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn settings(max_batch_size: usize, max_wait_ms: u64, workers: usize) -> BatchSettings {
        BatchSettings {
            max_batch_size,
            max_wait: Duration::from_millis(max_wait_ms),
            workers,
        }
    }

    #[tokio::test]
    async fn every_item_gets_its_own_result_and_batches_respect_the_size() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let batcher = Batcher::start(settings(8, 20, 1), move |items: Vec<u32>| {
            seen.lock().expect("lock").push(items.len());
            async move { items.into_iter().map(|i| i * 10).collect() }
        });
        let tasks: Vec<_> = (0..50_u32)
            .map(|i| {
                let batcher = batcher.clone();
                tokio::spawn(async move { (i, batcher.submit(i).await) })
            })
            .collect();
        for task in tasks {
            let (i, result) = task.await.expect("task");
            assert_eq!(result.expect("answered"), i * 10);
        }
        let sizes = sizes.lock().expect("lock").clone();
        assert_eq!(sizes.iter().sum::<usize>(), 50);
        assert!(sizes.iter().all(|&n| (1..=8).contains(&n)), "{sizes:?}");
        assert!(sizes.len() < 50, "concurrent items were batched: {sizes:?}");
    }

    #[tokio::test]
    async fn a_waiting_batch_collects_items_that_arrive_within_the_wait() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let batcher = Batcher::start(settings(3, 5_000, 1), move |items: Vec<u32>| {
            seen.lock().expect("lock").push(items.len());
            async move { items }
        });
        let submit = |i| {
            let batcher = batcher.clone();
            tokio::spawn(async move { batcher.submit(i).await })
        };
        let first = submit(1);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let second = submit(2);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let third = submit(3);
        for (task, expected) in [(first, 1), (second, 2), (third, 3)] {
            assert_eq!(task.await.expect("task").expect("answered"), expected);
        }
        assert_eq!(
            *sizes.lock().expect("lock"),
            vec![3],
            "full before the wait ended"
        );
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_stopped_not_a_hang() {
        let batcher: Batcher<u32, u32> =
            Batcher::start(settings(4, 0, 1), |_items: Vec<u32>| async move {
                panic!("handler failure")
            });
        assert!(matches!(batcher.submit(1).await, Err(Stopped)));
    }
}
