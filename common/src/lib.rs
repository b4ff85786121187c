//! Code that both bukubesar services (transaksi and mutasi) need in the same shape:
//! the JSON log format, the database settings (flags plus secrets from the environment),
//! account numbers, PIN authentication and lockout (both services read the same credential
//! table, so the rules and the lock are one), the HTTP error shape and request log, and the
//! shutdown signal.

pub mod auth;
pub mod batching;
pub mod db;
pub mod event;
pub mod http;
pub mod log;
pub mod memory;
pub mod metrics;
pub mod no_rekening;
pub mod retry;
pub mod shutdown;
pub mod stream;
pub mod telemetry;
pub mod trace;

#[cfg(feature = "testkit")]
pub mod testkit;
