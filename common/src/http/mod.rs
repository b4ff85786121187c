//! What the two services' HTTP layers share: the one error type and its JSON shape
//! (`{"remark": ..., "field": ...}`), Basic authentication, the request span/log line/timeout,
//! exact money numbers, and the 404/405 answers.

pub mod basic_auth;
pub mod error;
pub mod money;
pub mod openapi;
pub mod path;
pub mod request_log;
pub mod serve;

use axum::http::StatusCode;

pub use basic_auth::{Authenticated, require_auth};
pub use error::{ApiError, ErrorBody, Remark};
pub use path::AccountPath;

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
