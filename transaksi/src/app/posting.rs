//! The one way in for deposits and withdrawals ([`execute`]) and transfers ([`transfer`]). It
//! checks that the request's account is the authenticated one, queues the posting for group
//! commit with its idempotency key ([`super::group_commit`], which runs it in a
//! [`super::batch`], which applies the rule of [`super::tabung`], [`super::tarik`] or
//! [`super::transfer`]), and turns the outcome into an answer.

use bukubesar_common::event::Jenis;
use bukubesar_common::no_rekening::NoRekening;

use super::batch::{Idempotency, Kind, Posting, TransferOrder};
use super::context::App;
use super::idempotency::{Key, request_fingerprint, transfer_fingerprint};
use super::nominal::Nominal;
use super::outcome::{Outcome, PostResult, Posted, Transferred};
use super::transfer::Refusal;
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
    let kind = match jenis {
        Jenis::Tabung => Kind::Tabung,
        Jenis::Tarik => Kind::Tarik,
    };
    let (outcome, replayed) = post(
        app,
        Posting {
            kind,
            no_rekening: request.no_rekening,
            nominal: request.nominal,
            idempotency,
            traceparent: None,
        },
    )
    .await?;
    match outcome {
        Outcome::Posted(posted) => {
            debug_assert_eq!(posted.jenis, jenis);
            debug_assert!(posted.saldo >= rust_decimal::Decimal::ZERO);
            Ok(Answer { posted, replayed })
        }
        Outcome::Refused => Err(refusal(jenis)),
        // A key is used for one kind of request: the fingerprints differ.
        Outcome::Transferred(_) | Outcome::TransferRefused(_) => {
            Err(AppError::IdempotencyKeyReused)
        }
    }
}

/// Queues one posting and waits for its outcome; `true` when it is a replay.
async fn post(app: &App, posting: Posting) -> Result<(Outcome, bool), AppError> {
    let label = posting.kind.label();
    let (outcome, replayed) = match app.group_commit.post(posting).await? {
        PostResult::Fresh(outcome) => (outcome, false),
        PostResult::Replayed(outcome) => (outcome, true),
        PostResult::KeyReused => return Err(AppError::IdempotencyKeyReused),
    };
    metrics::record(label, &outcome, replayed);
    Ok((outcome, replayed))
}

/// A transfer as the customer asked for it.
#[derive(Debug)]
pub struct TransferRequest {
    pub no_rekening_asal: NoRekening,
    pub no_rekening_tujuan: NoRekening,
    pub nominal: Nominal,
    pub keterangan: Option<String>,
    pub referensi: Option<String>,
    pub idempotency_key: Option<Key>,
}

/// The answer to a transfer.
#[derive(Debug)]
pub struct TransferAnswer {
    pub transferred: Transferred,
    pub replayed: bool,
}

/// Transfers from `who`'s own account with the next group-commit batch: both balances, the
/// journal legs (the fee's too), both outbox rows and the idempotency record in the batch's
/// one transaction. The source must be the caller's (403 otherwise), the destination another
/// registered account: the batch finds no balance row to lock for an unregistered one and
/// refuses the transfer (a refusal, stored with its key like any other), so no extra round
/// trip is spent on checking it first.
pub async fn transfer(
    app: &App,
    who: &NoRekening,
    request: TransferRequest,
) -> Result<TransferAnswer, AppError> {
    app.authorize(who, &request.no_rekening_asal).await?;
    if request.no_rekening_tujuan == request.no_rekening_asal {
        return Err(AppError::invalid(
            "no_rekening_tujuan",
            "rekening tujuan sama dengan rekening asal",
        ));
    }
    let idempotency = request.idempotency_key.map(|key| Idempotency {
        fingerprint: transfer_fingerprint(
            &request.no_rekening_asal,
            &request.no_rekening_tujuan,
            request.nominal,
            request.keterangan.as_deref(),
            request.referensi.as_deref(),
        ),
        key,
    });
    let order = TransferOrder {
        tujuan: request.no_rekening_tujuan,
        biaya: app.fees.fee(request.nominal),
        keterangan: request.keterangan,
        referensi: request.referensi,
    };
    let posting = Posting {
        kind: Kind::Transfer(order),
        no_rekening: request.no_rekening_asal,
        nominal: request.nominal,
        idempotency,
        traceparent: None,
    };
    match post(app, posting).await? {
        (Outcome::Transferred(transferred), replayed) => Ok(TransferAnswer {
            transferred: *transferred,
            replayed,
        }),
        (Outcome::TransferRefused(refusal), _) => Err(refusal_of_transfer(refusal)),
        (Outcome::Posted(_) | Outcome::Refused, _) => Err(AppError::IdempotencyKeyReused),
    }
}

/// The answer to a transfer its rule refused.
fn refusal_of_transfer(refusal: Refusal) -> AppError {
    match refusal {
        Refusal::InsufficientSaldo => AppError::InsufficientSaldo,
        Refusal::SaldoLimit => AppError::invalid(
            "no_rekening_tujuan",
            "saldo rekening tujuan akan melebihi batas maksimum",
        ),
        Refusal::UnknownTujuan => {
            AppError::invalid("no_rekening_tujuan", "nomor rekening tujuan tidak dikenali")
        }
    }
}

/// A malformed destination number is an account nobody has.
pub fn unknown_tujuan() -> AppError {
    refusal_of_transfer(Refusal::UnknownTujuan)
}

/// The answer to a posting its rule refused.
fn refusal(jenis: Jenis) -> AppError {
    match jenis {
        Jenis::Tabung => AppError::SaldoLimit,
        Jenis::Tarik => AppError::InsufficientSaldo,
    }
}
