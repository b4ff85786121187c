//! What a posting comes to, from the batch that executes it up to the api: [`PostResult`],
//! its business [`Outcome`], and for a posted one the journal entry [`Posted`] (a deposit or
//! withdrawal) or [`Transferred`] (a transfer). An outcome is stored (as JSON) with its
//! idempotency key and replayed from there.

use bukubesar_common::event::Jenis;
use bukubesar_common::no_rekening::NoRekening;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::nominal::Nominal;
use super::transfer::Refusal;

/// A committed deposit or withdrawal: the journal row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posted {
    pub id: Uuid,
    pub no_rekening: NoRekening,
    pub jenis: Jenis,
    pub nominal: Nominal,
    /// The balance right after this transaction.
    pub saldo: Decimal,
    /// The account's transaction number (1, 2, 3, ... in commit order). Outcomes stored before
    /// the number existed read back as 0.
    #[serde(default)]
    pub urutan_rekening: i64,
    pub tanggal_transaksi: DateTime<Utc>,
}

/// One customer's side of a committed transfer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferLeg {
    /// The leg's id (the source's is the transaction id).
    pub id: Uuid,
    pub no_rekening: NoRekening,
    /// The balance right after the transfer.
    pub saldo: Decimal,
    pub urutan_rekening: i64,
}

/// A committed transfer: the source debited `nominal + biaya`, the destination credited
/// `nominal`, fee income credited `biaya` (when not 0).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transferred {
    /// The transaction id.
    pub id: Uuid,
    pub asal: TransferLeg,
    pub tujuan: TransferLeg,
    pub nominal: Nominal,
    pub biaya: Decimal,
    pub keterangan: Option<String>,
    pub referensi: Option<String>,
    pub tanggal_transaksi: DateTime<Utc>,
}

impl Transferred {
    /// What the source was debited.
    pub fn debit(&self) -> Decimal {
        self.nominal.value() + self.biaya
    }
}

/// The business outcome of a posting, as stored for idempotent replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "hasil", content = "jurnal")]
pub enum Outcome {
    Posted(Posted),
    /// A deposit's or withdrawal's rule refused it (balance too low, or balance limit);
    /// nothing written.
    Refused,
    Transferred(Box<Transferred>),
    /// The transfer rule refused it; nothing written.
    TransferRefused(Refusal),
}

impl Outcome {
    /// Whether it wrote journal legs (and so outbox rows, one per customer leg). Exhaustive on
    /// purpose: a new kind of outcome must say whether the relay has something to publish.
    pub fn wrote_journal(&self) -> bool {
        match self {
            Outcome::Posted(_) | Outcome::Transferred(_) => true,
            Outcome::Refused | Outcome::TransferRefused(_) => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostResult {
    /// Executed now.
    Fresh(Outcome),
    /// The stored outcome of an earlier request with the same key and the same request.
    Replayed(Outcome),
    /// The key was used before for a different request.
    KeyReused,
}

impl PostResult {
    /// Whether this batch wrote journal legs for it (a replay or a reused key wrote nothing).
    pub fn wrote_journal(&self) -> bool {
        match self {
            PostResult::Fresh(outcome) => outcome.wrote_journal(),
            PostResult::Replayed(_) | PostResult::KeyReused => false,
        }
    }
}
