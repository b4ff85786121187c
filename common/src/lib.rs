//! Code that both bukubesar services (transaksi and mutasi) need in the same shape: the
//! database and Redis settings (flags plus secrets from the environment), account numbers, PIN
//! authentication and lockout (both services read the same credential table, so the rules and
//! the lock are one), the stream event format, the HTTP error shape, request log and serving,
//! the shared Prometheus metrics, batching and retry.
//!
//! Logs, traces and the shutdown signal are `bukubesar-process`'s (the operator needs those and
//! nothing of this crate); test support is `bukubesar-testkit`'s.

pub mod auth;
pub mod batching;
pub mod db;
pub mod event;
pub mod http;
pub mod metrics;
pub mod no_rekening;
pub mod retry;
pub mod stream;
