//! Every way a request can fail, in business terms. `remark`s are the texts users see.

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

    /// Missing or malformed credentials, unknown account in the credentials, or wrong PIN.
    #[error("{remark}")]
    Unauthenticated { remark: &'static str },

    /// Too many wrong PINs: the account is locked for a while.
    #[error("rekening terkunci karena terlalu banyak PIN salah; coba lagi nanti")]
    Locked,

    /// The account in the request is registered but is not the authenticated one.
    #[error("tidak berhak mengakses nomor rekening ini")]
    Forbidden,

    /// The account in the request is not registered.
    #[error("nomor rekening tidak dikenali")]
    UnknownAccount,

    /// A withdrawal larger than the balance.
    #[error("saldo tidak cukup")]
    InsufficientBalance,

    /// A deposit that would take the balance past 18 integer digits.
    #[error("saldo akan melebihi batas maksimum")]
    BalanceLimit,

    /// The same Idempotency-Key was used before with a different request.
    #[error("Idempotency-Key sudah dipakai untuk permintaan yang berbeda")]
    IdempotencyKeyReused,

    /// The database cannot be reached or is overloaded; nothing was written.
    #[error("layanan sedang tidak tersedia; coba lagi")]
    Unavailable(#[source] sqlx::Error),

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
        match &error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => AppError::Unavailable(error),
            sqlx::Error::Database(db)
                if db.code().is_some_and(|code| {
                    // 57014 statement timeout/cancel, 57P0x shutdown, 53xxx resources,
                    // 08xxx connection exceptions, 40001/40P01 serialization/deadlock.
                    code == "57014"
                        || code.starts_with("57P")
                        || code.starts_with("53")
                        || code.starts_with("08")
                        || code == "40001"
                        || code == "40P01"
                }) =>
            {
                AppError::Unavailable(error)
            }
            _ => AppError::Internal(error.into()),
        }
    }
}
