//! Business rules. No SQL and no HTTP here: the rules call the datastore and return
//! [`AppError`]s, which the api layer turns into responses.
//!
//! Where to find a rule:
//! * registration fields and account numbers: [`pendaftaran`], [`no_rekening`]
//! * amounts (`nominal`): [`nominal`]
//! * deposit: [`tabung`]; withdrawal: [`tarik`]; what both share: [`posting`]
//! * PIN checks, the credential cache and lockout: [`auth`], [`credential_cache`]
//! * idempotency keys: [`idempotency`]

pub mod auth;
pub mod credential_cache;
pub mod error;
pub mod idempotency;
pub mod no_rekening;
pub mod nominal;
pub mod pendaftaran;
pub mod posting;
pub mod tabung;
pub mod tarik;

pub use error::AppError;
