//! Withdrawal (`/tarik`).
//!
//! The rule: a withdrawal takes `nominal` from the balance only if the balance covers it
//! (`saldo >= nominal`); otherwise nothing at all is written and the answer is
//! "saldo tidak cukup". The check and the debit are a single guarded
//! `UPDATE ... WHERE saldo >= nominal` in the same statement that writes the journal and outbox
//! rows (see `datastore::posting`), so concurrent withdrawals can never overdraw: there is no
//! read-then-write window. The column's `CHECK (saldo >= 0)` is the last line of defence.

use crate::datastore::Datastore;

use super::AppError;
use super::posting::{self, Jawaban, Jenis, Permintaan};

pub async fn tarik(
    datastore: &Datastore,
    authenticated: &str,
    permintaan: Permintaan,
) -> Result<Jawaban, AppError> {
    posting::execute(datastore, authenticated, Jenis::Tarik, permintaan, || {
        AppError::InsufficientBalance
    })
    .await
}
