//! `/healthz`, `/readyz` and `/metrics` on the operator's health port.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::Shutdown;
use crate::metrics::Metrics;

/// The port of `/healthz`, `/readyz` and `/metrics` unless `--health-addr` says otherwise:
/// not transaksi's 8080 nor mutasi's 8081, so the operator runs beside them on one machine.
/// The Helm chart's `healthPort` and the Dockerfile's operator stage use the same port
/// (`operator/tests/health_port.rs` holds them to it).
pub const DEFAULT_HEALTH_PORT: u16 = 8090;

/// `--health-addr`'s default: every interface, [`DEFAULT_HEALTH_PORT`].
pub const DEFAULT_HEALTH_ADDR: &str = "0.0.0.0:8090";

/// What the endpoints report.
#[derive(Clone)]
pub struct Health {
    pub metrics: Arc<Metrics>,
    /// Set once the operator reached the API server and is either leading or standing by.
    pub ready: Arc<AtomicBool>,
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(health): State<Health>) -> impl IntoResponse {
    if health.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

async fn metrics(State(health): State<Health>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        health.metrics.render(),
    )
}

pub fn router(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(health)
}

/// Serves until shutdown. Binding errors are returned (the caller logs them as CRITICAL).
pub async fn serve(
    listener: tokio::net::TcpListener,
    health: Health,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    axum::serve(listener, router(health))
        .with_graceful_shutdown(shutdown.wait())
        .await
}
