//! `GET /readyz` (the database answers) and `GET /metrics` (Prometheus text format);
//! `GET /healthz` is the shared one (`bukubesar_common::http::healthz`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use bukubesar_common::http::ErrorBody;

/// Readiness: the database answers too.
#[utoipa::path(get, path = "/readyz", tag = "operasi",
    responses(
        (status = 200, description = "Ready", body = Object, example = json!({"status": "ok", "database": "ok"})),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match state.datastore.ping().await {
        Ok(()) => Ok(Json(json!({ "status": "ok", "database": "ok" }))),
        Err(error) => {
            tracing::warn!(error = %error, "not ready: database unreachable");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database tidak dapat dihubungi",
            ))
        }
    }
}

/// Longest wait for the outbox backlog count during a scrape (else the last value is shown).
const BACKLOG_QUERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Prometheus metrics (text exposition format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "operasi",
    responses((status = 200, description = "Metrics", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    if let Ok(Ok(backlog)) =
        tokio::time::timeout(BACKLOG_QUERY_TIMEOUT, state.datastore.outbox_backlog()).await
    {
        crate::app::metrics::outbox_backlog(backlog);
    }
    bukubesar_common::metrics::render().await
}
