//! The summary: printed for people, written as JSON for scripts (scripts/bench.sh reads the
//! field names as they are here).

use std::collections::BTreeMap;
use std::fmt::Write;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::latency::{DelayPercentiles, Percentiles};

#[derive(Debug, Serialize)]
pub struct Summary {
    pub label: String,
    /// "closed" or "open".
    pub mode: &'static str,
    pub target: &'static str,
    pub accounts: u32,
    pub connections: u32,
    pub rate_asked: Option<u32>,
    /// Open loop: operations sent per second of the measured phase.
    pub rate_achieved: Option<f64>,
    /// Open loop: scheduled operations never sent because every connection was still busy.
    pub ops_missed: Option<u64>,
    /// Length of the measured phase in seconds.
    pub duration_s: f64,
    /// Measured phase: operations answered 200.
    pub ops_ok: u64,
    /// Measured phase: withdrawals and transfers refused for lack of funds.
    pub ops_refused: u64,
    /// (ops_ok + ops_refused) / duration_s.
    pub throughput_ops_s: f64,
    /// Measured phase: `ops_ok` by operation (`tabung`, `tarik`, `transfer`).
    pub ops_ok_by_jenis: BTreeMap<String, u64>,
    /// `ops_ok_by_jenis` / duration_s: each kind's committed operations per second.
    pub throughput_by_jenis_ops_s: BTreeMap<String, f64>,
    /// Measured phase: answers by HTTP status.
    pub status_counts: BTreeMap<String, u64>,
    /// Measured phase: operations without a complete answer.
    pub transport_errors: u64,
    pub latency_ms: Option<Percentiles>,
    /// Open loop only.
    pub service_time_ms: Option<Percentiles>,
    pub warmup: PhaseSummary,
    /// argon2 PIN verifications transaksi ran during the load (its `/metrics`), `None` when
    /// unreadable. Above 0, credential-cache misses are mixed into the measurement.
    pub argon2_verifications_during_load: Option<u64>,
    pub money_ok: bool,
    /// Exact decimals: the sum of every account's expected and actual end balance.
    pub expected_total: String,
    /// `None` when the balances could not be read.
    pub actual_total: Option<String>,
    pub money_mismatched_accounts: usize,
    pub money_inconclusive_accounts: usize,
    /// `null` when skipped (--statement-timeout-secs 0).
    pub statement_ok: Option<bool>,
    pub statement_rows_expected: Option<usize>,
    pub statement_rows_found: Option<usize>,
    pub statement_accounts_checked: Option<usize>,
    pub statement_accounts_failed: Option<usize>,
    /// `null` when skipped or when no probe was seen.
    pub statement_delay_ms: Option<DelayPercentiles>,
    pub probe: Option<ProbeSummary>,
    /// Why the run failed; empty when it passed.
    pub failures: Vec<String>,
    pub ok: bool,
}

#[derive(Debug, Serialize)]
pub struct PhaseSummary {
    pub duration_s: f64,
    pub ops: u64,
    pub status_counts: BTreeMap<String, u64>,
    pub transport_errors: u64,
}

#[derive(Debug, Serialize)]
pub struct ProbeSummary {
    pub probes: u64,
    pub seen: u64,
    pub not_seen: u64,
    /// Statement reads the probe made (its load on mutasi).
    pub polls: u64,
    pub errors: u64,
}

pub fn status_counts(counts: &BTreeMap<u16, u64>) -> BTreeMap<String, u64> {
    counts.iter().map(|(s, n)| (s.to_string(), *n)).collect()
}

/// An exact amount with two decimals.
pub fn money(amount: Decimal) -> String {
    format!("{:.2}", amount)
}

pub fn throughput(ops: u64, duration_s: f64) -> f64 {
    if duration_s > 0.0 {
        ops as f64 / duration_s
    } else {
        0.0
    }
}

