//! `POST /tabung` and `POST /tarik`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use bukubesar_common::auth::AuthError;
use bukubesar_common::event::Jenis;
use bukubesar_common::http::{Authenticated, ErrorBody, JsonBody, money};
use bukubesar_common::no_rekening::NoRekening;

use super::dto::{PostingRequest, PostingResponse};
use super::error::ApiError;
use crate::app::AppError;
use crate::app::context::App;
use crate::app::idempotency::Key;
use crate::app::nominal::Nominal;
use crate::app::posting::{self, Answer, Request};

/// The optional `Idempotency-Key` header, as documented.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub(super) struct IdempotencyKeyHeader {
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
    /// Too many failed authentications from this address (or across the service): wait
    /// `Retry-After` seconds
    #[response(status = 429, headers(("Retry-After" = u64, description = "Seconds until an attempt is accepted again")))]
    Throttled(ErrorBody<'static>),
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
    State(app): State<App>,
    Extension(who): Extension<Authenticated>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PostingRequest>,
) -> Result<Response, ApiError> {
    handle(&app, who, &headers, body, Jenis::Tabung).await
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
    State(app): State<App>,
    Extension(who): Extension<Authenticated>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PostingRequest>,
) -> Result<Response, ApiError> {
    handle(&app, who, &headers, body, Jenis::Tarik).await
}

async fn handle(
    app: &App,
    Authenticated(who): Authenticated,
    headers: &HeaderMap,
    body: PostingRequest,
    jenis: Jenis,
) -> Result<Response, ApiError> {
    let request = request(headers, body)?;
    // On the request's one log line, whatever the answer (see `request_log`).
    let span = tracing::Span::current();
    span.record("no_rekening", request.no_rekening.as_str());
    span.record("jenis_transaksi", jenis.code());
    span.record("nominal", money::text(&request.nominal.value()));
    let answer = posting::execute(app, &who, jenis, request).await?;
    Ok(response(answer))
}

/// The request parsed: the key header, then the amount, then the account (a malformed one is
/// an account nobody has, as the access rule answers an unregistered one).
fn request(headers: &HeaderMap, body: PostingRequest) -> Result<Request, AppError> {
    let idempotency_key = idempotency_key(headers)?;
    let nominal = Nominal::from_json_text(body.nominal.get())?;
    let no_rekening = NoRekening::parse(&body.no_rekening)
        .map_err(|_| AppError::Auth(AuthError::UnknownRekening))?;
    Ok(Request {
        no_rekening,
        nominal,
        idempotency_key,
    })
}

/// The `Idempotency-Key` header, if sent (at most once).
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<Key>, AppError> {
    let mut keys = headers.get_all(&IDEMPOTENCY_KEY).iter();
    match (keys.next(), keys.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => Ok(Some(Key::parse(value.as_bytes())?)),
        (Some(_), Some(_)) => Err(AppError::invalid(
            "Idempotency-Key",
            "hanya satu header Idempotency-Key yang boleh dikirim",
        )),
    }
}

fn response(answer: Answer) -> Response {
    let posted = answer.posted;
    let span = tracing::Span::current();
    span.record("saldo", money::text(&posted.saldo));
    span.record("transaksi_id", posted.id.to_string());
    span.record("replayed", answer.replayed);
    with_replayed(Json(PostingResponse::from(posted)), answer.replayed)
}

/// The answer, marked `Idempotent-Replayed: true` when it is a replay.
pub(super) fn with_replayed(body: impl IntoResponse, replayed: bool) -> Response {
    let mut response = body.into_response();
    if replayed {
        response.headers_mut().insert(
            IDEMPOTENT_REPLAYED.clone(),
            HeaderValue::from_static("true"),
        );
    }
    response
}
