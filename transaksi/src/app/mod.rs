//! Business rules. No SQL and no HTTP here: the rules call the datastore and return
//! [`AppError`]s, which the api layer turns into responses.
//!
//! Where to find a rule:
//! * registration fields: [`pendaftaran`] (account numbers: `bukubesar_common::no_rekening`)
//! * amounts (`nominal`): [`nominal`]
//! * deposit: [`tabung`]; withdrawal: [`tarik`]; what both share: [`posting`]
//! * many postings in one transaction (group commit): the queue [`group_commit`], one
//!   batch's transaction [`batch`]
//! * PIN checks, the credential cache and lockout: `bukubesar_common::auth` (shared with
//!   mutasi, which reads the same credential table)
//! * idempotency keys: [`idempotency`]
//! * publishing committed postings to the stream: [`relay`]
//! * what is counted for `/metrics`: [`metrics`]

pub mod batch;
pub mod error;
pub mod group_commit;
pub mod idempotency;
pub mod metrics;
pub mod nominal;
pub mod pendaftaran;
pub mod posting;
pub mod relay;
pub mod tabung;
pub mod tarik;

pub use error::AppError;