fn statuses(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "none".into();
    }
    counts
        .iter()
        .map(|(s, n)| format!("{s}={n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Summary {
    /// The human-readable report.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.write_load(&mut out);
        self.write_latency(&mut out);
        self.write_checks(&mut out);
        self.write_verdict(&mut out);
        out
    }

    /// The run, its throughput, the open loop's rate, the answers' statuses.
    fn write_load(&self, out: &mut String) {
        let mode = match self.rate_asked {
            Some(rate) => format!("open loop at {rate} ops/s"),
            None => "closed loop".into(),
        };
        let _ = writeln!(
            out,
            "== {}: {mode}, {} connections, target {}, {} accounts",
            self.label, self.connections, self.target, self.accounts
        );
        let _ = writeln!(
            out,
            "measured {:.1} s: {} ok, {} refused -> {:.1} ops/s",
            self.duration_s, self.ops_ok, self.ops_refused, self.throughput_ops_s
        );
        if !self.throughput_by_jenis_ops_s.is_empty() {
            let kinds: Vec<String> = self
                .throughput_by_jenis_ops_s
                .iter()
                .map(|(jenis, rate)| format!("{jenis} {rate:.1} ops/s"))
                .collect();
            let _ = writeln!(out, "committed by kind: {}", kinds.join(", "));
        }
        if let (Some(asked), Some(achieved)) = (self.rate_asked, self.rate_achieved) {
            let _ = writeln!(
                out,
                "rate: asked {asked} ops/s, achieved {achieved:.1} ops/s, {} scheduled operations never sent",
                self.ops_missed.unwrap_or(0)
            );
            if self.ops_missed.unwrap_or(0) > 0 || achieved < f64::from(asked) * 0.95 {
                let _ = writeln!(
                    out,
                    "WARNING: the pool of {} connections could not keep up with {asked} ops/s; latencies include the queueing",
                    self.connections
                );
            }
        }
        let _ = write!(
            out,
            "status: {}   transport errors: {}",
            statuses(&self.status_counts),
            self.transport_errors
        );
        if self.warmup.ops > 0 {
            let _ = write!(
                out,
                "   (warm-up {:.1} s: {} ops, status {}, transport errors {})",
                self.warmup.duration_s,
                self.warmup.ops,
                statuses(&self.warmup.status_counts),
                self.warmup.transport_errors
            );
        }
        out.push('\n');
    }

    /// Latency, service time, and the argon2 runs that slowed the load down.
    fn write_latency(&self, out: &mut String) {
        let latency_title = if self.rate_asked.is_some() {
            "latency ms (from intended start)"
        } else {
            "latency ms"
        };
        match &self.latency_ms {
            Some(p) => {
                let _ = writeln!(out, "{latency_title}: {}", p.line());
            }
            None => {
                let _ = writeln!(out, "{latency_title}: no operations measured");
            }
        }
        if let Some(p) = &self.service_time_ms {
            let _ = writeln!(out, "service time ms: {}", p.line());
        }
        if let Some(n) = self.argon2_verifications_during_load
            && n > 0
        {
            let _ = writeln!(
                out,
                "WARNING: transaksi ran {n} argon2 PIN verifications during the load (credential-cache misses, e.g. entries that expired during a long setup); throughput and latency include them"
            );
        }
    }

    /// The money check, the statement check, the commit-to-statement delay.
    fn write_checks(&self, out: &mut String) {
        match &self.actual_total {
            Some(actual_total) => {
                let _ = writeln!(
                    out,
                    "money: {} - expected total {}, actual total {actual_total}, {} accounts mismatch, {} inconclusive",
                    if self.money_ok { "OK" } else { "FAILED" },
                    self.expected_total,
                    self.money_mismatched_accounts,
                    self.money_inconclusive_accounts
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "money: FAILED - the end balances could not be read (expected total {})",
                    self.expected_total
                );
            }
        }
        match self.statement_ok {
            None => {
                let _ = writeln!(out, "statement: skipped (--statement-timeout-secs 0)");
            }
            Some(ok) => {
                let _ = writeln!(
                    out,
                    "statement: {} - rows expected {}, found {} ({} accounts checked, {} failed)",
                    if ok { "OK" } else { "FAILED" },
                    self.statement_rows_expected.unwrap_or(0),
                    self.statement_rows_found.unwrap_or(0),
                    self.statement_accounts_checked.unwrap_or(0),
                    self.statement_accounts_failed.unwrap_or(0)
                );
            }
        }
        if let Some(probe) = &self.probe {
            let delay = self
                .statement_delay_ms
                .map_or_else(|| "no probe seen".to_owned(), |d| d.line());
            let _ = writeln!(
                out,
                "commit-to-statement delay ms: {delay}  ({} probes, {} seen, {} not seen in time, {} errors, {} statement polls)",
                probe.probes, probe.seen, probe.not_seen, probe.errors, probe.polls
            );
        }
    }

    fn write_verdict(&self, out: &mut String) {
        if self.ok {
            let _ = writeln!(out, "RESULT {}: PASS", self.label);
        } else {
            let _ = writeln!(out, "RESULT {}: FAIL", self.label);
            for failure in &self.failures {
                let _ = writeln!(out, "  - {failure}");
            }
        }
    }
}

