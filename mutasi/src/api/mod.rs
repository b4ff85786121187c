//! The HTTP layer.
//!
//! | route | auth | handler |
//! |---|---|---|
//! | `GET /mutasi/{no_rekening}` | Basic | [`mutasi::mutasi`] |
//! | `GET /healthz` | none | `bukubesar_common::http::healthz` |
//! | `GET /readyz` | none | [`health`] |
//! | `GET /openapi.json`, `GET /docs` | none | [`openapi`] (the OpenAPI document, its page) |
//!
//! `GET /metrics` ([`health::metrics`], Prometheus text) is served only by
//! [`metrics_router`], on the private listener (`--metrics-addr`), never on the API port.

pub mod error;
pub mod health;
pub mod mutasi;
pub mod openapi;

use std::time::Duration;

use axum::Router;
use axum::middleware;
use axum::routing::get;
use bukubesar_common::http::require_auth;

use crate::app::context::App;

/// The router; every handler's state is the [`App`], through which it reaches the rest.
pub fn router(app: App, request_timeout: Duration) -> Router {
    let authenticated = Router::new()
        .route("/mutasi/{no_rekening}", get(mutasi::mutasi))
        .route_layer(middleware::from_fn_with_state(
            app.authenticator(),
            require_auth,
        ));
    let routes = Router::new()
        .route("/readyz", get(health::readyz))
        .merge(authenticated);
    bukubesar_common::http::finish_router(routes, openapi::document(), request_timeout)
        .with_state(app)
}

/// The private listener's router: `GET /metrics` only.
pub fn metrics_router(app: App) -> Router {
    bukubesar_common::http::private::finish_router(
        Router::new().route("/metrics", get(health::metrics)),
    )
    .with_state(app)
}
