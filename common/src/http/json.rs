//! `JsonBody<T>`: a JSON request body read into `T`, every refusal answered in our own words.
//!
//! | the body | status | `field` | remark |
//! |---|---|---|---|
//! | `Content-Type` not `application/json` (or `application/*+json`) | 415 | `Content-Type` | ours |
//! | over the router's `DefaultBodyLimit` ([`MAX_BODY_BYTES`]) | 413 | | ours |
//! | not JSON, truncated, trailing text | 400 | the field being read, if any | ours |
//! | a required field missing | 400 | that field | `<field> wajib diisi` |
//! | a field `T` does not have (with `#[serde(deny_unknown_fields)]`) | 400 | that field | ours |
//! | a field sent twice | 400 | that field | ours |
//! | a field of the wrong type or value | 400 | that field | ours |
//! | not an object | 400 | | ours |
//!
//! The parser's own text never reaches the answer: it may quote the value sent (a PIN sent as
//! a number, say), and it is English. What went wrong is recorded, without the value, as the
//! `detail` field of the request's one log line (see [`super::request_log`]).
//!
//! A new endpoint gets all of this by taking `JsonBody<Request>` as its last extractor, with
//! `#[derive(Deserialize)] #[serde(deny_unknown_fields)]` on `Request`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use super::error::ApiError;

/// Largest request body accepted, in bytes (the services set it with `DefaultBodyLimit`).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Longest field name echoed back in an answer (a longer unknown name is not repeated).
const MAX_FIELD_NAME_CHARS: usize = 64;

/// The request body, parsed into `T`; a refusal is an [`ApiError`] as in the table above.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type harus application/json",
            )
            .with_field("Content-Type"));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("isi permintaan melebihi {MAX_BODY_BYTES} byte"),
                    )
                } else {
                    record_detail(&rejection.body_text());
                    ApiError::new(StatusCode::BAD_REQUEST, "isi permintaan tidak dapat dibaca")
                }
            })?;
        parse(&bytes).map(JsonBody)
    }
}

/// `application/json`, or a `+json` media type, parameters (`; charset=utf-8`) allowed.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a whole body (nothing may follow the value) into `T`.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let field = top_field(error.path());
        refusal(error.inner(), field)
    })?;
    deserializer.end().map_err(|error| refusal(&error, None))?;
    Ok(value)
}

/// The top-level field a path starts with (`nominal` of `nominal[0]`), if it starts with one.
fn top_field(path: &serde_path_to_error::Path) -> Option<String> {
    match path.iter().next()? {
        serde_path_to_error::Segment::Map { key } => Some(key.clone()),
        _ => None,
    }
}

/// Our answer to a parser error; the error itself goes to the log line, without the value.
fn refusal(error: &serde_json::Error, at: Option<String>) -> ApiError {
    let message = error.to_string();
    let position = format!("line {} column {}", error.line(), error.column());
    let bad_request = |remark: String| ApiError::new(StatusCode::BAD_REQUEST, remark);
    if error.classify() != Category::Data {
        // serde_json's syntax messages are fixed texts ("EOF while parsing a value at ..."):
        // they never quote the input.
        record_detail(&format!("JSON syntax: {message}"));
        let answer = bad_request("isi permintaan bukan JSON yang utuh dan valid".to_owned());
        return match at.filter(|f| is_echoable(f)) {
            Some(field) => answer.with_field(field),
            None => answer,
        };
    }
    // serde's data messages start with their kind ("invalid type", "missing field `nik`")
    // and may then quote the value; only the kind and where are logged.
    let kind = message.split([':', '`']).next().unwrap_or_default().trim();
    let at_text = at.as_deref().unwrap_or(".");
    record_detail(&format!("JSON data: {kind} at {at_text} ({position})"));
    for (prefix, remark) in [
        ("missing field `", "{} wajib diisi"),
        (
            "unknown field `",
            "field {} tidak dikenal; periksa ejaannya di /docs",
        ),
        ("duplicate field `", "{} dikirim lebih dari sekali"),
    ] {
        if let Some(name) = quoted_after(&message, prefix) {
            if !is_echoable(name) {
                return bad_request(remark.replace("{}", "sebuah field"));
            }
            return bad_request(remark.replace("{}", name)).with_field(name.to_owned());
        }
    }
    match at.filter(|f| is_echoable(f)) {
        Some(field) => bad_request(format!(
            "{field} tidak sesuai tipe atau bentuk yang diminta (lihat /docs)"
        ))
        .with_field(field),
        None => bad_request(
            "isi permintaan harus berupa objek JSON dengan field yang diminta".to_owned(),
        ),
    }
}

