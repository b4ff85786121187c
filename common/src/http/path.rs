//! `NoRekeningPath`: the `{no_rekening}` segment of a route, parsed into a [`NoRekening`]. A
//! segment that is not an account number is an account nobody has: 400 "nomor rekening tidak
//! dikenali", the answer the access rule gives an unregistered one. axum's own `Path` answers a
//! segment that is not valid percent-encoded UTF-8 with a plain-text 400; this answers it like
//! every other bad input, with the JSON remark naming the field.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::auth::AuthError;
use crate::no_rekening::NoRekening;

/// The account number in the path.
#[derive(Clone, Debug)]
pub struct NoRekeningPath(pub NoRekening);

impl<S: Send + Sync> FromRequestParts<S> for NoRekeningPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(segment)) => NoRekening::parse(&segment)
                .map(NoRekeningPath)
                .map_err(|_| ApiError::from(AuthError::UnknownRekening)),
            Err(rejection) => Err(reject(&rejection)),
        }
    }
}

fn reject(rejection: &PathRejection) -> ApiError {
    tracing::debug!(reason = %rejection, "path parameter refused");
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "no_rekening di alamat tidak valid: harus 10 digit angka",
    )
    .with_field("no_rekening")
}
