//! Business rules. No SQL, no Redis commands and no HTTP here.
//!
//! * reading a statement (limits, cursor, who may read what): [`statement`]
//! * consuming the stream into the statement (batches, acknowledgement after commit, taking
//!   over a dead consumer's entries, poison entries, trimming): [`consumer`]
//! * what is counted for `/metrics`: [`metrics`]
//! * PIN checks and lockout: `bukubesar_common::auth` (the same code and table as transaksi)

pub mod consumer;
pub mod error;
pub mod metrics;
pub mod statement;

pub use error::AppError;
