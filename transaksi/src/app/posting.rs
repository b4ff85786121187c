//! The one way in for deposits and withdrawals: [`execute`]. It checks that the request's
//! account is the authenticated one, queues the posting for group commit with its idempotency
//! key ([`super::group_commit`], which runs it in a [`super::batch`], which applies the rule of
//! [`super::tabung`] or [`super::tarik`]), and turns the outcome into an answer.

use bukubesar_common::event::Jenis;
use bukubesar_common::no_rekening::NoRekening;

use super::batch::{Idempotency, Posting};
use super::context::App;
use super::idempotency::{Key, request_fingerprint};
use super::nominal::Nominal;
use super::outcome::{Outcome, PostResult, Posted};
use super::{AppError, metrics};

/// A deposit or withdrawal as the customer asked for it.
#[derive(Debug)]
pub struct Request {
    /// The account named in the request body.
    pub no_rekening: NoRekening,
    pub nominal: Nominal,
    pub idempotency_key: Option<Key>,
}

/// The answer to a deposit or withdrawal.
#[derive(Debug)]
pub struct Answer {
    pub posted: Posted,
    /// True when this is the stored answer of an earlier request with the same key.
    pub replayed: bool,
}

/// Posts one deposit or withdrawal of `who`'s with the next group-commit batch (balance,
/// journal, outbox and idempotency record in the batch's one transaction).
pub async fn execute(
    app: &App,
    who: &NoRekening,
    jenis: Jenis,
    request: Request,
) -> Result<Answer, AppError> {
    app.authorize(who, &request.no_rekening).await?;
    let idempotency = request.idempotency_key.map(|key| Idempotency {
        fingerprint: request_fingerprint(jenis, &request.no_rekening, request.nominal),
        key,
    });
    let result = app
        .group_commit
        .post(Posting {
            jenis,
            no_rekening: request.no_rekening,
            nominal: request.nominal,
            idempotency,
            traceparent: None,
        })
        .await?;
    let (outcome, replayed) = match result {
        PostResult::Fresh(outcome) => (outcome, false),
        PostResult::Replayed(outcome) => (outcome, true),
        PostResult::KeyReused => return Err(AppError::IdempotencyKeyReused),
    };
    metrics::record(jenis, &outcome, replayed);
    match outcome {
        Outcome::Posted(posted) => {
            debug_assert_eq!(posted.jenis, jenis);
            debug_assert!(posted.saldo >= rust_decimal::Decimal::ZERO);
            Ok(Answer { posted, replayed })
        }
        Outcome::Refused => Err(refusal(jenis)),
    }
}

/// The answer to a posting its rule refused.
fn refusal(jenis: Jenis) -> AppError {
    match jenis {
        Jenis::Tabung => AppError::SaldoLimit,
        Jenis::Tarik => AppError::InsufficientSaldo,
    }
}
