//! The open-loop schedule: operation `i` is meant to start at `t0 + i / rate`, whether or not
//! earlier operations have been answered. Latency is measured from that intended start, so a
//! server stall shows up as the queue it would cause for real clients (no coordinated
//! omission). Integer nanoseconds, so the schedule never drifts.

use std::time::Duration;

const NANOS_PER_SEC: u128 = 1_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    ops_per_sec: u32,
}

impl Schedule {
    pub fn new(ops_per_sec: u32) -> Schedule {
        assert!(ops_per_sec > 0, "a rate of 0 schedules nothing");
        Schedule { ops_per_sec }
    }

    /// Intended start of operation `i`, from `t0`: `floor(i * 1e9 / rate)` ns.
    pub fn offset(self, i: u64) -> Duration {
        let nanos = u128::from(i) * NANOS_PER_SEC / u128::from(self.ops_per_sec);
        duration_from_nanos(nanos)
    }

    /// How many operations are meant to start before `window` has passed since `t0`: the
    /// number of `i` with `offset(i) < window`, i.e. `ceil(window * rate / 1e9)`.
    pub fn count_before(self, window: Duration) -> u64 {
        let scaled = window.as_nanos() * u128::from(self.ops_per_sec);
        u64::try_from(scaled.div_ceil(NANOS_PER_SEC)).unwrap_or(u64::MAX)
    }
}

fn duration_from_nanos(nanos: u128) -> Duration {
    let secs = u64::try_from(nanos / NANOS_PER_SEC).unwrap_or(u64::MAX);
    // The remainder is below 1e9, so it fits.
    Duration::new(secs, (nanos % NANOS_PER_SEC) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_evenly_spaced_without_drift() {
        let s = Schedule::new(3);
        assert_eq!(s.offset(0), Duration::ZERO);
        assert_eq!(s.offset(1), Duration::from_nanos(333_333_333));
        assert_eq!(s.offset(2), Duration::from_nanos(666_666_666));
        assert_eq!(s.offset(3), Duration::from_secs(1));
        // A day at a million per second lands exactly on the day.
        let s = Schedule::new(1_000_000);
        assert_eq!(s.offset(86_400_000_000), Duration::from_secs(86_400));
        assert_eq!(s.offset(1), Duration::from_micros(1));
    }

    #[test]
    fn counts_match_offsets() {
        for rate in [1, 3, 7, 1000, 12_345] {
            let s = Schedule::new(rate);
            for window in [
                Duration::ZERO,
                Duration::from_nanos(1),
                Duration::from_millis(333),
                Duration::from_secs(1),
                Duration::from_millis(2_500),
                Duration::from_secs(30),
            ] {
                let n = s.count_before(window);
                if n > 0 {
                    assert!(s.offset(n - 1) < window, "rate {rate} window {window:?}");
                }
                assert!(s.offset(n) >= window, "rate {rate} window {window:?}");
            }
        }
        assert_eq!(
            Schedule::new(1000).count_before(Duration::from_secs(30)),
            30_000
        );
        assert_eq!(Schedule::new(3).count_before(Duration::from_secs(1)), 3);
    }
}
