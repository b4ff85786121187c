//! Security headers on every answer of both services (the outermost layer of
//! [`super::finish_router`] and of the private listener's router):
//!
//! | header | value |
//! |---|---|
//! | `X-Content-Type-Options` | `nosniff` |
//! | `Referrer-Policy` | `no-referrer` |
//! | `X-Frame-Options` | `DENY` |
//! | `Content-Security-Policy` | [`ANSWER_CONTENT_SECURITY_POLICY`], unless the answer has its own (the docs page: [`super::openapi::PAGE_CONTENT_SECURITY_POLICY`]) |
//! | `Cache-Control` | `no-store`, except on the documentation (`/docs`, `/openapi.json`): account data, balances and errors are never kept by a browser or a proxy |

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use super::openapi::{DOCUMENT_PATH, PAGE_PATH};

/// The policy of every answer that is not the docs page: a JSON (or text) answer loads
/// nothing, runs nothing and is framed by nobody.
pub const ANSWER_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// True for the documentation's paths, which may be cached as they are.
fn is_documentation(path: &str) -> bool {
    path == DOCUMENT_PATH
        || path == PAGE_PATH
        || path
            .strip_prefix(PAGE_PATH)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Sets `name` to `value` unless the answer already says something else.
fn default_header(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    headers
        .entry(name)
        .or_insert_with(|| HeaderValue::from_static(value));
}

/// The middleware (see the module's table).
pub async fn security_headers(request: Request, next: Next) -> Response {
    let documentation = is_documentation(request.uri().path());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    default_header(
        headers,
        header::CONTENT_SECURITY_POLICY,
        ANSWER_CONTENT_SECURITY_POLICY,
    );
    if !documentation {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documentation_paths() {
        for path in ["/docs", "/docs/", "/docs/index.html", "/openapi.json"] {
            assert!(is_documentation(path), "{path}");
        }
        for path in [
            "/docsx",
            "/daftar",
            "/saldo/4821937465",
            "/",
            "/openapi.jsonx",
        ] {
            assert!(!is_documentation(path), "{path}");
        }
    }
}
