//! `POST /tabung` and `POST /tarik`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use super::AppState;
use super::dto::{PostingRequest, PostingResponse};
use super::error::ApiError;
use super::json::JsonBody;
use crate::app::idempotency::Key;
use crate::app::nominal::Nominal;
use crate::app::posting::{Jawaban, Jenis, Permintaan};
use crate::app::{AppError, tabung, tarik};
use bukubesar_common::http::{Authenticated, ErrorBody};

/// The optional `Idempotency-Key` header, as documented.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
struct IdempotencyKeyHeader {
    /// 1 to 255 visible ASCII characters, no spaces; a retry with the same key and body gets
    /// the first answer instead of posting twice.
    #[param(
        rename = "Idempotency-Key",
        min_length = 1,
        max_length = 255,
        pattern = "^[!-~]{1,255}$"
    )]
    idempotency_key: Option<String>,
}

/// The answers of `/tabung` and `/tarik`, as documented.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum PostingAnswers {
    /// Posted; the new saldo
    #[response(status = 200, headers(
        ("Idempotent-Replayed" = String, description = "`true` when this is the stored answer of an earlier request with the same key")
    ))]
    Posted(PostingResponse),
    /// An invalid amount or account; saldo tidak cukup (tarik); the balance would pass its
    /// maximum (tabung)
    #[response(status = 400)]
    Invalid(ErrorBody<'static>),
    /// Missing or wrong credentials, or the account is locked
    #[response(status = 401)]
    Unauthenticated(ErrorBody<'static>),
    /// Another customer's account
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
    /// The database cannot answer now, or the request timed out: retry with the same
    /// Idempotency-Key
    #[response(status = 503)]
    Unavailable(ErrorBody<'static>),
}

static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
static IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Deposit into the authenticated customer's own account.
#[utoipa::path(
    post,
    path = "/tabung",
    tag = "transaksi",
    request_body = PostingRequest,
    params(IdempotencyKeyHeader),
    security(("basic" = [])),
    responses(PostingAnswers)
)]
pub async fn tabung(
    State(state): State<AppState>,
    Extension(who): Extension<Authenticated>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PostingRequest>,
) -> Result<Response, ApiError> {
    handle(&state, who, &headers, body, Jenis::Tabung).await
}

/// Withdraw from the authenticated customer's own account; never below saldo 0.
#[utoipa::path(
    post,
    path = "/tarik",
    tag = "transaksi",
    request_body = PostingRequest,
    params(IdempotencyKeyHeader),
    security(("basic" = [])),
    responses(PostingAnswers)
)]
pub async fn tarik(
    State(state): State<AppState>,
    Extension(who): Extension<Authenticated>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PostingRequest>,
) -> Result<Response, ApiError> {
    handle(&state, who, &headers, body, Jenis::Tarik).await
}

async fn handle(
    state: &AppState,
    Authenticated(who): Authenticated,
    headers: &HeaderMap,
    body: PostingRequest,
    jenis: Jenis,
) -> Result<Response, ApiError> {
    let permintaan = permintaan(headers, body)?;
    let jawaban = match jenis {
        Jenis::Tabung => {
            tabung::tabung(&state.datastore, &state.group_commit, &who, permintaan).await?
        }
        Jenis::Tarik => {
            tarik::tarik(&state.datastore, &state.group_commit, &who, permintaan).await?
        }
    };
    Ok(answer(jawaban))
}

fn permintaan(headers: &HeaderMap, body: PostingRequest) -> Result<Permintaan, AppError> {
    let mut keys = headers.get_all(&IDEMPOTENCY_KEY).iter();
    let idempotency_key = match (keys.next(), keys.next()) {
        (None, _) => None,
        (Some(value), None) => Some(Key::parse(value.as_bytes())?),
        (Some(_), Some(_)) => {
            return Err(AppError::invalid(
                "Idempotency-Key",
                "hanya satu header Idempotency-Key yang boleh dikirim",
            ));
        }
    };
    Ok(Permintaan {
        no_rekening: body.no_rekening,
        nominal: Nominal::from_json_text(body.nominal.get())?,
        idempotency_key,
    })
}

fn answer(jawaban: Jawaban) -> Response {
    let posted = jawaban.posted;
    tracing::info!(
        no_rekening = %posted.no_rekening,
        jenis_transaksi = posted.jenis.code(),
        nominal = %posted.nominal,
        saldo = %posted.saldo,
        transaksi_id = %posted.id,
        replayed = jawaban.replayed,
        "transaction posted"
    );
    let mut response = Json(PostingResponse::from(posted)).into_response();
    if jawaban.replayed {
        response.headers_mut().insert(
            IDEMPOTENT_REPLAYED.clone(),
            HeaderValue::from_static("true"),
        );
    }
    response
}
