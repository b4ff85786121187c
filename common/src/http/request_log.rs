//! One span per request (carrying `request_id`, method and path into every log line of the
//! request, and exported as the trace's HTTP server span), one summary line per request (status,
//! latency, remark), the request metrics, and the request timeout. Levels: 2xx/3xx INFO,
//! 4xx WARNING, 5xx ERROR.
//!
//! An incoming W3C `traceparent` header makes the request span its child; without one the
//! request starts a trace. [`tag_route`] (a route layer) names the span and the metrics after
//! the matched route pattern (`POST /tabung`, `GET /mutasi/{no_rekening}`), so no label or span
//! name ever holds an account number.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::error::{ApiError, Remark};
use crate::metrics::{HTTP_REQUEST_DURATION, HTTP_REQUESTS};
use bukubesar_process::trace::Traceparent;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// Longest client-supplied request id that is kept (else a fresh one is made).
const MAX_REQUEST_ID_LEN: usize = 64;

/// The route label of requests that matched no route (404, 405 on an unknown path).
const UNMATCHED_ROUTE: &str = "unmatched";

/// Middleware state: the per-request time limit.
#[derive(Clone, Copy, Debug)]
pub struct RequestTimeout(pub Duration);

/// The matched route pattern, handed from [`tag_route`] to [`log_request`] in the response.
#[derive(Clone, Debug)]
struct MatchedRoute(String);

/// The outermost layer: a request span (continuing the caller's `traceparent`), the time
/// limit, the `x-request-id` header, the request metrics and the one log line per request.
pub async fn log_request(
    State(RequestTimeout(timeout)): State<RequestTimeout>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let request_id = request_id(&request);
    let method = request.method().to_string();
    let span = request_span(&request, &request_id);

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
    let elapsed = started.elapsed();
    let route = response
        .extensions_mut()
        .remove::<MatchedRoute>()
        .map_or_else(|| UNMATCHED_ROUTE.to_owned(), |r| r.0);
    metrics::counter!(HTTP_REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!(HTTP_REQUEST_DURATION, "method" => method, "route" => route)
        .record(elapsed.as_secs_f64());
    log_answer(&span, &response, elapsed);
    response
}

/// The client's `x-request-id` when it is a short token, else a fresh one.
fn request_id(request: &Request) -> String {
    request
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
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// The `request` span, a child of the caller's `traceparent` when it sent one.
fn request_span(request: &Request, request_id: &str) -> tracing::Span {
    let method = request.method().as_str();
    let path = request.uri().path();
    // `auth_no_rekening` is filled in by the auth middleware, so the one line logged per request
    // says which account the credentials named, whatever the outcome. `otel.name` becomes
    // "METHOD /route" once the route is known. The business fields are recorded by the
    // handlers (`Span::current().record(..)`), `detail` by `JsonBody` when it refuses a body:
    // a field must be declared here to be recorded, so a new endpoint's fields are added here.
    // Amounts are recorded as `money::text` (two decimals).
    let span = tracing::info_span!(
        "request",
        otel.name = %method,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        request_id = %request_id,
        method = %method,
        path = %path,
        route = tracing::field::Empty,
        status = tracing::field::Empty,
        auth_no_rekening = tracing::field::Empty,
        detail = tracing::field::Empty,
        no_rekening = tracing::field::Empty,
        no_rekening_tujuan = tracing::field::Empty,
        jenis_transaksi = tracing::field::Empty,
        nominal = tracing::field::Empty,
        saldo = tracing::field::Empty,
        biaya = tracing::field::Empty,
        transaksi_id = tracing::field::Empty,
        replayed = tracing::field::Empty
    );
    if let Some(parent) = request
        .headers()
        .get(&TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(Traceparent::parse)
    {
        parent.adopt(&span);
    }
    span
}

/// The one log line of a request, in its span: ERROR for 5xx, WARNING for 4xx (with the
/// remark), INFO otherwise.
fn log_answer(span: &tracing::Span, response: &Response, elapsed: Duration) {
    let status = response.status().as_u16();
    span.record("status", status);
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
    let latency_ms = (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0;
    let remark = response.extensions().get::<Remark>().map(|r| r.0.as_str());
    span.in_scope(|| match status {
        500.. => tracing::error!(status, latency_ms, remark, "request failed"),
        400..=499 => tracing::warn!(status, latency_ms, remark, "request rejected"),
        _ => tracing::info!(status, latency_ms, "request completed"),
    });
}

/// Route layer (`Router::route_layer(axum::middleware::from_fn(tag_route))`, added after every
/// route): names the request span `METHOD /pattern` and labels the request's metrics with the
/// pattern.
pub async fn tag_route(matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let Some(matched) = matched else {
        return next.run(request).await;
    };
    let route = matched.as_str().to_owned();
    let span = tracing::Span::current();
    span.record("otel.name", format!("{} {route}", request.method()));
    span.record("route", route.as_str());
    let mut response = next.run(request).await;
    response.extensions_mut().insert(MatchedRoute(route));
    response
}
