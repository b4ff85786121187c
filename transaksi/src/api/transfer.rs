//! `POST /transfer` and `GET /transaksi/{id}`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::{Extension, Json};

use bukubesar_common::auth::AuthError;
use bukubesar_common::http::{Authenticated, ErrorBody, JsonBody, money};
use bukubesar_common::no_rekening::NoRekening;

use super::dto::{TransaksiResponse, TransferRequest, TransferResponse};
use super::error::ApiError;
use super::posting::{IdempotencyKeyHeader, idempotency_key, with_replayed};
use crate::app::AppError;
use crate::app::context::App;
use crate::app::nominal::Nominal;
use crate::app::posting::{self, TransferRequest as Request};
use crate::app::transaksi;
use crate::app::transfer::{parse_keterangan, parse_referensi};

/// The answers of `/transfer`, as documented.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum TransferAnswers {
    /// Transferred; the source's new saldo
    #[response(status = 200, headers(
        ("Idempotent-Replayed" = String, description = "`true` when this is the stored answer of an earlier request with the same key")
    ))]
    Transferred(TransferResponse),
    /// An invalid amount, keterangan or referensi; an unknown destination, or the source
    /// itself (`field`: `no_rekening_tujuan`); saldo tidak cukup for amount + fee
    /// (`field`: `nominal`); the destination's balance would pass its maximum
    #[response(status = 400)]
    Invalid(ErrorBody<'static>),
    /// Missing or wrong credentials, or the account is locked
    #[response(status = 401)]
    Unauthenticated(ErrorBody<'static>),
    /// The source is another customer's account
    #[response(status = 403)]
    Forbidden(ErrorBody<'static>),
    /// Body over 16 KiB
    #[response(status = 413)]
    TooLarge(ErrorBody<'static>),
    /// Content-Type is not application/json
    #[response(status = 415)]
    NotJson(ErrorBody<'static>),
    /// The Idempotency-Key was used for a different request
    #[response(status = 422)]
    KeyReused(ErrorBody<'static>),
    /// Too many failed authentications from this address (or across the service): wait
    /// `Retry-After` seconds
    #[response(status = 429, headers(("Retry-After" = u64, description = "Seconds until an attempt is accepted again")))]
    Throttled(ErrorBody<'static>),
    /// The database cannot answer now, or the request timed out: retry with the same
    /// Idempotency-Key
    #[response(status = 503)]
    Unavailable(ErrorBody<'static>),
}

/// Transfer from the authenticated customer's own account to another account, with the
/// configured fee (if any) as a third leg, in one transaction.
#[utoipa::path(
    post,
    path = "/transfer",
    tag = "transaksi",
    request_body = TransferRequest,
    params(IdempotencyKeyHeader),
    security(("basic" = [])),
    responses(TransferAnswers)
)]
pub async fn transfer(
    State(app): State<App>,
    Extension(Authenticated(who)): Extension<Authenticated>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<TransferRequest>,
) -> Result<Response, ApiError> {
    let request = request(&headers, body)?;
    let span = tracing::Span::current();
    span.record("no_rekening", request.no_rekening_asal.as_str());
    span.record("no_rekening_tujuan", request.no_rekening_tujuan.as_str());
    span.record("jenis_transaksi", "D");
    span.record("nominal", money::text(&request.nominal.value()));
    let answer = posting::transfer(&app, &who, request).await?;
    let transferred = answer.transferred;
    span.record("saldo", money::text(&transferred.asal.saldo));
    span.record("biaya", money::text(&transferred.biaya));
    span.record("transaksi_id", transferred.id.to_string());
    span.record("replayed", answer.replayed);
    Ok(with_replayed(
        Json(TransferResponse::from(transferred)),
        answer.replayed,
    ))
}

/// The request parsed: the key header, the amount, the source (a malformed one is an account
/// nobody has, as the access rule answers), the destination, the texts.
fn request(headers: &HeaderMap, body: TransferRequest) -> Result<Request, AppError> {
    let idempotency_key = idempotency_key(headers)?;
    let nominal = Nominal::from_json_text(body.nominal.get())?;
    let no_rekening_asal = NoRekening::parse(&body.no_rekening_asal)
        .map_err(|_| AppError::Auth(AuthError::UnknownRekening))?;
    let no_rekening_tujuan =
        NoRekening::parse(&body.no_rekening_tujuan).map_err(|_| posting::unknown_tujuan())?;
    Ok(Request {
        no_rekening_asal,
        no_rekening_tujuan,
        nominal,
        keterangan: parse_keterangan(body.keterangan)?,
        referensi: parse_referensi(body.referensi)?,
        idempotency_key,
    })
}

/// One transaction the authenticated customer is a party to: its legs, the caller's own with
/// its balance after it.
#[utoipa::path(
    get,
    path = "/transaksi/{id}",
    tag = "transaksi",
    params(("id" = String, Path, description = "The transaction id (`id` of a posting or transfer answer)", format = Uuid)),
    security(("basic" = [])),
    responses(
        (status = 200, description = "The transaction and its legs", body = TransaksiResponse),
        (status = 400, description = "The id is not a UUID", body = ErrorBody),
        (status = 401, description = "Missing or wrong credentials, or the account is locked", body = ErrorBody),
        (status = 404, description = "No such transaction among the caller's", body = ErrorBody),
        (status = 429, description = "Too many failed authentications from this address (or across the service): wait `Retry-After` seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until an attempt is accepted again"))),
        (status = 503, description = "The database cannot answer now", body = ErrorBody),
    )
)]
pub async fn transaksi(
    State(app): State<App>,
    Extension(Authenticated(who)): Extension<Authenticated>,
    Path(id): Path<String>,
) -> Result<Json<TransaksiResponse>, ApiError> {
    let id = transaksi::parse_id(&id)?;
    tracing::Span::current().record("transaksi_id", id.to_string());
    let view = transaksi::lookup(&app, &who, id).await?;
    Ok(Json(TransaksiResponse::from(view)))
}
