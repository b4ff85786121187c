//! The measured phase second by second (`--timeline FILE`): a CSV row per second with the
//! operations answered in it and the probe's commit-to-statement delays of the deposits
//! committed in it, so a run's throughput and delay can be drawn over time.
//!
//! Each connection task counts into its own [`Timeline`] (no shared state on the hot path);
//! the driver merges them when the load is over.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use tokio::time::Instant;

/// The header of the CSV file; scripts/bench/bench.py reads the columns by these names.
pub const HEADER: &str = "second,unix_time,ok,refused,errors,latency_max_ms,\
probe_delays,probe_delay_p50_ms,probe_delay_max_ms";

/// How one operation ended, as the timeline counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Answered 200.
    Ok,
    /// A withdrawal or transfer refused for lack of funds.
    Refused,
    /// 5xx, an unexpected answer, or no complete answer.
    Error,
}

/// What was answered in one second of the measured phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Second {
    pub ok: u64,
    pub refused: u64,
    pub errors: u64,
    /// The longest latency (as the run measures it) of an operation answered in this second.
    pub latency_max_us: u64,
}

/// One task's (or, merged, the whole load's) seconds; index 0 is the measured phase's first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    pub seconds: Vec<Second>,
}

impl Timeline {
    /// Counts an operation answered `since_start` after the measured phase began.
    pub fn record(&mut self, since_start: Duration, class: Class, latency: Duration) {
        let second = usize::try_from(since_start.as_secs()).unwrap_or(usize::MAX);
        // A second index past a day is a clock oddity, not a run: keep the vector small.
        let second = second.min(86_400 * 2);
        if self.seconds.len() <= second {
            self.seconds.resize(second + 1, Second::default());
        }
        let s = &mut self.seconds[second];
        match class {
            Class::Ok => s.ok += 1,
            Class::Refused => s.refused += 1,
            Class::Error => s.errors += 1,
        }
        let latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        s.latency_max_us = s.latency_max_us.max(latency_us);
    }

    pub fn absorb(&mut self, other: &Timeline) {
        if self.seconds.len() < other.seconds.len() {
            self.seconds.resize(other.seconds.len(), Second::default());
        }
        for (mine, theirs) in self.seconds.iter_mut().zip(&other.seconds) {
            mine.ok += theirs.ok;
            mine.refused += theirs.refused;
            mine.errors += theirs.errors;
            mine.latency_max_us = mine.latency_max_us.max(theirs.latency_max_us);
        }
    }
}

/// The CSV text: one row per second from 0 to the last second with an answer or a probe.
/// `start_unix` is the measured phase's start in seconds since the Unix epoch; `delays` are
/// the probe's (commit time after the start, commit-to-statement delay) pairs.
pub fn csv(timeline: &Timeline, start_unix: f64, delays: &[(Duration, Duration)]) -> String {
    let mut by_second: Vec<Vec<u64>> = Vec::new();
    for (at, delay) in delays {
        let second = usize::try_from(at.as_secs()).unwrap_or(usize::MAX);
        if second > 86_400 * 2 {
            continue;
        }
        if by_second.len() <= second {
            by_second.resize(second + 1, Vec::new());
        }
        by_second[second].push(u64::try_from(delay.as_micros()).unwrap_or(u64::MAX));
    }
    let rows = timeline.seconds.len().max(by_second.len());
    let mut out = String::from(HEADER);
    out.push('\n');
    for i in 0..rows {
        let s = timeline.seconds.get(i).copied().unwrap_or_default();
        let _ = write!(
            out,
            "{i},{:.3},{},{},{},{:.3},",
            start_unix + i as f64,
            s.ok,
            s.refused,
            s.errors,
            s.latency_max_us as f64 / 1000.0
        );
        match by_second.get_mut(i) {
            Some(seen) if !seen.is_empty() => {
                seen.sort_unstable();
                // Nearest rank, as the bench's own percentiles.
                let p50 = seen[seen.len().div_ceil(2) - 1];
                let max = seen[seen.len() - 1];
                let _ = writeln!(
                    out,
                    "{},{:.3},{:.3}",
                    seen.len(),
                    p50 as f64 / 1000.0,
                    max as f64 / 1000.0
                );
            }
            _ => out.push_str("0,,\n"),
        }
    }
    out
}

/// Seconds since the Unix epoch at `instant` (an instant in the past or the near future).
pub fn unix_time_of(instant: Instant) -> f64 {
    let (now_instant, now_system) = (Instant::now(), SystemTime::now());
    let now = now_system
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    if instant <= now_instant {
        now - (now_instant - instant).as_secs_f64()
    } else {
        now + (instant - now_instant).as_secs_f64()
    }
}

/// Writes [`csv`] to `path`.
pub fn write(
    path: &Path,
    timeline: &Timeline,
    measured_start: Instant,
    probe_delays: &[(Instant, Duration)],
) -> anyhow::Result<()> {
    let delays: Vec<(Duration, Duration)> = probe_delays
        .iter()
        .map(|(committed, delay)| (committed.saturating_duration_since(measured_start), *delay))
        .collect();
    let text = csv(timeline, unix_time_of(measured_start), &delays);
    std::fs::write(path, text)
        .with_context(|| format!("writing the timeline to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn records_by_second_and_merges() {
        let mut a = Timeline::default();
        a.record(ms(10), Class::Ok, ms(3));
        a.record(ms(999), Class::Refused, ms(7));
        a.record(ms(2_500), Class::Error, ms(1));
        let mut b = Timeline::default();
        b.record(ms(1_000), Class::Ok, ms(2));
        b.record(ms(20), Class::Ok, ms(9));
        a.absorb(&b);
        assert_eq!(a.seconds.len(), 3);
        assert_eq!(
            a.seconds[0],
            Second {
                ok: 2,
                refused: 1,
                errors: 0,
                latency_max_us: 9_000
            }
        );
        assert_eq!((a.seconds[1].ok, a.seconds[1].latency_max_us), (1, 2_000));
        assert_eq!((a.seconds[2].errors, a.seconds[2].ok), (1, 0));
    }

    #[test]
    fn csv_has_a_row_per_second_and_the_probe_delays() {
        let mut t = Timeline::default();
        t.record(ms(100), Class::Ok, ms(4));
        t.record(ms(2_100), Class::Ok, ms(5));
        let delays = [
            (ms(50), ms(10)),
            (ms(150), ms(30)),
            (ms(250), ms(20)),
            (ms(3_100), ms(8)),
        ];
        let text = csv(&t, 1_000.0, &delays);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER);
        assert_eq!(lines[1], "0,1000.000,1,0,0,4.000,3,20.000,30.000");
        assert_eq!(lines[2], "1,1001.000,0,0,0,0.000,0,,");
        assert_eq!(lines[3], "2,1002.000,1,0,0,5.000,0,,");
        // A probe after the last answer still gets its row.
        assert_eq!(lines[4], "3,1003.000,0,0,0,0.000,1,8.000,8.000");
        assert_eq!(lines.len(), 5);
        let columns = HEADER.split(',').count();
        assert!(lines.iter().all(|l| l.split(',').count() == columns));
    }

    #[test]
    fn unix_time_of_now_is_now() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        let got = unix_time_of(Instant::now() - Duration::from_secs(2));
        assert!((got - (now - 2.0)).abs() < 0.5, "{got} vs {now}");
    }
}
