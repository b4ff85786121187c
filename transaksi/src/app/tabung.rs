//! Deposit (`/tabung`).
//!
//! The rule: a deposit adds `nominal` to the balance unless the new balance would exceed the
//! largest balance an account may hold (18 integer digits, see
//! [`super::nominal::max_saldo`]); then nothing is written and the answer is 400. It is applied
//! in memory to the locked balance, in arrival order within a batch (see [`super::batch`]).

use rust_decimal::Decimal;

use crate::datastore::Datastore;

use super::AppError;
use super::group_commit::GroupCommit;
use super::nominal::max_saldo;
use super::posting::{self, Jawaban, Jenis, Permintaan};

/// The balance after depositing `nominal` into `saldo`, or `None` when it would pass the
/// maximum.
pub fn apply(saldo: Decimal, nominal: Decimal) -> Option<Decimal> {
    debug_assert!(nominal > Decimal::ZERO);
    saldo
        .checked_add(nominal)
        .filter(|after| *after <= max_saldo())
}

pub async fn tabung(
    datastore: &Datastore,
    group_commit: &GroupCommit,
    authenticated: &str,
    permintaan: Permintaan,
) -> Result<Jawaban, AppError> {
    posting::execute(
        datastore,
        group_commit,
        authenticated,
        Jenis::Tabung,
        permintaan,
        || AppError::BalanceLimit,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deposits_up_to_the_maximum() {
        let max = max_saldo();
        assert_eq!(apply(Decimal::ZERO, Decimal::ONE), Some(Decimal::ONE));
        assert_eq!(apply(max - Decimal::ONE, Decimal::ONE), Some(max));
        assert_eq!(apply(max, Decimal::new(1, 2)), None);
        assert_eq!(apply(max, max), None);
    }
}
