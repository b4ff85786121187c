//! The one error type of the HTTP layer: every failure becomes a JSON `{"remark": ...}` with an
//! honest status code. Bad input is 4xx; only our own failures are 5xx.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::app::AppError;

/// The remark of an error response, kept as a response extension for the request log line.
#[derive(Clone, Debug)]
pub struct Remark(pub String);

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub remark: String,
    pub field: Option<&'static str>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    remark: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, remark: impl Into<String>) -> Self {
        ApiError {
            status,
            remark: remark.into(),
            field: None,
        }
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let remark = error.to_string();
        let (status, field) = match &error {
            AppError::Invalid { field, .. } => (StatusCode::BAD_REQUEST, Some(*field)),
            AppError::AlreadyRegistered { field } => (StatusCode::BAD_REQUEST, Some(*field)),
            AppError::Unauthenticated { .. } | AppError::Locked => (StatusCode::UNAUTHORIZED, None),
            AppError::Forbidden => (StatusCode::FORBIDDEN, None),
            AppError::UnknownAccount => (StatusCode::BAD_REQUEST, Some("no_rekening")),
            AppError::InsufficientBalance | AppError::BalanceLimit => {
                (StatusCode::BAD_REQUEST, Some("nominal"))
            }
            AppError::IdempotencyKeyReused => {
                (StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key"))
            }
            AppError::Unavailable(source) => {
                bukubesar_common::critical!(error = %source, "database unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, None)
            }
            AppError::Internal(source) => {
                tracing::error!(error = format!("{source:#}"), "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, None)
            }
        };
        ApiError {
            status,
            remark,
            field,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            remark: &self.remark,
            field: self.field,
        };
        let mut response = (self.status, Json(body)).into_response();
        match self.status {
            StatusCode::UNAUTHORIZED => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"bukubesar\", charset=\"UTF-8\""),
                );
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response.extensions_mut().insert(Remark(self.remark));
        response
    }
}
