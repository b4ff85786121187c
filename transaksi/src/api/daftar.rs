//! `POST /daftar`: register a customer and open an account.

use axum::Json;
use axum::extract::State;

use super::dto::{DaftarRequest, DaftarResponse};
use super::error::ApiError;
use crate::app::context::App;
use crate::app::pendaftaran::{self, Request};
use bukubesar_common::http::{ErrorBody, JsonBody};

/// Register a customer and open an account with saldo 0.
#[utoipa::path(
    post,
    path = "/daftar",
    tag = "nasabah",
    request_body = DaftarRequest,
    responses(
        (status = 200, description = "Registered; the new account number", body = DaftarResponse),
        (status = 400, description = "A field is invalid, or the NIK / phone number is already registered", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 503, description = "The database cannot answer now; nothing was written", body = ErrorBody),
    )
)]
pub async fn daftar(
    State(app): State<App>,
    JsonBody(body): JsonBody<DaftarRequest>,
) -> Result<Json<DaftarResponse>, ApiError> {
    let request = Request {
        nama: body.nama,
        nik: body.nik,
        no_hp: body.no_hp,
        pin: body.pin,
    };
    let no_rekening = pendaftaran::daftar(&app, request).await?;
    // On the request's one log line (see `request_log`).
    tracing::Span::current().record("no_rekening", no_rekening.as_str());
    Ok(Json(DaftarResponse { no_rekening }))
}
