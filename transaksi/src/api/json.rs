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
            format!("isi permintaan tidak valid: {}", data_error(&e.body_text())),
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

/// serde's data errors quote the offending value (``invalid type: integer `123456` ``), which
/// may be a PIN; remarks are logged, so only the field is named, never the value.
fn data_error(body_text: &str) -> String {
    let inner = body_text
        .split_once(": ")
        .map_or(body_text, |(_, rest)| rest);
    if let Some((_, rest)) = inner.split_once("missing field `")
        && let Some((field, _)) = rest.split_once('`')
    {
        return format!("{field} wajib diisi");
    }
    match inner.split_once(": ") {
        Some((path, _))
            if !path.is_empty()
                && path.len() <= 64
                && path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') =>
        {
            format!("{path} bertipe atau bernilai salah")
        }
        _ => "bentuk JSON tidak sesuai (harus objek dengan field yang diminta)".to_owned(),
    }
}

/// axum prefixes serde_json's syntax message with a generic sentence; keep serde's part
/// (`expected value at line 1 column 5`), which says where, not what. Bounded in length.
fn detail(body_text: &str) -> String {
    const MAX_DETAIL_CHARS: usize = 200;
    let detail = body_text
        .split_once(": ")
        .map_or(body_text, |(_, rest)| rest);
    detail.chars().take(MAX_DETAIL_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_errors_name_the_field_and_never_the_value() {
        let prefix = "Failed to deserialize the JSON body into the target type: ";
        assert_eq!(
            data_error(&format!(
                "{prefix}pin: invalid type: integer `918273`, expected a string at line 1 column 9"
            )),
            "pin bertipe atau bernilai salah"
        );
        assert_eq!(
            data_error(&format!("{prefix}missing field `nik` at line 1 column 2")),
            "nik wajib diisi"
        );
        assert!(
            !data_error(&format!(
                "{prefix}invalid type: string \"918273\", expected struct"
            ))
            .contains("918273")
        );
    }
}
