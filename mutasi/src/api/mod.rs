//! The HTTP layer.
//!
//! | route | auth | handler |
//! |---|---|---|
//! | `GET /mutasi/{no_rekening}` | Basic | [`mutasi::mutasi`] |
//! | `GET /healthz`, `GET /readyz` | none | [`health`] |
//! | `GET /metrics` | none | [`health::metrics`] (Prometheus text) |
//! | `GET /openapi.json`, `GET /docs` | none | [`openapi`] (the OpenAPI document, its page) |

pub mod error;
pub mod health;
pub mod mutasi;
pub mod openapi;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware;
use axum::routing::get;
use bukubesar_common::auth::{Authenticator, CredentialStore};
use bukubesar_common::http::request_log::{self, RequestTimeout};
use bukubesar_common::http::{method_not_allowed, not_found, require_auth};
use redis::aio::ConnectionManager;

use crate::app::consumer::ConsumerStats;
use crate::datastore::Datastore;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub datastore: Datastore,
    /// The credential table in transaksi's database (read-mostly, through a restricted role).
    pub credentials: CredentialStore,
    pub authenticator: Arc<Authenticator>,
    /// A connection of its own for `/readyz` (the consumer's may be blocked in XREADGROUP).
    pub redis: ConnectionManager,
    pub stats: Arc<ConsumerStats>,
    /// The consumed stream and group (`/metrics` reports the group's lag and pending count).
    pub stream: String,
    pub group: String,
}

pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let authenticated = Router::new()
        .route("/mutasi/{no_rekening}", get(mutasi::mutasi))
        .route_layer(middleware::from_fn_with_state(
            state.authenticator.clone(),
            require_auth,
        ));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .merge(authenticated)
        .merge(bukubesar_common::http::openapi::routes(openapi::document()))
        .route_layer(middleware::from_fn(request_log::tag_route))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            RequestTimeout(request_timeout),
            request_log::log_request,
        ))
        .with_state(state)
}
