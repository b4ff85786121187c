//! What deposits and withdrawals share: checking that the request's account is the
//! authenticated one, the idempotency wrapper, and turning the stored outcome into an answer.
//! The rules that differ live in [`super::tabung`] and [`super::tarik`].

use bukubesar_common::auth;

use crate::datastore::Datastore;
use crate::datastore::posting::{Outcome, PostResult, Posted, Posting};

use super::idempotency::{self, Key};
use super::nominal::Nominal;
use super::{AppError, metrics};

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

/// Posts one deposit or withdrawal in one database transaction (balance, journal, outbox and
/// idempotency record together) and maps the outcome with `reject`, the operation's own rule
/// for a refused posting.
pub(super) async fn execute(
    datastore: &Datastore,
    authenticated: &str,
    jenis: Jenis,
    permintaan: Permintaan,
    reject: fn() -> AppError,
) -> Result<Jawaban, AppError> {
    authorize(datastore, authenticated, &permintaan.no_rekening).await?;
    let idempotency = permintaan.idempotency_key.as_ref().map(|key| {
        (
            key.as_str(),
            idempotency::request_fingerprint(jenis, &permintaan.no_rekening, permintaan.nominal),
        )
    });
    let posting = Posting {
        jenis,
        no_rekening: &permintaan.no_rekening,
        nominal: permintaan.nominal.value(),
    };
    let result = datastore
        .post(
            &posting,
            idempotency.as_ref().map(|(k, f)| (*k, f.as_slice())),
        )
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
