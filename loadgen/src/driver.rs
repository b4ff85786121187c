//! The load: one task per connection, each sending deposits and withdrawals over its own
//! HTTP/1.1 keep-alive connection.
//!
//! * Closed loop: a connection sends its next request as soon as the previous one is
//!   answered. Latency is the service time.
//! * Open loop: operation `i` is meant to start at `t0 + i / rate`; whichever connection is
//!   free takes the next operation, waits for its intended start if that is still ahead, and
//!   sends it. Latency counts from the intended start, so time spent queued because every
//!   connection was busy is included (no coordinated omission); the service time (from the
//!   actual send) is kept too. When a connection had to wait for the intended start, the
//!   timer's wake-up slack (up to a millisecond) is not counted against the server.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::Full;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rust_decimal::Decimal;
use tokio::time::Instant;

use crate::cli::Target;
use crate::conn::{Connection, Endpoint, Outcome};
use crate::latency;
use crate::ledger::{Ledger, Posted};
use crate::ops::{self, Answer, Jenis, Op};
use crate::schedule::Schedule;
use crate::timeline::{Class, Timeline};

static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Closed loop: pause after a request that could not be sent (e.g. connection refused).
const NOT_SENT_PAUSE: Duration = Duration::from_millis(100);
/// Transport error messages kept for the report.
const KEPT_ERROR_MESSAGES: usize = 5;

/// An account as the hot path needs it: number and a ready `Authorization` header.
pub struct Driven {
    pub no_rekening: String,
    pub authorization: HeaderValue,
}

#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Closed,
    Open(Schedule),
}

#[derive(Clone, Copy, Debug)]
pub enum Stop {
    /// Load for `warmup`, then measure for `measured`.
    Timed {
        warmup: Duration,
        measured: Duration,
    },
    /// Exactly this many operations, all measured.
    TotalOps(u64),
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub mode: Mode,
    pub stop: Stop,
    pub connections: u32,
    pub target: Target,
    pub mix: ops::Mix,
    /// `Some(prefix)`: every posting carries the Idempotency-Key `prefix-connection-seq`.
    pub idempotency_prefix: Option<String>,
}

/// Answers and errors of one phase (warm-up or measured).
#[derive(Clone, Debug, Default)]
pub struct Counts {
    /// Operations attempted (every outcome).
    pub attempted: u64,
    /// Answers by HTTP status.
    pub status: BTreeMap<u16, u64>,
    pub posted: u64,
    /// `posted` by operation (`tabung`, `tarik`, `transfer`).
    pub posted_by_jenis: BTreeMap<&'static str, u64>,
    pub refused: u64,
    /// 4xx other than a refused withdrawal.
    pub rejected: u64,
    pub server_errors: u64,
    /// 200 answers that did not match the request.
    pub garbled: u64,
    /// No complete answer (connection refused, reset, timed out).
    pub transport_errors: u64,
}

impl Counts {
    pub fn absorb(&mut self, other: &Counts) {
        self.attempted += other.attempted;
        for (status, n) in &other.status {
            *self.status.entry(*status).or_default() += n;
        }
        self.posted += other.posted;
        for (jenis, n) in &other.posted_by_jenis {
            *self.posted_by_jenis.entry(jenis).or_default() += n;
        }
        self.refused += other.refused;
        self.rejected += other.rejected;
        self.server_errors += other.server_errors;
        self.garbled += other.garbled;
        self.transport_errors += other.transport_errors;
    }
}

/// What the load did.
pub struct LoadResult {
    pub warmup: Counts,
    pub measured: Counts,
    /// Closed loop: service time; open loop: from the intended start.
    pub latency: Histogram<u64>,
    /// Open loop only: from the actual send.
    pub service_time: Option<Histogram<u64>>,
    pub ledger: Ledger,
    /// Length of the measured phase (timed), or of the whole run (total ops).
    pub measured_duration: Duration,
    /// Open loop: operations scheduled but never sent because the pool was still busy when
    /// the run ended.
    pub missed: u64,
    pub error_samples: Vec<String>,
    /// The measured phase second by second (`--timeline`).
    pub timeline: Timeline,
    /// When the measured phase began (the timeline's second 0).
    pub measured_start: Instant,
}

