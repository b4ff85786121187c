//! The authentication middleware: `Authorization: Basic base64(no_rekening:pin)` on every
//! route that names an account. On success the handler receives [`Authenticated`]: the
//! account number, parsed here once.
//! The header value and the PIN are never logged.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;

use std::sync::Arc;

use super::error::ApiError;
use crate::auth::{AuthError, Authenticator};
use crate::no_rekening::NoRekening;

/// Longest Authorization header considered (a valid one is under 40 bytes).
const MAX_AUTHORIZATION_BYTES: usize = 512;

/// The account whose PIN was verified for this request.
#[derive(Clone, Debug)]
pub struct Authenticated(pub NoRekening);

/// Use with `axum::middleware::from_fn_with_state(authenticator, require_auth)`. The client
/// address for the failure throttle is the connection's peer (`ConnectInfo`, inserted by
/// `http::serve`), never a header.
pub async fn require_auth(
    State(authenticator): State<Arc<Authenticator>>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let (claimed, pin) = basic_credentials(request.headers())?;
    // A claim that is not even an account number is refused by the authenticator like a
    // wrong PIN (and counted there).
    let no_rekening = NoRekening::parse(&claimed).ok();
    if let Some(no_rekening) = &no_rekening {
        tracing::Span::current().record("auth_no_rekening", no_rekening.as_str());
    }
    let no_rekening = authenticator
        .authenticate(client, no_rekening, &pin)
        .await?;
    request.extensions_mut().insert(Authenticated(no_rekening));
    Ok(next.run(request).await)
}

/// A missing or malformed Authorization header: that header is the field at fault.
fn unauthenticated(remark: &'static str) -> ApiError {
    ApiError::from(AuthError::Unauthenticated { remark }).with_field("Authorization")
}

/// Extracts `(no_rekening, pin)` from a Basic Authorization header.
fn basic_credentials(headers: &axum::http::HeaderMap) -> Result<(String, String), ApiError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(unauthenticated(
            "header Authorization wajib: Basic base64(no_rekening:pin)",
        ));
    };
    let malformed =
        || unauthenticated("header Authorization tidak valid: Basic base64(no_rekening:pin)");
    if value.len() > MAX_AUTHORIZATION_BYTES {
        return Err(malformed());
    }
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (no_rekening, pin) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok((no_rekening.to_owned(), pin.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn headers(value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(value).expect("header"),
        );
        map
    }

    #[test]
    fn parses_basic_credentials() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("1234567897:123456");
        let (no, pin) = basic_credentials(&headers(&format!("Basic {encoded}"))).expect("ok");
        assert_eq!((no.as_str(), pin.as_str()), ("1234567897", "123456"));
        assert!(basic_credentials(&headers(&format!("basic  {encoded}"))).is_ok());
    }

    #[test]
    fn refuses_malformed_headers() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        for value in [
            "".to_owned(),
            "Basic".to_owned(),
            "Basic !!!notbase64".to_owned(),
            format!("Bearer {}", b64("1234567897:123456")),
            format!("Basic {}", b64("1234567897123456")),
            format!("Basic {}", "A".repeat(600)),
        ] {
            let err = basic_credentials(&headers(&value)).expect_err(&value);
            assert_eq!(err.status, axum::http::StatusCode::UNAUTHORIZED);
            assert_eq!(err.field.as_deref(), Some("Authorization"), "{value}");
        }
        assert!(basic_credentials(&HeaderMap::new()).is_err());
    }
}
