//! One span per request (carrying `request_id`, `trace_id`, method and path into every log line
//! of the request), one summary line per request (status, latency, remark), and the request
//! timeout. Levels: 2xx/3xx INFO, 4xx WARNING, 5xx ERROR.
//!
//! The request's W3C trace context (a child of an incoming `traceparent` header, or a new
//! trace) is put into the request's extensions as a [`Traceparent`].

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::error::{ApiError, Remark};
use crate::trace::Traceparent;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// Longest client-supplied request id that is kept (else a fresh one is made).
const MAX_REQUEST_ID_LEN: usize = 64;

/// Middleware state: the per-request time limit.
#[derive(Clone, Copy, Debug)]
pub struct RequestTimeout(pub Duration);

pub async fn log_request(
    State(RequestTimeout(timeout)): State<RequestTimeout>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= MAX_REQUEST_ID_LEN
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let traceparent = request
        .headers()
        .get(&TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(Traceparent::parse)
        .map(|parent| parent.child())
        .unwrap_or_else(Traceparent::new_root);
    request.extensions_mut().insert(traceparent);
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    // `auth_no_rekening` is filled in by the auth middleware, so the one line logged per request
    // says which account the credentials named, whatever the outcome.
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        trace_id = %traceparent.trace_id_hex(),
        method = %method,
        path = %path,
        auth_no_rekening = tracing::field::Empty
    );

    let mut response = match tokio::time::timeout(timeout, next.run(request).instrument(span.clone())).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "permintaan melebihi batas waktu; hasilnya tidak pasti, ulangi dengan Idempotency-Key yang sama",
        )
        .into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID.clone(), value);
    }

    let status = response.status().as_u16();
    let latency_ms = (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
    let remark = response.extensions().get::<Remark>().map(|r| r.0.as_str());
    span.in_scope(|| match status {
        500.. => tracing::error!(status, latency_ms, remark, "request failed"),
        400..=499 => tracing::warn!(status, latency_ms, remark, "request rejected"),
        _ => tracing::info!(status, latency_ms, "request completed"),
    });
    response
}
