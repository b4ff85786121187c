//! The one error type of the HTTP layer: every failure becomes a JSON
//! `{"remark": ..., "field": ...}` with an honest status code. Bad input is 4xx; only our own
//! failures are 5xx. The remark is an Indonesian sentence of ours, never a parser's or a
//! library's text; `field` names the one request field (or header) at fault, when there is one.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::AuthError;

/// The remark of an error response, kept as a response extension for the request log line.
#[derive(Clone, Debug)]
pub struct Remark(pub String);

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub remark: String,
    /// The request field (or header) at fault; set with [`ApiError::with_field`].
    pub field: Option<Cow<'static, str>>,
    /// Seconds for the `Retry-After` header of a 429 or 503 (default 1); set with
    /// [`ApiError::with_retry_after`].
    pub retry_after: Option<u64>,
}

/// The body of every error answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    /// What was wrong, in Indonesian, for the customer.
    remark: &'a str,
    /// The request field (or header) at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, remark: impl Into<String>) -> Self {
        ApiError {
            status,
            remark: remark.into(),
            field: None,
            retry_after: None,
        }
    }

    /// When the client may try again (whole seconds, at least 1), for `Retry-After`.
    pub fn with_retry_after(mut self, retry_after: std::time::Duration) -> Self {
        let rounded_up = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        self.retry_after = Some(rounded_up.max(1));
        self
    }

    /// Names the one request field (or header, e.g. `Content-Type`) at fault.
    pub fn with_field(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl ApiError {
    /// A 503: the database (or another dependency) cannot answer now; nothing was written.
    /// Logged as CRITICAL with the cause (never shown to the client).
    pub fn unavailable(remark: impl Into<String>, cause: &dyn std::fmt::Display) -> Self {
        bukubesar_process::critical!(error = %cause, "dependency unavailable");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, remark)
    }

    /// A 500: a failure of our own making. Logged as ERROR with the cause chain.
    pub fn internal(remark: impl Into<String>, cause: &anyhow::Error) -> Self {
        tracing::error!(error = format!("{cause:#}"), "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, remark)
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        let remark = error.to_string();
        match &error {
            AuthError::Unauthenticated { .. } | AuthError::Locked => {
                ApiError::new(StatusCode::UNAUTHORIZED, remark)
            }
            // Both are about the account the request names (body or path), not the credentials.
            AuthError::Forbidden => {
                ApiError::new(StatusCode::FORBIDDEN, remark).with_field("no_rekening")
            }
            AuthError::UnknownRekening => {
                ApiError::new(StatusCode::BAD_REQUEST, remark).with_field("no_rekening")
            }
            // Too many failed attempts: the credentials are what is refused for now.
            AuthError::Throttled { retry_after } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, remark)
                    .with_field("Authorization")
                    .with_retry_after(*retry_after)
            }
            AuthError::Busy { retry_after } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, remark)
                    .with_retry_after(*retry_after)
            }
            AuthError::Unavailable(source) => ApiError::unavailable(remark, source),
            AuthError::Internal(source) => ApiError::internal(remark, source),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            remark: &self.remark,
            field: self.field.as_deref(),
        };
        let mut response = (self.status, Json(body)).into_response();
        match self.status {
            StatusCode::UNAUTHORIZED => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"bukubesar\", charset=\"UTF-8\""),
                );
            }
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(self.retry_after.unwrap_or(1)),
                );
            }
            _ => {}
        }
        response.extensions_mut().insert(Remark(self.remark));
        response
    }
}
