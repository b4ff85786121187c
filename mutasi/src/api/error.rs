//! How statement errors become HTTP answers (the shared `{"remark", "field"}` shape).

use axum::http::StatusCode;

pub use bukubesar_common::http::ApiError;

use crate::app::AppError;

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let remark = error.to_string();
        match error {
            AppError::Invalid { field, .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, remark).with_field(field)
            }
            AppError::Auth(auth) => ApiError::from(auth),
            AppError::Unavailable(source) => ApiError::unavailable(remark, &source),
            AppError::Internal(source) => ApiError::internal(remark, &source),
        }
    }
}
