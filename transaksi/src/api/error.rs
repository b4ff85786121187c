//! How business errors become HTTP answers. The error type itself ([`ApiError`]:
//! `{"remark", "field"}` with an honest status) is shared with mutasi; bad input is 4xx, only
//! our own failures are 5xx.

use axum::http::StatusCode;

pub use bukubesar_common::http::{ApiError, Remark};

use crate::app::AppError;

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let remark = error.to_string();
        let with_field = |status, field| ApiError::new(status, remark.clone()).with_field(field);
        match error {
            AppError::Invalid { field, .. } | AppError::AlreadyRegistered { field } => {
                with_field(StatusCode::BAD_REQUEST, field)
            }
            AppError::Auth(auth) => ApiError::from(auth),
            AppError::InsufficientSaldo | AppError::SaldoLimit => {
                with_field(StatusCode::BAD_REQUEST, "nominal")
            }
            AppError::TransaksiNotFound => with_field(StatusCode::NOT_FOUND, "id"),
            AppError::IdempotencyKeyReused => {
                with_field(StatusCode::UNPROCESSABLE_ENTITY, "Idempotency-Key")
            }
            AppError::Unavailable(source) => ApiError::unavailable(remark, &*source),
            AppError::Internal(source) => ApiError::internal(remark, &source),
        }
    }
}
