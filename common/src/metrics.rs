//! Prometheus metrics: one process-wide recorder for the `metrics` macros, rendered in the
//! Prometheus text format at `GET /metrics` on the private listener (`--metrics-addr`,
//! [`crate::http::private`]), never on the API port. Names say their unit (`_seconds`, `_rupiah`,
//! `_total`); labels are bounded sets (route patterns, never account numbers or paths).
//!
//! Metrics both services record (docs/operations.md has every service's, checked against what
//! `/metrics` serves):
//!
//! | name | type | labels |
//! |---|---|---|
//! | `http_server_requests_total` | counter | `method`, `route`, `status` |
//! | `http_server_request_duration_seconds` | histogram | `method`, `route` |
//! | `auth_failures_total` | counter | `reason` (`wrong_credentials`, `locked`) |
//! | `auth_lockouts_total` | counter | |
//! | `auth_pin_verify_duration_seconds` | histogram | |
//! | `auth_throttled_total` | counter | `scope` (`client`, `service`) |
//! | `auth_argon2_rejected_total` | counter | |

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Histogram buckets of every `*_seconds` metric: 0.5 ms to 10 s.
pub const SECONDS_BUCKETS: [f64; 15] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Histogram buckets of every `*_rupiah` metric: 1 thousand to 1 trillion rupiah.
pub const RUPIAH_BUCKETS: [f64; 10] = [1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12];
/// Histogram buckets of every `*_batch_size` metric: 1 to 1,024 items (powers of two).
pub const BATCH_SIZE_BUCKETS: [f64; 11] = [
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];
/// How often recorded histogram samples are folded into their buckets when nobody scrapes.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

pub const HTTP_REQUESTS: &str = "http_server_requests_total";
pub const HTTP_REQUEST_DURATION: &str = "http_server_request_duration_seconds";
pub const AUTH_FAILURES: &str = "auth_failures_total";
pub const AUTH_LOCKOUTS: &str = "auth_lockouts_total";
pub const AUTH_PIN_VERIFY_DURATION: &str = "auth_pin_verify_duration_seconds";
pub const AUTH_THROTTLED: &str = "auth_throttled_total";
pub const AUTH_ARGON2_REJECTED: &str = "auth_argon2_rejected_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder (once per process; later calls return the same handle) and describes
/// the shared metrics. Services describe their own with `metrics::describe_*!`.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_rupiah".into()), &RUPIAH_BUCKETS))
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Suffix("_batch_size".into()), &BATCH_SIZE_BUCKETS)
            })
            .map(PrometheusBuilder::build_recorder)
            // The bucket lists are non-empty constants; `set_buckets_for_metric` fails only on
            // an empty list. Every histogram recorded has one of these suffixes: one without
            // would be served as a summary (the metrics table in docs/operations.md is checked
            // against /metrics by platform-tests/tests/telemetry.rs).
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics shows only what it is given");
        }
        describe();
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_INTERVAL);
                    upkeep.run_upkeep();
                }
            });
        if let Err(error) = spawned {
            tracing::warn!(error = %error, "metrics upkeep thread not started; histograms fold at scrape time only");
        }
        handle
    })
}

fn describe() {
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route pattern and status"
    );
    metrics::describe_histogram!(
        HTTP_REQUEST_DURATION,
        metrics::Unit::Seconds,
        "Time from receiving a request to its answer, by route pattern"
    );
    metrics::describe_counter!(
        AUTH_FAILURES,
        "Refused credentials: wrong account number or PIN, or a locked account"
    );
    metrics::describe_counter!(AUTH_LOCKOUTS, "Accounts locked after too many wrong PINs");
    metrics::describe_histogram!(
        AUTH_PIN_VERIFY_DURATION,
        metrics::Unit::Seconds,
        "argon2 PIN verifications (cache misses), including the wait for a verification slot"
    );
    metrics::describe_counter!(
        AUTH_THROTTLED,
        "Requests refused (429) by the throttle of failed authentications, by bucket"
    );
    metrics::describe_counter!(
        AUTH_ARGON2_REJECTED,
        "Requests refused (503) because no argon2 slot freed up within --argon2-queue-timeout-ms"
    );
    // Served at 0 from the start, so a rate or an alert sees the first one.
    for reason in ["wrong_credentials", "locked"] {
        metrics::counter!(AUTH_FAILURES, "reason" => reason).increment(0);
    }
    for scope in ["client", "service"] {
        metrics::counter!(AUTH_THROTTLED, "scope" => scope).increment(0);
    }
    metrics::counter!(AUTH_LOCKOUTS).increment(0);
    metrics::counter!(AUTH_ARGON2_REJECTED).increment(0);
}

/// `GET /metrics`.
pub async fn render() -> Response {
    let handle = install();
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}
