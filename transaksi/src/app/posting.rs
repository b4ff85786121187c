//! What deposits and withdrawals share: checking that the request's account is the
//! authenticated one, queueing for group commit with the idempotency key, and turning the
//! outcome into an answer. The rules that differ live in [`super::tabung`] and
//! [`super::tarik`].

use bukubesar_common::auth;
use rust_decimal::Decimal;

use crate::datastore::Datastore;
use crate::datastore::posting::{Outcome, PostResult, Posted};

use super::batch::{Idempotency, Posting};
use super::group_commit::GroupCommit;
use super::idempotency::{self, Key};
use super::nominal::Nominal;
use super::{AppError, metrics, tabung, tarik};

pub use crate::datastore::posting::Jenis;

/// A deposit or withdrawal as the customer asked for it.
#[derive(Debug)]
pub struct Permintaan {
    /// The account named in the request body.
    pub no_rekening: String,
    pub nominal: Nominal,
    pub idempotency_key: Option<Key>,
}

/// The answer to a deposit or withdrawal.
#[derive(Debug)]
pub struct Jawaban {
    pub posted: Posted,
    /// True when this is the stored answer of an earlier request with the same key.
    pub replayed: bool,
}

/// Only the account holder may touch an account: another registered account is 403, an
/// unregistered one is 400 ("nomor rekening tidak dikenali"). The rule is shared with mutasi.
pub async fn authorize(
    datastore: &Datastore,
    authenticated: &str,
    requested: &str,
) -> Result<(), AppError> {
    Ok(auth::authorize(&datastore.credentials(), authenticated, requested).await?)
}

/// The balance after applying a deposit or withdrawal of `nominal` to `saldo`, or `None`
/// when the operation's rule refuses it.
pub fn apply(jenis: Jenis, saldo: Decimal, nominal: Decimal) -> Option<Decimal> {
    match jenis {
        Jenis::Tabung => tabung::apply(saldo, nominal),
        Jenis::Tarik => tarik::apply(saldo, nominal),
    }
}

/// Posts one deposit or withdrawal with the next group-commit batch (balance, journal, outbox
/// and idempotency record in the batch's one transaction) and maps the outcome with `reject`,
/// the operation's own answer to a refused posting.
pub(super) async fn execute(
    datastore: &Datastore,
    group_commit: &GroupCommit,
    authenticated: &str,
    jenis: Jenis,
    permintaan: Permintaan,
    reject: fn() -> AppError,
) -> Result<Jawaban, AppError> {
    authorize(datastore, authenticated, &permintaan.no_rekening).await?;
    let idempotency = permintaan.idempotency_key.as_ref().map(|key| Idempotency {
        key: key.as_str().to_owned(),
        fingerprint: idempotency::request_fingerprint(
            jenis,
            &permintaan.no_rekening,
            permintaan.nominal,
        ),
    });
    let result = group_commit
        .post(Posting {
            jenis,
            no_rekening: permintaan.no_rekening,
            nominal: permintaan.nominal.value(),
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
            Ok(Jawaban { posted, replayed })
        }
        Outcome::Refused => Err(reject()),
    }
}
