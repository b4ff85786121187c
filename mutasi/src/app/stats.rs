//! The consumer's counters since start: written by the consumer (and into the log lines that
//! change them), read by `/readyz` and `/metrics`.

use std::sync::atomic::AtomicU64;

/// Counters since start (also written into the log lines that change them).
#[derive(Debug, Default)]
pub struct ConsumerStats {
    /// Entries read (new, own pending, or claimed).
    pub read: AtomicU64,
    /// Statement rows inserted.
    pub inserted: AtomicU64,
    /// Entries whose event was already in the statement (redeliveries).
    pub duplicates: AtomicU64,
    /// Entries taken over from other consumers.
    pub claimed: AtomicU64,
    /// Entries moved to the dead-letter stream.
    pub dead_lettered: AtomicU64,
    /// Entries trimmed from the stream after every group acknowledged them.
    pub trimmed: AtomicU64,
}
