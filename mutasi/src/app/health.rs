//! What `/readyz` and `/metrics` ask of the service: whether its database, the credential
//! table and Redis answer, and at scrape time the consumer's counters and the group's lag.

use std::time::Duration;

use super::context::App;
use super::metrics;

/// Longest wait for Redis's view of the consumer group during a scrape.
const GROUP_QUERY_TIMEOUT: Duration = Duration::from_secs(1);

/// Each dependency's answer (the error's text when it did not answer).
#[derive(Debug)]
pub struct Readiness {
    pub database: Result<(), String>,
    pub credentials: Result<(), String>,
    pub redis: Result<(), String>,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.database.is_ok() && self.credentials.is_ok() && self.redis.is_ok()
    }
}

/// Asks every dependency once; logs which did not answer.
pub async fn readiness(app: &App) -> Readiness {
    let readiness = Readiness {
        database: app.datastore.ping().await.map_err(|e| e.to_string()),
        credentials: app.credentials.probe().await.map_err(|e| e.to_string()),
        redis: app.stream.ping().await.map_err(|e| e.to_string()),
    };
    if !readiness.ready() {
        tracing::warn!(
            database = readiness.database.as_ref().err(),
            credentials = readiness.credentials.as_ref().err(),
            redis = readiness.redis.as_ref().err(),
            "not ready"
        );
    }
    readiness
}

/// Before rendering `/metrics`: the consumer's counters, and the group's lag and pending count
/// when Redis answers in time.
pub async fn scrape(app: &App) {
    let group = match tokio::time::timeout(GROUP_QUERY_TIMEOUT, app.stream.group(&app.group)).await
    {
        Ok(Ok(group)) => group,
        Ok(Err(_)) | Err(_) => None,
    };
    metrics::scrape(&app.stats, group.as_ref());
}
