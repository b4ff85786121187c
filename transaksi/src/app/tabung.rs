//! Deposit (`/tabung`).
//!
//! The rule: a deposit adds `nominal` to the balance unless the new balance would exceed the
//! largest balance an account may hold (18 integer digits, see
//! [`super::nominal::max_saldo`]); then nothing is written and the answer is 400. Balance,
//! journal and outbox change together in one statement (see `datastore::posting`).

use crate::datastore::Datastore;

use super::AppError;
use super::posting::{self, Jawaban, Jenis, Permintaan};

pub async fn tabung(
    datastore: &Datastore,
    authenticated: &str,
    permintaan: Permintaan,
) -> Result<Jawaban, AppError> {
    posting::execute(datastore, authenticated, Jenis::Tabung, permintaan, || {
        AppError::BalanceLimit
    })
    .await
}