struct Shared {
    plan: Plan,
    endpoint: Endpoint,
    accounts: Arc<[Driven]>,
    t0: Instant,
    measured_start: Instant,
    /// `None` with a total-ops stop.
    end: Option<Instant>,
    claimed: AtomicU64,
}

/// Runs the load to its end and gathers every connection's results.
pub async fn run(plan: Plan, endpoint: Endpoint, accounts: Arc<[Driven]>) -> LoadResult {
    // A moment for every task to start before the first intended send.
    let t0 = Instant::now() + Duration::from_millis(20);
    let (measured_start, end) = match plan.stop {
        Stop::Timed { warmup, measured } => (t0 + warmup, Some(t0 + warmup + measured)),
        Stop::TotalOps(_) => (t0, None),
    };
    let shared = Arc::new(Shared {
        plan: plan.clone(),
        endpoint,
        accounts,
        t0,
        measured_start,
        end,
        claimed: AtomicU64::new(0),
    });
    let tasks: Vec<_> = (0..plan.connections)
        .map(|id| tokio::spawn(connection_task(id, Arc::clone(&shared))))
        .collect();

    let mut result = LoadResult {
        warmup: Counts::default(),
        measured: Counts::default(),
        latency: latency::histogram(),
        service_time: matches!(plan.mode, Mode::Open(_)).then(latency::histogram),
        ledger: Ledger::default(),
        measured_duration: Duration::ZERO,
        missed: 0,
        error_samples: Vec::new(),
        timeline: Timeline::default(),
        measured_start,
    };
    for task in tasks {
        let done = match task.await {
            Ok(done) => done,
            // A panicking task is a bug in this tool: stop loudly.
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        };
        result.warmup.absorb(&done.warmup);
        result.measured.absorb(&done.measured);
        result.latency.add(&done.latency).ok();
        if let (Some(total), Some(part)) = (&mut result.service_time, &done.service_time) {
            total.add(part).ok();
        }
        result.ledger.absorb(done.ledger);
        result.timeline.absorb(&done.timeline);
        for message in done.error_samples {
            if result.error_samples.len() < KEPT_ERROR_MESSAGES {
                result.error_samples.push(message);
            }
        }
    }
    let finished = Instant::now();
    result.measured_duration = match plan.stop {
        Stop::Timed { measured, .. } => measured,
        Stop::TotalOps(_) => finished.saturating_duration_since(t0),
    };
    if let (Mode::Open(schedule), Stop::Timed { warmup, measured }) = (plan.mode, plan.stop) {
        let scheduled = schedule.count_before(warmup + measured);
        let attempted = result.warmup.attempted + result.measured.attempted;
        result.missed = scheduled.saturating_sub(attempted);
    }
    result
}

struct TaskResult {
    warmup: Counts,
    measured: Counts,
    latency: Histogram<u64>,
    service_time: Option<Histogram<u64>>,
    ledger: Ledger,
    error_samples: Vec<String>,
    timeline: Timeline,
}

