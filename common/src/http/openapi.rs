//! Serving a service's OpenAPI document: `GET /openapi.json` (the document generated from the
//! Rust types and handler annotations) and `GET /docs` (a Scalar page that renders it; the page
//! loads Scalar's script from its CDN in the reader's browser, nothing is fetched at build).

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_scalar::{Scalar, Servable};

/// Name of the Basic-authentication security scheme in the documents.
pub const BASIC_AUTH: &str = "basic";

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
    let docs: Router<S> = Scalar::with_url("/docs", document).into();
    Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let json = json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], json).into_response() }
            }),
        )
        .merge(docs)
}
