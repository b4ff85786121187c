//! Latency histograms (HDR, microseconds) and their percentiles in milliseconds.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Largest latency a histogram holds exactly enough (one hour); longer ones are recorded as
/// one hour.
pub const HIGHEST_LATENCY_US: u64 = 3_600_000_000;

/// An empty histogram from 1 µs to an hour, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_LATENCY_US, 3)
        .unwrap_or_else(|error| unreachable!("constant histogram bounds are valid: {error}"))
}

/// Records `elapsed` in microseconds, clamped to the histogram's range.
pub fn record(histogram: &mut Histogram<u64>, elapsed: Duration) {
    let latency_us = u64::try_from(elapsed.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(1, HIGHEST_LATENCY_US);
    histogram.saturating_record(latency_us);
}

/// The usual percentiles of a latency histogram, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Percentiles {
    /// `None` for an empty histogram.
    pub fn of(histogram: &Histogram<u64>) -> Option<Percentiles> {
        if histogram.is_empty() {
            return None;
        }
        let at = |quantile: f64| us_to_ms(histogram.value_at_quantile(quantile));
        Some(Percentiles {
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            p999: at(0.999),
            max: us_to_ms(histogram.max()),
        })
    }

    /// `p50 1.234  p90 …  max …` (milliseconds).
    pub fn line(&self) -> String {
        format!(
            "p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            ms(self.p999),
            ms(self.max)
        )
    }
}

/// p50, p99 and max of the commit-to-statement delay, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct DelayPercentiles {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl DelayPercentiles {
    pub fn of(histogram: &Histogram<u64>) -> Option<DelayPercentiles> {
        Percentiles::of(histogram).map(|p| DelayPercentiles {
            p50: p.p50,
            p99: p.p99,
            max: p.max,
        })
    }

    pub fn line(&self) -> String {
        format!(
            "p50 {}  p99 {}  max {}",
            ms(self.p50),
            ms(self.p99),
            ms(self.max)
        )
    }
}

/// Microseconds to milliseconds, kept to the microsecond.
pub fn us_to_ms(latency_us: u64) -> f64 {
    latency_us as f64 / 1000.0
}

/// Milliseconds with three decimals (to the microsecond).
pub fn ms(value_ms: f64) -> String {
    format!("{value_ms:.3}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut h = histogram();
        // 1 ms .. 1000 ms, one each.
        for i in 1..=1000_u64 {
            record(&mut h, Duration::from_millis(i));
        }
        let p = Percentiles::of(&h).expect("not empty");
        // HDR keeps 3 significant digits: within 0.1 %.
        let near = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 0.001;
        assert!(near(p.p50, 500.0), "{p:?}");
        assert!(near(p.p90, 900.0), "{p:?}");
        assert!(near(p.p99, 990.0), "{p:?}");
        assert!(near(p.p999, 999.0), "{p:?}");
        assert!(near(p.max, 1000.0), "{p:?}");
        assert!(Percentiles::of(&histogram()).is_none());
    }

    #[test]
    fn formatting_is_milliseconds_to_the_microsecond() {
        assert_eq!(ms(us_to_ms(1_234)), "1.234");
        assert_eq!(ms(us_to_ms(7)), "0.007");
        assert_eq!(ms(us_to_ms(2_000_000)), "2000.000");
        let p = Percentiles {
            p50: 1.0,
            p90: 2.5,
            p99: 10.0,
            p999: 20.125,
            max: 31.0,
        };
        assert_eq!(
            p.line(),
            "p50 1.000  p90 2.500  p99 10.000  p99.9 20.125  max 31.000"
        );
        let json = serde_json::to_value(p).expect("serialises");
        assert_eq!(json["p999"], 20.125);
    }

    #[test]
    fn out_of_range_latencies_are_clamped() {
        let mut h = histogram();
        record(&mut h, Duration::ZERO);
        record(&mut h, Duration::from_secs(10_000));
        assert_eq!(h.len(), 2);
        assert_eq!(h.min(), 1);
        assert!(h.max() >= HIGHEST_LATENCY_US);
    }
}
