//! The HTTP layer.
//!
//! | route | auth | handler |
//! |---|---|---|
//! | `GET /mutasi/{no_rekening}` | Basic | [`mutasi::mutasi`] |
//! | `GET /healthz` | none | `bukubesar_common::http::healthz` |
//! | `GET /readyz` | none | [`health`] |
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
use bukubesar_common::http::require_auth;
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
    let routes = Router::new()
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .merge(authenticated);
    bukubesar_common::http::finish_router(routes, openapi::document(), request_timeout)
        .with_state(state)
}
