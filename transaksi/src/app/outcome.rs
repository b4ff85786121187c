//! What a posting comes to, from the batch that executes it up to the api: [`PostResult`],
//! its business [`Outcome`], and for a posted one the journal entry [`Posted`]. An outcome is
//! stored (as JSON) with its idempotency key and replayed from there.

use bukubesar_common::event::Jenis;
use bukubesar_common::no_rekening::NoRekening;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::nominal::Nominal;

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

/// The business outcome of a posting, as stored for idempotent replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "hasil", content = "jurnal")]
pub enum Outcome {
    Posted(Posted),
    /// The operation's rule refused it (balance too low, or balance limit); nothing written.
    Refused,
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
