//! `GET /saldo/{no_rekening}`.

use axum::extract::State;
use axum::{Extension, Json};

use super::AppState;
use super::dto::SaldoResponse;
use super::error::ApiError;
use crate::app::AppError;
use crate::app::posting::authorize;
use bukubesar_common::auth::AuthError;
use bukubesar_common::http::{AccountPath, Authenticated, ErrorBody};

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
        (status = 503, description = "The database cannot answer now", body = ErrorBody),
    )
)]
pub async fn saldo(
    State(state): State<AppState>,
    Extension(Authenticated(who)): Extension<Authenticated>,
    AccountPath(no_rekening): AccountPath,
) -> Result<Json<SaldoResponse>, ApiError> {
    authorize(&state.datastore, &who, &no_rekening).await?;
    let saldo = state
        .datastore
        .saldo(&no_rekening)
        .await
        .map_err(AppError::from)?
        .ok_or(AppError::Auth(AuthError::UnknownAccount))?;
    Ok(Json(SaldoResponse { no_rekening, saldo }))
}