async fn connection_task(id: u32, shared: Arc<Shared>) -> TaskResult {
    let plan = &shared.plan;
    let mut rng = SmallRng::from_rng(&mut rand::rng());
    let mut connection = Connection::new(shared.endpoint.clone());
    let mut result = TaskResult {
        warmup: Counts::default(),
        measured: Counts::default(),
        latency: latency::histogram(),
        service_time: matches!(plan.mode, Mode::Open(_)).then(latency::histogram),
        ledger: Ledger::default(),
        error_samples: Vec::new(),
        timeline: Timeline::default(),
    };
    let account_count = shared.accounts.len() as u32;
    let mut sequence: u64 = 0;
    tokio::time::sleep_until(shared.t0).await;
    // `intended`: when this operation counts from (open loop), which also decides whether it
    // belongs to the measured phase.
    while let Some(intended) = next_operation(&shared) {
        // Waiting for a future intended start: the timer's slack is ours, not the server's.
        let reference = match intended {
            Some(intended) if intended > Instant::now() => {
                tokio::time::sleep_until(intended).await;
                None
            }
            other => other,
        };

        let op = ops::draw(&mut rng, plan.target, account_count, plan.mix);
        let account = &shared.accounts[op.account as usize];
        let tujuan = op.tujuan.map(|t| &shared.accounts[t as usize]);
        let key = plan.idempotency_prefix.as_ref().and_then(|prefix| {
            sequence += 1;
            HeaderValue::from_str(&format!("{prefix}-{id}-{sequence}")).ok()
        });
        let request = match tujuan {
            Some(tujuan) => transfer_request(&shared.endpoint, account, tujuan, op, key),
            None => posting_request(&shared.endpoint, account, op, key),
        };

        let sent_at = Instant::now();
        let outcome = connection.send(request).await;
        let answered_at = Instant::now();

        let measured = intended.unwrap_or(sent_at) >= shared.measured_start;
        let elapsed = answered_at - reference.unwrap_or(sent_at);
        if measured {
            latency::record(&mut result.latency, elapsed);
            if let Some(service_time) = &mut result.service_time {
                latency::record(service_time, answered_at - sent_at);
            }
        }
        let (sent, class) = result.tally(measured, (account, tujuan), op, outcome);
        if measured {
            let since_start = answered_at.saturating_duration_since(shared.measured_start);
            result.timeline.record(since_start, class, elapsed);
        }
        if !sent && matches!(plan.mode, Mode::Closed) {
            // No server to talk to: do not spin (open loop is paced by its schedule).
            tokio::time::sleep(NOT_SENT_PAUSE).await;
        }
    }
    result
}

/// Whether the run has another operation for this connection: `None` when it is over, else its
/// intended start (`None` in closed loop, where an operation starts when the previous one is
/// answered).
fn next_operation(shared: &Shared) -> Option<Option<Instant>> {
    let plan = &shared.plan;
    match plan.mode {
        Mode::Closed => {
            let more = match (plan.stop, shared.end) {
                (Stop::TotalOps(n), _) => shared.claimed.fetch_add(1, Ordering::Relaxed) < n,
                (Stop::Timed { .. }, Some(end)) => Instant::now() < end,
                (Stop::Timed { .. }, None) => false,
            };
            more.then_some(None)
        }
        Mode::Open(schedule) => {
            let i = shared.claimed.fetch_add(1, Ordering::Relaxed);
            if let Stop::TotalOps(n) = plan.stop
                && i >= n
            {
                return None;
            }
            let intended = shared.t0 + schedule.offset(i);
            if let Some(end) = shared.end
                // Past the run's end, or (pool behind) still queued when it ended.
                && (intended >= end || Instant::now() >= end)
            {
                return None;
            }
            Some(Some(intended))
        }
    }
}

