//! `GET /saldo/{no_rekening}`.

use axum::extract::State;
use axum::{Extension, Json};

use super::dto::SaldoResponse;
use super::error::ApiError;
use crate::app::context::App;
use crate::app::saldo;
use bukubesar_common::http::{Authenticated, ErrorBody, NoRekeningPath};

/// The authenticated customer's balance.
#[utoipa::path(
    get,
    path = "/saldo/{no_rekening}",
    tag = "transaksi",
    params(("no_rekening" = String, Path, description = "The customer's own account", pattern = "^[0-9]{10}$")),
    security(("basic" = [])),
    responses(
        (status = 200, description = "The balance", body = SaldoResponse),
        (status = 400, description = "Unknown account", body = ErrorBody),
        (status = 401, description = "Missing or wrong credentials, or the account is locked", body = ErrorBody),
        (status = 403, description = "Another customer's account", body = ErrorBody),
        (status = 429, description = "Too many failed authentications from this address (or across the service): wait `Retry-After` seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until an attempt is accepted again"))),
        (status = 503, description = "The database cannot answer now", body = ErrorBody),
    )
)]
pub async fn saldo(
    State(app): State<App>,
    Extension(Authenticated(who)): Extension<Authenticated>,
    NoRekeningPath(no_rekening): NoRekeningPath,
) -> Result<Json<SaldoResponse>, ApiError> {
    let saldo = saldo::saldo(&app, &who, &no_rekening).await?;
    Ok(Json(SaldoResponse { no_rekening, saldo }))
}
