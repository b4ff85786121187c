//! Prometheus text-format metrics: reconcile counts, errors, durations, leadership.

use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the reconcile-duration histogram buckets.
pub const BUCKETS: [f64; 9] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    reconciles: AtomicU64,
    errors: AtomicU64,
    durations: Mutex<Histogram>,
    leader: AtomicBool,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one finished reconcile.
    pub fn observe(&self, took: Duration, failed: bool) {
        self.reconciles.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let secs = took.as_secs_f64();
        // A poisoned lock only means another thread panicked mid-update; the numbers are
        // still usable.
        let mut h = self.durations.lock().unwrap_or_else(|e| e.into_inner());
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Relaxed);
    }

    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }

    pub fn reconciles(&self) -> u64 {
        self.reconciles.load(Ordering::Relaxed)
    }

    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let total = self.reconciles();
        let errors = self.errors();
        let _ = writeln!(
            out,
            "# HELP bukubesar_operator_reconciles_total Reconciles run, by result."
        );
        let _ = writeln!(out, "# TYPE bukubesar_operator_reconciles_total counter");
        let _ = writeln!(
            out,
            "bukubesar_operator_reconciles_total{{result=\"success\"}} {}",
            total - errors
        );
        let _ = writeln!(
            out,
            "bukubesar_operator_reconciles_total{{result=\"error\"}} {errors}"
        );
        let _ = writeln!(
            out,
            "# HELP bukubesar_operator_reconcile_errors_total Reconciles that failed."
        );
        let _ = writeln!(
            out,
            "# TYPE bukubesar_operator_reconcile_errors_total counter"
        );
        let _ = writeln!(out, "bukubesar_operator_reconcile_errors_total {errors}");
        let h = self.durations.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(
            out,
            "# HELP bukubesar_operator_reconcile_duration_seconds Time spent in one reconcile."
        );
        let _ = writeln!(
            out,
            "# TYPE bukubesar_operator_reconcile_duration_seconds histogram"
        );
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "bukubesar_operator_reconcile_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                h.counts[i]
            );
        }
        let _ = writeln!(
            out,
            "bukubesar_operator_reconcile_duration_seconds_bucket{{le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            out,
            "bukubesar_operator_reconcile_duration_seconds_sum {}",
            h.sum
        );
        let _ = writeln!(
            out,
            "bukubesar_operator_reconcile_duration_seconds_count {}",
            h.count
        );
        let _ = writeln!(
            out,
            "# HELP bukubesar_operator_leader 1 when this replica holds the leader Lease."
        );
        let _ = writeln!(out, "# TYPE bukubesar_operator_leader gauge");
        let _ = writeln!(
            out,
            "bukubesar_operator_leader {}",
            u8::from(self.is_leader())
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets_add_up() {
        let m = Metrics::new();
        m.observe(Duration::from_millis(20), false);
        m.observe(Duration::from_millis(300), true);
        m.observe(Duration::from_secs(20), false);
        m.set_leader(true);
        let text = m.render();
        assert!(text.contains("bukubesar_operator_reconciles_total{result=\"success\"} 2\n"));
        assert!(text.contains("bukubesar_operator_reconciles_total{result=\"error\"} 1\n"));
        assert!(text.contains("bukubesar_operator_reconcile_errors_total 1\n"));
        assert!(text.contains("duration_seconds_bucket{le=\"0.01\"} 0\n"));
        assert!(text.contains("duration_seconds_bucket{le=\"0.05\"} 1\n"));
        assert!(text.contains("duration_seconds_bucket{le=\"0.5\"} 2\n"));
        assert!(text.contains("duration_seconds_bucket{le=\"10\"} 2\n"));
        assert!(text.contains("duration_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("duration_seconds_count 3\n"));
        assert!(text.contains("bukubesar_operator_leader 1\n"));
    }
}
