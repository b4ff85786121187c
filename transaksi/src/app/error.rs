//! Every way a request can fail, in business terms. `remark`s are the texts users see.

use std::sync::Arc;

use bukubesar_common::auth::AuthError;

/// The field of a request that failed validation.
pub type Field = &'static str;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A request field is missing or malformed (bad input: the client can fix it).
    #[error("{remark}")]
    Invalid { field: Field, remark: String },

    /// `nik` or `no_hp` already belongs to a registered customer.
    #[error("{field} sudah terdaftar")]
    AlreadyRegistered { field: Field },

    /// Authentication or access to the requested account refused (401/403/400), or the
    /// credential table unreachable.
    #[error(transparent)]
    Auth(#[from] AuthError),

    /// A withdrawal larger than the balance.
    #[error("saldo tidak cukup")]
    InsufficientSaldo,

    /// A deposit that would take the balance past 18 integer digits.
    #[error("saldo akan melebihi batas maksimum")]
    SaldoLimit,

    /// No transaction with this id has the caller among its parties.
    #[error("transaksi tidak ditemukan")]
    TransaksiNotFound,

    /// The same Idempotency-Key was used before with a different request.
    #[error("Idempotency-Key sudah dipakai untuk permintaan yang berbeda")]
    IdempotencyKeyReused,

    /// The database cannot be reached or is overloaded; nothing was written.
    #[error("layanan sedang tidak tersedia; coba lagi")]
    Unavailable(#[source] Arc<sqlx::Error>),

    /// A failure of our own making. Logged as ERROR; the user sees a generic remark.
    #[error("terjadi kesalahan internal")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn invalid(field: Field, remark: impl Into<String>) -> Self {
        AppError::Invalid {
            field,
            remark: remark.into(),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        AppError::from(Arc::new(error))
    }
}

/// A batch's error is the answer of every operation in it, hence shared.
impl From<Arc<sqlx::Error>> for AppError {
    fn from(error: Arc<sqlx::Error>) -> Self {
        if bukubesar_common::db::is_unavailable(&error) {
            AppError::Unavailable(error)
        } else {
            AppError::Internal(anyhow::Error::new(error))
        }
    }
}
