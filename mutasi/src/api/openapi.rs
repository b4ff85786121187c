//! mutasi's OpenAPI 3 document, generated from the handlers' annotations and the response
//! types; served at `GET /openapi.json` with a docs page at `GET /docs`.

use utoipa::OpenApi;

use super::{health, mutasi};
use bukubesar_common::http::ErrorBody;
use bukubesar_common::http::openapi::BasicAuth;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "bukubesar mutasi",
        description = "Account statements (mutasi), built from the transaction stream. \
                       Authenticated with the same `Authorization: Basic \
                       base64(no_rekening:pin)` as transaksi; every error answer is \
                       `{\"remark\", \"field\"}`."
    ),
    paths(mutasi::mutasi, bukubesar_common::http::healthz, health::readyz),
    components(schemas(mutasi::MutasiResponse, mutasi::MutasiItem, ErrorBody)),
    modifiers(&BasicAuth)
)]
pub struct ApiDoc;

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
