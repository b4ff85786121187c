//! The HTTP layer: the router, middleware, request/response types and the error mapping.
//!
//! | route | auth | handler |
//! |---|---|---|
//! | `POST /daftar` | none | [`daftar::daftar`] |
//! | `POST /tabung` | Basic | [`posting::tabung`] |
//! | `POST /tarik` | Basic | [`posting::tarik`] |
//! | `POST /transfer` | Basic | [`transfer::transfer`] |
//! | `GET /transaksi/{id}` | Basic | [`transfer::transaksi`] |
//! | `GET /saldo/{no_rekening}` | Basic | [`saldo::saldo`] |
//! | `GET /healthz` | none | `bukubesar_common::http::healthz` |
//! | `GET /readyz` | none | [`health`] |
//! | `GET /openapi.json`, `GET /docs` | none | [`openapi`] (the OpenAPI document, its page) |
//!
//! `GET /metrics` ([`health::metrics`], Prometheus text) is served only by
//! [`metrics_router`], on the private listener (`--metrics-addr`), never on the API port.

pub mod daftar;
pub mod dto;
pub mod error;
pub mod health;
pub mod openapi;
pub mod posting;
pub mod saldo;
pub mod transfer;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};

use bukubesar_common::http::json::MAX_BODY_BYTES;
use bukubesar_common::http::require_auth;

use crate::app::context::App;

/// The router; every handler's state is the [`App`], through which it reaches the rest.
pub fn router(app: App, request_timeout: Duration) -> Router {
    let authenticated = Router::new()
        .route("/tabung", post(posting::tabung))
        .route("/tarik", post(posting::tarik))
        .route("/transfer", post(transfer::transfer))
        .route("/transaksi/{id}", get(transfer::transaksi))
        .route("/saldo/{no_rekening}", get(saldo::saldo))
        .route_layer(middleware::from_fn_with_state(
            app.authenticator(),
            require_auth,
        ));
    let routes = Router::new()
        .route("/daftar", post(daftar::daftar))
        .route("/readyz", get(health::readyz))
        .merge(authenticated)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
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
