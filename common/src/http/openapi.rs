//! Serving a service's OpenAPI document: `GET /openapi.json` (the document generated from the
//! Rust types and handler annotations) and `GET /docs` (Swagger UI rendering it).
//!
//! The page works without internet: Swagger UI's files (version 5.32.6, pinned by the crate
//! `utoipa-swagger-ui-vendored` in Cargo.lock) are compiled into the binary and served under
//! `/docs/`, and the page's `Content-Security-Policy` lets it load nothing from anywhere else
//! (no CDN, no web font, no online validator). `scripts/docs-browser-check.sh` opens it in a
//! headless Chromium.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_swagger_ui::{Config, SwaggerUi};

/// Name of the Basic-authentication security scheme in the documents.
pub const BASIC_AUTH: &str = "basic";

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/openapi.json";

/// Where its page is served (`/docs` redirects to `/docs/`).
pub const PAGE_PATH: &str = "/docs";

/// The page may load its own files and call its own service, nothing else. Swagger UI styles
/// elements inline and draws its icons as `data:` SVGs.
pub const PAGE_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Adds the Basic security scheme (`Authorization: Basic base64(no_rekening:pin)`).
pub struct BasicAuth;

impl utoipa::Modify for BasicAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BASIC_AUTH,
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

/// `GET /openapi.json` and `GET /docs` for `document`.
pub fn routes<S>(document: OpenApi) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let json = document.to_json().unwrap_or_else(|error| {
        // The document is built from our own types; failing to serialise it is a bug.
        tracing::error!(error = %error, "OpenAPI document cannot be serialised");
        "{}".to_owned()
    });
    let config = Config::new([DOCUMENT_PATH])
        .use_base_layout()
        .validator_url("none")
        .try_it_out_enabled(true)
        .display_request_duration(true)
        .persist_authorization(false);
    let page: Router<S> = SwaggerUi::new(PAGE_PATH).config(config).into();
    Router::new()
        .route(
            DOCUMENT_PATH,
            get(move || {
                let json = json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], json).into_response() }
            }),
        )
        .merge(page.layer(axum::middleware::map_response(offline_only)))
}

/// The page's headers: its content security policy, and no sniffing of its files' types.
async fn offline_only(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
