//! `GET /saldo/{no_rekening}`.

use axum::extract::{Path, State};
use axum::{Extension, Json};

use super::AppState;
use super::dto::SaldoResponse;
use super::error::ApiError;
use crate::app::AppError;
use crate::app::posting::authorize;
use bukubesar_common::auth::AuthError;
use bukubesar_common::http::Authenticated;

pub async fn saldo(
    State(state): State<AppState>,
    Extension(Authenticated(who)): Extension<Authenticated>,
    Path(no_rekening): Path<String>,
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
