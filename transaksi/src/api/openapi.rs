//! transaksi's OpenAPI 3 document, generated from the handlers' annotations and the DTO types;
//! served at `GET /openapi.json` with a docs page at `GET /docs`.

use utoipa::OpenApi;

use super::{daftar, dto, health, posting, saldo, transfer};
use bukubesar_common::http::ErrorBody;
use bukubesar_common::http::openapi::BasicAuth;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "bukubesar transaksi",
        description = "Accounts, deposits (tabung), withdrawals (tarik), transfers between \
                       accounts (with an optional fee) and balances, on a double-entry \
                       journal. Every \
                       account route is authenticated with `Authorization: Basic \
                       base64(no_rekening:pin)`; every error answer is `{\"remark\", \"field\"}`."
    ),
    paths(
        daftar::daftar,
        posting::tabung,
        posting::tarik,
        transfer::transfer,
        transfer::transaksi,
        saldo::saldo,
        bukubesar_common::http::healthz,
        health::readyz
    ),
    components(schemas(
        dto::DaftarRequest,
        dto::DaftarResponse,
        dto::PostingRequest,
        dto::PostingResponse,
        dto::SaldoResponse,
        dto::TransferRequest,
        dto::TransferResponse,
        dto::TransaksiResponse,
        dto::EntriResponse,
        ErrorBody
    )),
    modifiers(&BasicAuth)
)]
pub struct ApiDoc;

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
