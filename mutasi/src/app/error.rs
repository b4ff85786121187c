//! Every way a statement request can fail. `remark`s are the texts users see.

use bukubesar_common::auth::AuthError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A query parameter is malformed (the client can fix it).
    #[error("{remark}")]
    Invalid {
        field: &'static str,
        remark: &'static str,
    },

    /// Authentication or access to the requested account refused (401/403/400).
    #[error(transparent)]
    Auth(#[from] AuthError),

    /// The database cannot be reached or is overloaded.
    #[error("layanan sedang tidak tersedia; coba lagi")]
    Unavailable(#[source] sqlx::Error),

    /// A failure of our own making.
    #[error("terjadi kesalahan internal")]
    Internal(#[source] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        if bukubesar_common::db::is_unavailable(&error) {
            AppError::Unavailable(error)
        } else {
            AppError::Internal(error.into())
        }
    }
}
