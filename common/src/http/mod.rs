//! What the two services' HTTP layers share: the one error type and its JSON shape
//! (`{"remark": ..., "field": ...}`), JSON request bodies ([`JsonBody`]), Basic authentication,
//! the request span/log line/timeout, exact money numbers, the 404/405 answers, the security
//! headers, and the private listener of `/metrics`.

pub mod basic_auth;
pub mod error;
pub mod json;
pub mod money;
pub mod openapi;
pub mod path;
pub mod private;
pub mod request_log;
pub mod security_headers;
pub mod serve;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

pub use basic_auth::{Authenticated, require_auth};
pub use error::{ApiError, ErrorBody, Remark};
pub use json::JsonBody;
pub use path::NoRekeningPath;

/// The router fallback for unknown paths.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "alamat tidak ditemukan")
}

/// The router fallback for a known path with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "metode HTTP tidak didukung untuk alamat ini",
    )
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operasi",
    responses((status = 200, description = "Alive", body = Object, example = json!({"status": "ok"}))))]
pub async fn healthz() -> axum::Json<Value> {
    axum::Json(json!({ "status": "ok" }))
}

/// What both services' routers end with: `GET /healthz`, the OpenAPI document and its page
/// (`document`), naming each request's span and metrics after its route pattern, the JSON
/// 404/405 answers, the request log with its time limit and, outermost, the security headers
/// ([`security_headers`]). `/metrics` is not here: it is served on the private listener
/// ([`private`]).
pub fn finish_router<S>(
    routes: Router<S>,
    document: utoipa::openapi::OpenApi,
    request_timeout: Duration,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    routes
        .route("/healthz", get(healthz))
        .merge(openapi::routes(document))
        .route_layer(axum::middleware::from_fn(request_log::tag_route))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            request_log::RequestTimeout(request_timeout),
            request_log::log_request,
        ))
        .layer(axum::middleware::from_fn(
            security_headers::security_headers,
        ))
}
