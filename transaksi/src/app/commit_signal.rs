//! [`CommitSignal`]: the wake-up between the posting path and the relay.

use std::sync::Arc;

use tokio::sync::Notify;

/// "A posting committed": rung by the group commit after every batch that posted something,
/// awaited by the relay, so a committed posting is published at once. Cheap to clone; every
/// clone is the same signal. A ring while nobody waits is kept for the next wait.
#[derive(Clone, Debug, Default)]
pub struct CommitSignal(Arc<Notify>);

impl CommitSignal {
    pub fn ring(&self) {
        self.0.notify_one();
    }

    /// Completes when a posting has committed since the last call (or right away if one did
    /// before anyone waited).
    pub async fn rung(&self) {
        self.0.notified().await
    }
}
