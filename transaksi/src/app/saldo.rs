//! The balance (`/saldo`): only the account holder reads it.

use bukubesar_common::auth::AuthError;
use bukubesar_common::no_rekening::NoRekening;
use rust_decimal::Decimal;

use super::AppError;
use super::context::App;

/// The balance of `no_rekening`, for its holder `who`.
pub async fn saldo(
    app: &App,
    who: &NoRekening,
    no_rekening: &NoRekening,
) -> Result<Decimal, AppError> {
    app.authorize(who, no_rekening).await?;
    app.datastore
        .saldo(no_rekening)
        .await?
        .ok_or(AppError::Auth(AuthError::UnknownRekening))
}
