//! `JsonBody<T>`: axum's `Json` extractor with its rejections turned into our error answers:
//! malformed JSON or a wrong field type -> 400 naming the field, missing/wrong content type ->
//! 415, body over the limit -> 413.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(reject(rejection)),
        }
    }
}

fn reject(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type harus application/json",
        ),
        JsonRejection::JsonSyntaxError(e) => ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("JSON tidak valid: {}", detail(&e.body_text())),
        ),
        JsonRejection::JsonDataError(e) => ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("isi permintaan tidak valid: {}", detail(&e.body_text())),
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("isi permintaan melebihi {MAX_BODY_BYTES} byte"),
            )
        }
        other => ApiError::new(
            if other.status().is_client_error() {
                other.status()
            } else {
                StatusCode::BAD_REQUEST
            },
            "isi permintaan tidak dapat dibaca",
        ),
    }
}

/// axum prefixes serde's message with a generic sentence; keep serde's part, which names the
/// field (`nominal: invalid type ...`, `missing field \`pin\``). Bounded in length, because it
/// may quote the input.
fn detail(body_text: &str) -> String {
    const MAX_DETAIL_CHARS: usize = 200;
    let detail = body_text
        .split_once(": ")
        .map_or(body_text, |(_, rest)| rest);
    detail.chars().take(MAX_DETAIL_CHARS).collect()
}
