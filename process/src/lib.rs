//! What every bukubesar process does for itself, whatever its job (transaksi, mutasi, the
//! operator): JSON-lines logs ([`log`], with [`critical!`]), OpenTelemetry traces
//! ([`telemetry`]) and the W3C trace context that links them across the stream ([`trace`]), the
//! shutdown signal ([`shutdown`]) and the allocator setting ([`memory`]).
//!
//! No database, Redis or authentication here: the operator depends on this crate alone, the
//! services on this one and `bukubesar-common`.

pub mod log;
pub mod memory;
pub mod shutdown;
pub mod telemetry;
pub mod trace;
