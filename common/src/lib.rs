//! Code that both bukubesar services (transaksi and mutasi) need in the same shape:
//! the JSON log format, the database settings (flags plus secrets from the environment),
//! and the shutdown signal.

pub mod db;
pub mod log;
pub mod shutdown;

#[cfg(feature = "testkit")]
pub mod testkit;
