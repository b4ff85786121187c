//! Business rules. No SQL, no Redis commands and no HTTP here. The api layer holds a
//! [`context::App`] and calls the use cases with it.
//!
//! * reading a statement (limits, cursor, who may read what): [`mutasi`]
//! * consuming the stream into the statement (batches, acknowledgement after commit, taking
//!   over a dead consumer's entries, poison entries, trimming): [`consumer`], its counters
//!   [`stats`]
//! * readiness and what is counted for `/metrics`: [`health`], [`metrics`]
//! * PIN checks and lockout: `bukubesar_common::auth` (the same code and table as transaksi)

pub mod consumer;
pub mod context;
pub mod error;
pub mod health;
pub mod metrics;
pub mod mutasi;
pub mod stats;

pub use error::AppError;