/// `name` in "...prefix`name`...".
fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let (_, rest) = message.split_once(prefix)?;
    rest.split_once('`').map(|(name, _)| name)
}

/// A field name a client sent that may be repeated in the answer: short and plain.
fn is_echoable(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= MAX_FIELD_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The parser's account of a refused body, on the request's one log line.
fn record_detail(detail: &str) {
    tracing::Span::current().record("detail", detail);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::value::RawValue;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Posting {
        no_rekening: String,
        nominal: Box<RawValue>,
    }

    fn refused(body: &str) -> ApiError {
        match parse::<Posting>(body.as_bytes()) {
            Ok(value) => panic!("{body} accepted as {value:?}"),
            Err(error) => error,
        }
    }

    fn answer(body: &str) -> (String, Option<String>) {
        let error = refused(body);
        assert_eq!(error.status, StatusCode::BAD_REQUEST, "{body}");
        (error.remark, error.field.map(|f| f.into_owned()))
    }

    #[test]
    fn each_single_field_refusal_names_its_field() {
        for (body, field, remark) in [
            (r#"{"no_rekening":"1"}"#, "nominal", "nominal wajib diisi"),
            (
                r#"{"no_rekening":1234567897,"nominal":1}"#,
                "no_rekening",
                "no_rekening tidak sesuai tipe atau bentuk yang diminta (lihat /docs)",
            ),
            (
                r#"{"no_rekening":"1","nomnal":1,"nominal":1}"#,
                "nomnal",
                "field nomnal tidak dikenal; periksa ejaannya di /docs",
            ),
            (
                r#"{"no_rekening":"1","nominal":1,"nominal":2}"#,
                "nominal",
                "nominal dikirim lebih dari sekali",
            ),
            (
                r#"{"no_rekening":"1","nominal":"#,
                "nominal",
                "isi permintaan bukan JSON yang utuh dan valid",
            ),
        ] {
            assert_eq!(
                answer(body),
                (remark.to_owned(), Some(field.to_owned())),
                "{body}"
            );
        }
    }

    #[test]
    fn remarks_are_ours_and_never_quote_the_value() {
        for body in [
            r#"{"no_rekening":918273,"nominal":1}"#,
            r#"{"no_rekening":"1","nominal":1} trailing"#,
            "[918273]",
            "\"918273\"",
            "",
            "{",
            "nama=x&pin=918273",
        ] {
            let (remark, _) = answer(body);
            assert!(!remark.contains("918273"), "{body}: {remark}");
            for english in ["EOF", "line", "column", "expected", "invalid", "parsing"] {
                assert!(!remark.contains(english), "{body}: parser text in {remark}");
            }
        }
        assert_eq!(answer("[1]").1, None, "not an object: no single field");
    }

    #[test]
    fn odd_unknown_names_are_not_echoed() {
        let long = "x".repeat(65);
        let (remark, field) = answer(&format!(r#"{{"{long}":1,"no_rekening":"1","nominal":1}}"#));
        assert_eq!(field, None);
        assert!(!remark.contains(&long));
        let (remark, field) = answer(r#"{"<b>":1,"no_rekening":"1","nominal":1}"#);
        assert_eq!((remark.contains("<b>"), field), (false, None));
    }

    #[test]
    fn json_media_types() {
        let headers = |value: &str| {
            let mut map = HeaderMap::new();
            map.insert(header::CONTENT_TYPE, value.parse().expect("header"));
            map
        };
        assert!(is_json(&headers("application/json")));
        assert!(is_json(&headers("Application/JSON; charset=utf-8")));
        assert!(is_json(&headers("application/merge-patch+json")));
        assert!(!is_json(&headers("text/plain")));
        assert!(!is_json(&headers("application/jsonx")));
        assert!(!is_json(&HeaderMap::new()));
    }
}
