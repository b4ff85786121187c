//! What `/readyz` and `/metrics` ask of the service: whether its database answers, and the
//! outbox backlog at scrape time.

use std::time::Duration;

use super::context::App;
use super::metrics;

/// Longest wait for the outbox backlog count during a scrape (else the last value is shown).
const BACKLOG_QUERY_TIMEOUT: Duration = Duration::from_secs(1);

/// True when the database answers; logs why not.
pub async fn ready(app: &App) -> bool {
    match app.datastore.ping().await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(error = %error, "not ready: database unreachable");
            false
        }
    }
}

/// Before rendering `/metrics`: the outbox backlog, when the database answers in time.
pub async fn scrape(app: &App) {
    if let Ok(Ok(backlog)) =
        tokio::time::timeout(BACKLOG_QUERY_TIMEOUT, app.datastore.outbox_backlog()).await
    {
        metrics::outbox_backlog(backlog);
    }
}
