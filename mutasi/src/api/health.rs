//! `GET /readyz` (its database, the credential table and Redis answer), plus the consumer's
//! counters; `GET /metrics` (Prometheus text). `GET /healthz` is the shared one
//! (`bukubesar_common::http::healthz`).

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;

/// Readiness: its database, the credential table and Redis answer; the consumer's counters.
#[utoipa::path(get, path = "/readyz", tag = "operasi",
    responses(
        (status = 200, description = "Ready", body = Object),
        (status = 503, description = "A dependency cannot be reached (named in the body)", body = Object),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let database = state.datastore.ping().await.map_err(|e| e.to_string());
    let credentials = state.credentials.probe().await.map_err(|e| e.to_string());
    let mut redis = state.redis.clone();
    let redis: Result<(), String> = redis::cmd("PING")
        .query_async::<String>(&mut redis)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string());
    let verdict = |r: &Result<(), String>| if r.is_ok() { "ok" } else { "unreachable" };
    let ready = database.is_ok() && credentials.is_ok() && redis.is_ok();
    if !ready {
        tracing::warn!(
            database = database.as_ref().err(),
            credentials = credentials.as_ref().err(),
            redis = redis.as_ref().err(),
            "not ready"
        );
    }
    let stats = &state.stats;
    let body = json!({
        "status": if ready { "ok" } else { "unavailable" },
        "database": verdict(&database),
        "credentials": verdict(&credentials),
        "redis": verdict(&redis),
        "consumer": {
            "read": stats.read.load(Ordering::Relaxed),
            "inserted": stats.inserted.load(Ordering::Relaxed),
            "duplicates": stats.duplicates.load(Ordering::Relaxed),
            "claimed": stats.claimed.load(Ordering::Relaxed),
            "dead_lettered": stats.dead_lettered.load(Ordering::Relaxed),
            "trimmed": stats.trimmed.load(Ordering::Relaxed),
        }
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// Longest wait for Redis's view of the consumer group during a scrape.
const GROUP_QUERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Prometheus metrics (text exposition format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "operasi",
    responses((status = 200, description = "Metrics", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut redis = state.redis.clone();
    let group = match tokio::time::timeout(
        GROUP_QUERY_TIMEOUT,
        crate::datastore::stream::groups(&mut redis, &state.stream),
    )
    .await
    {
        Ok(Ok(groups)) => groups.into_iter().find(|g| g.name == state.group),
        Ok(Err(_)) | Err(_) => None,
    };
    crate::app::metrics::scrape(&state.stats, group.as_ref());
    bukubesar_common::metrics::render().await
}
