//! The HTTP layer: the router, middleware, request/response types and the error mapping.
//!
//! | route | auth | handler |
//! |---|---|---|
//! | `POST /daftar` | none | [`daftar::daftar`] |
//! | `POST /tabung` | Basic | [`posting::tabung`] |
//! | `POST /tarik` | Basic | [`posting::tarik`] |
//! | `GET /saldo/{no_rekening}` | Basic | [`saldo::saldo`] |
//! | `GET /healthz`, `GET /readyz` | none | [`health`] |
//! | `GET /metrics` | none | [`health::metrics`] (Prometheus text) |
//! | `GET /openapi.json`, `GET /docs` | none | [`openapi`] (the OpenAPI document, its page) |

pub mod daftar;
pub mod dto;
pub mod error;
pub mod health;
pub mod json;
pub mod openapi;
pub mod posting;
pub mod saldo;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};

use bukubesar_common::auth::Authenticator;
use bukubesar_common::http::request_log::{self, RequestTimeout};
use bukubesar_common::http::{method_not_allowed, not_found, require_auth};

use crate::datastore::Datastore;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub datastore: Datastore,
    pub authenticator: Arc<Authenticator>,
}

pub fn router(state: AppState, request_timeout: Duration) -> Router {
    let authenticated = Router::new()
        .route("/tabung", post(posting::tabung))
        .route("/tarik", post(posting::tarik))
        .route("/saldo/{no_rekening}", get(saldo::saldo))
        .route_layer(middleware::from_fn_with_state(
            state.authenticator.clone(),
            require_auth,
        ));
    Router::new()
        .route("/daftar", post(daftar::daftar))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .merge(authenticated)
        .merge(bukubesar_common::http::openapi::routes(openapi::document()))
        .route_layer(middleware::from_fn(request_log::tag_route))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(json::MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            RequestTimeout(request_timeout),
            request_log::log_request,
        ))
        .with_state(state)
}
