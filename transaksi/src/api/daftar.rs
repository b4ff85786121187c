//! `POST /daftar`: register a customer and open an account.

use axum::Json;
use axum::extract::State;

use super::AppState;
use super::dto::{DaftarRequest, DaftarResponse};
use super::error::ApiError;
use super::json::JsonBody;
use crate::app::pendaftaran::{self, Permintaan};

pub async fn daftar(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<DaftarRequest>,
) -> Result<Json<DaftarResponse>, ApiError> {
    let permintaan = Permintaan {
        nama: body.nama,
        nik: body.nik,
        no_hp: body.no_hp,
        pin: body.pin,
    };
    let no_rekening =
        pendaftaran::daftar(&state.datastore, &state.authenticator, permintaan).await?;
    tracing::info!(no_rekening = %no_rekening, "customer registered");
    Ok(Json(DaftarResponse { no_rekening }))
}
