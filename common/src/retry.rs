//! Retrying a background loop (the outbox relay, the statement consumer) through an outage:
//! exponential backoff between failed rounds, and the state needed to log an outage once
//! when it starts and once when it ends rather than on every round.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub struct Outage {
    backoff_min: Duration,
    backoff_max: Duration,
    next_wait: Duration,
    failing_since: Option<Instant>,
}

/// What a failed round means for the caller.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    /// This failure starts an outage (log it loudly); later ones are quiet.
    pub first: bool,
    /// How long to wait before the next round.
    pub wait: Duration,
}

impl Outage {
    pub fn new(backoff_min: Duration, backoff_max: Duration) -> Self {
        assert!(backoff_min <= backoff_max);
        Outage {
            backoff_min,
            backoff_max,
            next_wait: backoff_min,
            failing_since: None,
        }
    }

    /// Records a failed round.
    pub fn failed(&mut self) -> Failure {
        let first = self.failing_since.is_none();
        if first {
            self.failing_since = Some(Instant::now());
        }
        let wait = self.next_wait;
        self.next_wait = (self.next_wait * 2).min(self.backoff_max);
        Failure { first, wait }
    }

    /// Records a successful round; returns the outage's length when this ends one.
    pub fn succeeded(&mut self) -> Option<Duration> {
        self.next_wait = self.backoff_min;
        self.failing_since.take().map(|since| since.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_doubling_to_the_cap_and_reports_the_outage_once() {
        let mut outage = Outage::new(Duration::from_millis(100), Duration::from_millis(350));
        assert_eq!(outage.succeeded(), None, "no outage yet");
        let waits: Vec<(bool, u128)> = (0..4)
            .map(|_| {
                let f = outage.failed();
                (f.first, f.wait.as_millis())
            })
            .collect();
        assert_eq!(
            waits,
            [(true, 100), (false, 200), (false, 350), (false, 350)]
        );
        assert!(outage.succeeded().is_some(), "the outage ends");
        assert_eq!(outage.succeeded(), None);
        assert_eq!(
            outage.failed(),
            Failure {
                first: true,
                wait: Duration::from_millis(100)
            }
        );
    }
}
