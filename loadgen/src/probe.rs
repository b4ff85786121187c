//! Commit-to-statement delay: during the measured phase, about every 100 ms, deposit 0.01 into
//! a dedicated probe account and poll its newest statement line every millisecond until the
//! deposit shows up; the delay is from the 200 answer to the poll that first shows it. The
//! probe account only ever receives deposits, so its balance identifies each one.

use std::time::Duration;

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::Full;
use hyper::header::{AUTHORIZATION, HOST};
use hyper::{Method, Request, StatusCode, Uri};
use rust_decimal::Decimal;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::api::parse_mutasi_page;
use crate::conn::{Connection, Endpoint, Outcome};
use crate::driver::{Driven, lossy, posting_request};
use crate::latency;
use crate::ledger::{Ledger, Posted};
use crate::ops::{self, Answer, Jenis, Op};

/// Time between probe deposits.
const PROBE_EVERY: Duration = Duration::from_millis(100);
/// Time between statement polls.
const POLL_EVERY: Duration = Duration::from_millis(1);
/// The probe deposit: 0.01.
const PROBE_NOMINAL_CENTS: i64 = 1;
const KEPT_ERROR_MESSAGES: usize = 5;

pub struct ProbeResult {
    /// Commit (200 received) to statement line visible, microseconds.
    pub delay: Histogram<u64>,
    /// Each seen deposit's commit (200 received) and its delay, for `--timeline`.
    pub seen_at: Vec<(Instant, Duration)>,
    /// Deposits answered 200.
    pub probes: u64,
    /// Of those, seen in the statement within the time limit.
    pub seen: u64,
    /// Of those, not seen within the time limit.
    pub not_seen: u64,
    /// Statement reads (mutasi answers one every millisecond or so while a probe waits).
    pub polls: u64,
    /// 5xx and transport errors, of deposits and polls alike.
    pub errors: u64,
    pub ledger: Ledger,
    pub error_samples: Vec<String>,
}

pub struct Probe {
    pub transaksi: Endpoint,
    pub mutasi: Endpoint,
    pub account: Driven,
    /// Index of the probe account in the run's account list.
    pub index: u32,
    /// Wait this long before the first probe (the warm-up).
    pub start_after: Duration,
    /// Longest wait for one deposit to appear in the statement.
    pub visible_within: Duration,
}

/// Probes until `stop` turns true (the probe in flight is finished first).
pub async fn run(probe: Probe, mut stop: watch::Receiver<bool>) -> ProbeResult {
    let mut result = ProbeResult {
        delay: latency::histogram(),
        seen_at: Vec::new(),
        probes: 0,
        seen: 0,
        not_seen: 0,
        polls: 0,
        errors: 0,
        ledger: Ledger::default(),
        error_samples: Vec::new(),
    };
    let newest_line_uri =
        match Uri::try_from(format!("/mutasi/{}?limit=1", probe.account.no_rekening)) {
            Ok(uri) => uri,
            Err(error) => {
                result.errors += 1;
                result.error_samples.push(format!("probe URI: {error}"));
                return result;
            }
        };
    let mut prober = Prober {
        transaksi: Connection::new(probe.transaksi.clone()),
        mutasi: Connection::new(probe.mutasi.clone()),
        newest_line_uri,
        probe,
        result,
    };
    let mut next = Instant::now() + prober.probe.start_after;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = stop.wait_for(|stop| *stop) => break,
        }
        if *stop.borrow() {
            break;
        }
        next += PROBE_EVERY;
        if let Some(saldo) = prober.deposit().await {
            prober.await_line(saldo).await;
        }
        // Behind (a slow statement): start the next probe now rather than in a burst.
        next = next.max(Instant::now());
    }
    prober.result
}

/// One probe's connections and what it found so far.
struct Prober {
    transaksi: Connection,
    mutasi: Connection,
    newest_line_uri: Uri,
    probe: Probe,
    result: ProbeResult,
}

impl Prober {
    fn op(&self) -> Op {
        Op {
            account: self.probe.index,
            jenis: Jenis::Tabung,
            nominal_cents: PROBE_NOMINAL_CENTS,
            tujuan: None,
        }
    }

    /// Deposits 0.01; the balance answered, or `None` (counted, and kept as an error sample)
    /// when the deposit was not answered with a matching 200.
    async fn deposit(&mut self) -> Option<Decimal> {
        let (op, probe) = (self.op(), &self.probe);
        let request = posting_request(&probe.transaksi, &probe.account, op, None);
        let result = &mut self.result;
        let saldo = match self.transaksi.send(request).await {
            Outcome::Answered { status, body } => {
                match ops::classify(&probe.account.no_rekening, None, op, status, &body) {
                    Answer::Posted { saldo, .. } => saldo,
                    Answer::Garbled => {
                        result.ledger.unknown.push(probe.index);
                        error(result, format!("probe deposit: 200 {}", lossy(&body)));
                        return None;
                    }
                    _ => {
                        error(result, format!("probe deposit: {status} {}", lossy(&body)));
                        return None;
                    }
                }
            }
            Outcome::NotSent(e) => {
                error(result, format!("probe deposit not sent: {e:#}"));
                return None;
            }
            Outcome::Unknown(e) => {
                result.ledger.unknown.push(probe.index);
                error(result, format!("probe deposit outcome unknown: {e:#}"));
                return None;
            }
        };
        result.probes += 1;
        result.ledger.posted.push(Posted {
            account: probe.index,
            jenis: Jenis::Tabung,
            nominal: op.nominal(),
            saldo: Some(saldo),
        });
        Some(saldo)
    }

    /// Polls the newest statement line until it carries `saldo` (the delay is recorded) or
    /// `visible_within` has passed since the deposit was answered.
    async fn await_line(&mut self, saldo: Decimal) {
        let committed = Instant::now();
        loop {
            let mut request = Request::new(Full::new(Bytes::new()));
            *request.method_mut() = Method::GET;
            *request.uri_mut() = self.newest_line_uri.clone();
            request
                .headers_mut()
                .insert(HOST, self.probe.mutasi.authority.clone());
            request
                .headers_mut()
                .insert(AUTHORIZATION, self.probe.account.authorization.clone());
            let result = &mut self.result;
            result.polls += 1;
            match self.mutasi.send(request).await {
                Outcome::Answered { status, body } if status == StatusCode::OK => {
                    match parse_mutasi_page(&body) {
                        Ok(page) if page.lines.first().is_some_and(|l| l.saldo == saldo) => {
                            let delay = committed.elapsed();
                            latency::record(&mut result.delay, delay);
                            result.seen_at.push((committed, delay));
                            result.seen += 1;
                            return;
                        }
                        Ok(_) => {}
                        Err(e) => error(result, format!("probe poll: {e:#}")),
                    }
                }
                Outcome::Answered { status, body } => {
                    error(result, format!("probe poll: {status} {}", lossy(&body)));
                }
                Outcome::NotSent(e) | Outcome::Unknown(e) => {
                    error(result, format!("probe poll: {e:#}"));
                }
            }
            if committed.elapsed() >= self.probe.visible_within {
                result.not_seen += 1;
                return;
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }
}

fn error(result: &mut ProbeResult, message: String) {
    result.errors += 1;
    if result.error_samples.len() < KEPT_ERROR_MESSAGES {
        result.error_samples.push(message);
    }
}