#[cfg(test)]
// Amounts in cents are grouped as money: 100_00 is 100.00.
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        Summary {
            label: "spread-open-500".into(),
            mode: "open",
            target: "spread",
            accounts: 200,
            connections: 64,
            rate_asked: Some(500),
            rate_achieved: Some(499.9),
            ops_missed: Some(0),
            duration_s: 10.0,
            ops_ok: 4900,
            ops_refused: 99,
            throughput_ops_s: throughput(4999, 10.0),
            ops_ok_by_jenis: BTreeMap::from([("tabung".into(), 2900), ("transfer".into(), 2000)]),
            throughput_by_jenis_ops_s: BTreeMap::from([
                ("tabung".into(), 290.0),
                ("transfer".into(), 200.0),
            ]),
            status_counts: status_counts(&BTreeMap::from([(200, 4900), (400, 99)])),
            transport_errors: 0,
            latency_ms: Some(Percentiles {
                p50: 1.5,
                p90: 2.0,
                p99: 3.0,
                p999: 4.0,
                max: 5.0,
            }),
            service_time_ms: None,
            warmup: PhaseSummary {
                duration_s: 3.0,
                ops: 1500,
                status_counts: BTreeMap::new(),
                transport_errors: 0,
            },
            argon2_verifications_during_load: Some(0),
            money_ok: true,
            expected_total: money(Decimal::new(200_000_000_00, 2)),
            actual_total: Some(money(Decimal::from(200_000_000))),
            money_mismatched_accounts: 0,
            money_inconclusive_accounts: 0,
            statement_ok: None,
            statement_rows_expected: None,
            statement_rows_found: None,
            statement_accounts_checked: None,
            statement_accounts_failed: None,
            statement_delay_ms: None,
            probe: None,
            failures: Vec::new(),
            ok: true,
        }
    }

    #[test]
    fn json_has_the_fields_scripts_read() {
        let json = serde_json::to_value(summary()).expect("serialises");
        for field in [
            "label",
            "mode",
            "target",
            "accounts",
            "connections",
            "rate_asked",
            "duration_s",
            "ops_ok",
            "ops_refused",
            "throughput_ops_s",
            "ops_ok_by_jenis",
            "throughput_by_jenis_ops_s",
            "status_counts",
            "transport_errors",
            "latency_ms",
            "service_time_ms",
            "money_ok",
            "expected_total",
            "actual_total",
            "statement_ok",
            "statement_rows_expected",
            "statement_rows_found",
            "statement_delay_ms",
        ] {
            assert!(json.get(field).is_some(), "{field}");
        }
        assert_eq!(json["status_counts"]["200"], 4900);
        assert_eq!(json["expected_total"], "200000000.00");
        assert_eq!(json["actual_total"], "200000000.00");
        assert_eq!(json["throughput_ops_s"], 499.9);
        assert_eq!(json["latency_ms"]["p999"], 4.0);
        assert!(json["statement_ok"].is_null());
    }

    #[test]
    fn text_names_the_verdict_and_the_shortfall() {
        let mut s = summary();
        let text = s.text();
        assert!(text.contains("RESULT spread-open-500: PASS"), "{text}");
        assert!(text.contains("200=4900 400=99"), "{text}");
        assert!(!text.contains("WARNING"), "{text}");
        s.argon2_verifications_during_load = Some(3);
        assert!(
            s.text().contains("WARNING: transaksi ran 3 argon2"),
            "{}",
            s.text()
        );
        s.rate_achieved = Some(300.0);
        s.ok = false;
        s.failures = vec!["2 answers 5xx".into()];
        let text = s.text();
        assert!(text.contains("could not keep up"), "{text}");
        assert!(text.contains("FAIL\n  - 2 answers 5xx"), "{text}");
    }

    #[test]
    fn money_has_two_decimals() {
        assert_eq!(money(Decimal::new(5, 1)), "0.50");
        assert_eq!(money(Decimal::new(123_456, 2)), "1234.56");
        assert_eq!(money(Decimal::from(7)), "7.00");
    }
}