impl TaskResult {
    /// Counts one operation's outcome in its phase (`measured` or the warm-up) and in the
    /// ledger; whether the request was sent at all, and how it ended.
    fn tally(
        &mut self,
        measured: bool,
        (account, tujuan): (&Driven, Option<&Driven>),
        op: Op,
        outcome: Outcome,
    ) -> (bool, Class) {
        let counts = if measured {
            &mut self.measured
        } else {
            &mut self.warmup
        };
        counts.attempted += 1;
        let (status, body) = match outcome {
            Outcome::Answered { status, body } => (status, body),
            Outcome::NotSent(error) => {
                counts.transport_errors += 1;
                keep(&mut self.error_samples, || format!("not sent: {error:#}"));
                return (false, Class::Error);
            }
            Outcome::Unknown(error) => {
                counts.transport_errors += 1;
                self.ledger
                    .unknown
                    .extend([op.account].into_iter().chain(op.tujuan));
                keep(&mut self.error_samples, || {
                    format!("outcome unknown: {error:#}")
                });
                return (true, Class::Error);
            }
        };
        *counts.status.entry(status.as_u16()).or_default() += 1;
        let tujuan_no = tujuan.map(|t| t.no_rekening.as_str());
        match ops::classify(&account.no_rekening, tujuan_no, op, status, &body) {
            Answer::Posted { saldo, biaya } => {
                counts.posted += 1;
                *counts.posted_by_jenis.entry(op.label()).or_default() += 1;
                self.ledger.posted.extend(posted(op, saldo, biaya));
                return (true, Class::Ok);
            }
            Answer::Refused => {
                counts.refused += 1;
                return (true, Class::Refused);
            }
            Answer::Rejected => {
                counts.rejected += 1;
                keep(&mut self.error_samples, || {
                    format!("{} answered {status}: {}", op.path(), lossy(&body))
                });
            }
            Answer::ServerError => {
                counts.server_errors += 1;
                keep(&mut self.error_samples, || {
                    format!("{} answered {status}: {}", op.path(), lossy(&body))
                });
            }
            Answer::Garbled => {
                counts.garbled += 1;
                self.ledger
                    .unknown
                    .extend([op.account].into_iter().chain(op.tujuan));
                keep(&mut self.error_samples, || {
                    format!("unexpected 200 answer to {op:?}: {}", lossy(&body))
                });
            }
        }
        // Rejected, a server error, or garbled.
        (true, Class::Error)
    }
}

/// A ready `/tabung` or `/tarik` request: every header but the key is prepared in advance.
pub fn posting_request(
    endpoint: &Endpoint,
    account: &Driven,
    op: Op,
    idempotency_key: Option<HeaderValue>,
) -> Request<Full<Bytes>> {
    let mut request = Request::new(Full::new(ops::posting_body(
        &account.no_rekening,
        op.nominal_cents,
    )));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = Uri::from_static(op.jenis.path());
    let headers = request.headers_mut();
    headers.insert(HOST, endpoint.authority.clone());
    headers.insert(AUTHORIZATION, account.authorization.clone());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(key) = idempotency_key {
        headers.insert(IDEMPOTENCY_KEY.clone(), key);
    }
    request
}

/// What a posted operation did to each account: its own side (a transfer's source paid the
/// amount and the fee), and a transfer's destination (credited the amount, its saldo unseen).
fn posted(op: Op, saldo: Decimal, biaya: Decimal) -> impl Iterator<Item = Posted> {
    let own = Posted {
        account: op.account,
        jenis: op.jenis,
        nominal: op.nominal() + biaya,
        saldo: Some(saldo),
    };
    let destination = op.tujuan.map(|tujuan| Posted {
        account: tujuan,
        jenis: Jenis::Tabung,
        nominal: op.nominal(),
        saldo: None,
    });
    std::iter::once(own).chain(destination)
}

/// A ready `/transfer` request from `account` to `tujuan`.
pub fn transfer_request(
    endpoint: &Endpoint,
    account: &Driven,
    tujuan: &Driven,
    op: Op,
    idempotency_key: Option<HeaderValue>,
) -> Request<Full<Bytes>> {
    let mut request = posting_request(endpoint, account, op, idempotency_key);
    *request.body_mut() = Full::new(ops::transfer_body(
        &account.no_rekening,
        &tujuan.no_rekening,
        op.nominal_cents,
    ));
    *request.uri_mut() = Uri::from_static("/transfer");
    request
}

fn keep(samples: &mut Vec<String>, message: impl FnOnce() -> String) {
    if samples.len() < KEPT_ERROR_MESSAGES {
        samples.push(message());
    }
}

pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned()
}
