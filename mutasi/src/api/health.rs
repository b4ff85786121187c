//! `GET /readyz` (its database, the credential table and Redis answer), plus the consumer's
//! counters; `GET /metrics` (Prometheus text). `GET /healthz` is the shared one
//! (`bukubesar_common::http::healthz`).

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::context::App;
use crate::app::health;

/// Readiness: its database, the credential table and Redis answer; the consumer's counters.
#[utoipa::path(get, path = "/readyz", tag = "operasi",
    responses(
        (status = 200, description = "Ready", body = Object),
        (status = 503, description = "A dependency cannot be reached (named in the body)", body = Object),
    ))]
pub async fn readyz(State(app): State<App>) -> Response {
    let readiness = health::readiness(&app).await;
    let ready = readiness.ready();
    let verdict = |r: &Result<(), String>| if r.is_ok() { "ok" } else { "unreachable" };
    let stats = app.stats();
    let body = json!({
        "status": if ready { "ok" } else { "unavailable" },
        "database": verdict(&readiness.database),
        "credentials": verdict(&readiness.credentials),
        "redis": verdict(&readiness.redis),
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

/// Prometheus metrics (text exposition format 0.0.4), on the private listener only
/// (`--metrics-addr`, [`super::metrics_router`]).
pub async fn metrics(State(app): State<App>) -> Response {
    health::scrape(&app).await;
    bukubesar_common::metrics::render().await
}
