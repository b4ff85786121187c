//! `GET /readyz` (the database answers) and `GET /metrics` (Prometheus text format);
//! `GET /healthz` is the shared one (`bukubesar_common::http::healthz`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::error::ApiError;
use crate::app::context::App;
use crate::app::health;
use bukubesar_common::http::ErrorBody;

/// Readiness: the database answers too.
#[utoipa::path(get, path = "/readyz", tag = "operasi",
    responses(
        (status = 200, description = "Ready", body = Object, example = json!({"status": "ok", "database": "ok"})),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    ))]
pub async fn readyz(State(app): State<App>) -> Result<Json<Value>, ApiError> {
    if health::ready(&app).await {
        Ok(Json(json!({ "status": "ok", "database": "ok" })))
    } else {
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database tidak dapat dihubungi",
        ))
    }
}

/// Prometheus metrics (text exposition format 0.0.4), on the private listener only
/// (`--metrics-addr`, [`super::metrics_router`]).
pub async fn metrics(State(app): State<App>) -> Response {
    health::scrape(&app).await;
    bukubesar_common::metrics::render().await
}
