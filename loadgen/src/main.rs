//! `loadgen`: the load generator of bukubesar.
//!
//! ```text
//! loadgen run --transaksi http://127.0.0.1:8080 --mutasi http://127.0.0.1:8081 \
//!     --accounts 1000 --target spread --connections 64 --duration-secs 30 --json out.json
//! loadgen run --target hot --accounts 1 --rate 2000 --duration-secs 20      # open loop
//! loadgen run --total-ops 200000 --statement-timeout-secs 0                 # mutasi stopped
//! ```
//!
//! A run goes:
//!
//! 1. **Accounts**: registers `--accounts` customers four at a time (argon2 is the server's
//!    bottleneck) with NIK and phone numbers unique to the run, or reuses the
//!    `--accounts-file` when it holds enough accounts that still authenticate. Unless the
//!    statement check is skipped, one more account is registered as the probe.
//! 2. **Start snapshot**: one `GET /saldo` per account (bounded concurrency). It also puts
//!    every credential in transaksi's cache, so the load measures postings, not argon2.
//! 3. **Funding**: every account below `--funding` gets one deposit up to it.
//! 4. **Load**: `--connections` HTTP/1.1 keep-alive connections (hyper, one task each) post
//!    transfers to another account of the run (`--transfer-percent`), withdrawals
//!    (`--tarik-percent` of the rest) and deposits of 1.00 to 1000.00, on one account
//!    (`hot`) or spread uniformly. Closed loop by default; open loop with `--rate`, where
//!    latency counts from each operation's intended start (no coordinated omission) and the
//!    service time is reported as well. `--warmup-secs` of unmeasured load come first, then
//!    `--duration-secs` measured; or exactly `--total-ops` operations, all measured. During
//!    the measured phase a probe deposits 0.01 into its account every ~100 ms and polls
//!    mutasi every millisecond for the new line: the commit-to-statement delay.
//! 5. **Money check**: every balance is read again; each must equal its start snapshot plus
//!    the deposits minus the withdrawals answered 200, minus each transfer out's amount and
//!    fee (`biaya`, as answered), plus each transfer in. An operation without a complete
//!    answer makes the check inconclusive, which fails it.
//! 6. **Statement check** (unless `--statement-timeout-secs 0`): for each account with posted
//!    operations, mutasi's newest lines must be exactly those operations (kind, amount and
//!    the saldo answered; a transfer in by kind and amount: its saldo is never answered to
//!    the client), the line before them must carry the start balance, and each
//!    line's saldo must follow from the one before. Statements are re-read until they match
//!    or mutasi had `--statement-timeout-secs` after the load to catch up.
//!
//! The summary goes to stdout (progress to stderr), and as JSON to `--json`:
//!
//! | field | meaning |
//! |---|---|
//! | `label`, `mode` (`closed`/`open`), `target`, `accounts`, `connections` | the run |
//! | `rate_asked`, `rate_achieved`, `ops_missed` | open loop (else `null`): operations/s asked and sent, scheduled operations never sent |
//! | `duration_s` | the measured phase (with `--total-ops`: the whole load) |
//! | `ops_ok`, `ops_refused`, `throughput_ops_s` | measured phase: 200 answers, refused withdrawals and transfers, (ok + refused) / `duration_s` |
//! | `ops_ok_by_jenis`, `throughput_by_jenis_ops_s` | measured phase: 200 answers by operation (`tabung`, `tarik`, `transfer`), and each per second |
//! | `status_counts` (`{"200": n, …}`), `transport_errors` | measured phase; `warmup` holds the same for the warm-up |
//! | `latency_ms`, `service_time_ms` | `{p50, p90, p99, p999, max}`; open loop: from the intended start, and from the actual send (`service_time_ms` is `null` in closed loop) |
//! | `money_ok`, `expected_total`, `actual_total` (exact decimal strings; `actual_total` is `null` when the balances could not be read), `money_mismatched_accounts`, `money_inconclusive_accounts` | the money check |
//! | `argon2_verifications_during_load` | PIN verifications transaksi ran during the load (from its `/metrics` on `--transaksi-metrics`; `null` if unreadable): credential-cache misses, which make postings look slow |
//! | `statement_ok`, `statement_rows_expected`, `statement_rows_found`, `statement_accounts_checked`, `statement_accounts_failed` | the statement check (`null` when skipped) |
//! | `statement_delay_ms` (`{p50, p99, max}`), `probe` | commit-to-statement delay (`null` when skipped) |
//! | `ok`, `failures` | the verdict and its reasons |
//!
//! With `--timeline FILE`, the measured phase second by second as CSV (each connection task
//! counts into its own per-second buckets, merged when the load is over):
//!
//! | column | meaning |
//! |---|---|
//! | `second`, `unix_time` | seconds since the measured phase began; that second's start in seconds since the Unix epoch (to line it up with other samples) |
//! | `ok`, `refused`, `errors` | operations answered in that second: 200, refused for lack of funds, anything else (5xx, transport errors, unexpected answers) |
//! | `latency_max_ms` | the longest latency of those operations (open loop: from the intended start) |
//! | `probe_delays`, `probe_delay_p50_ms`, `probe_delay_max_ms` | the probe's deposits committed in that second and seen in the statement: how many, and their commit-to-statement delay (empty when none) |
//!
//! When the run stops early (e.g. registration or a balance read of the start snapshot
//! fails), the JSON file holds only `label`, `ok: false`, `money_ok: false` and `failures`.
//!
//! Exit status 0
//! only when the money check and the statement check (or its skip) pass and there were no
//! 5xx answers, no transport errors and no unexpected answers (4xx other than "saldo tidak
//! cukup", 200 answers that do not match the request); otherwise 1, with the reasons.

mod api;
mod cli;
mod conn;
mod driver;
mod latency;
mod ledger;
mod ops;
mod probe;
mod report;
mod schedule;
mod setup;
mod statement;
mod timeline;
mod verify;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use clap::Parser;
use hyper::header::HeaderValue;
use rust_decimal::Decimal;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::api::{Account, Api};
use crate::cli::{Cli, Command, RunArgs};
use crate::conn::Endpoint;
use crate::driver::{Counts, Driven, LoadResult, Mode, Plan, Stop};
use crate::latency::{DelayPercentiles, Percentiles};
use crate::ledger::{Ledger, MoneyCheck};
use crate::probe::{Probe, ProbeResult};
use crate::report::{PhaseSummary, ProbeSummary, Summary};
use crate::schedule::Schedule;
use crate::verify::StatementReport;

/// transaksi's default `--auth-cache-ttl-secs`: a credential verified longer ago than this
/// costs an argon2 verification again.
const SERVER_CACHE_TTL: Duration = Duration::from_secs(300);

fn main() -> ExitCode {
    let Command::Run(args) = Cli::parse().command;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("loadgen: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let (json, label) = (args.json.clone(), args.label());
    match runtime.block_on(run(args)) {
        Ok(summary) if summary.ok => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            let error = format!("{error:#}");
            eprintln!("loadgen: FAIL: {error}");
            // Scripts reading --json find a verdict rather than nothing.
            if let Some(path) = json {
                let verdict = serde_json::json!({
                    "label": label,
                    "ok": false,
                    "money_ok": false,
                    "failures": [error],
                });
                if let Err(write) = std::fs::write(&path, format!("{verdict:#}\n")) {
                    eprintln!("loadgen: cannot write {}: {write}", path.display());
                }
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(args: RunArgs) -> anyhow::Result<Summary> {
    let transaksi = Endpoint::parse(&args.transaksi).context("--transaksi")?;
    let mutasi = Endpoint::parse(&args.mutasi).context("--mutasi")?;
    let metrics = Endpoint::parse(&args.transaksi_metrics).context("--transaksi-metrics")?;
    let api = Api::new(&transaksi.base_url, &mutasi.base_url, &metrics.base_url)?;
    let stamp = setup::run_stamp();
    let load_accounts = args.accounts as usize;

    // 1. and 2. Accounts (the probe last) and the start snapshot.
    let (accounts, start) = prepare(&api, &args, stamp).await?;

    // 3. Funding.
    let mut ledger = Ledger {
        posted: setup::fund(
            &api,
            &accounts[..load_accounts],
            &start[..load_accounts],
            args.funding,
            stamp,
        )
        .await?,
        unknown: Vec::new(),
    };

    // 4. Load, with the probe alongside.
    let measured = measure(&api, &args, stamp, (&transaksi, &mutasi), &accounts).await?;
    ledger.absorb(measured.ledger);

    // 5. Money check.
    let (money, expected_total) = check_money(&api, &accounts, &start, &ledger).await;

    // 6. Statement check.
    let statements = if statements_on(&args) {
        let checked_until = measured.load_ended + Duration::from_secs(args.statement_timeout_secs);
        let report = verify::statements(&api, &accounts, &start, &ledger, checked_until).await;
        for failure in &report.failures {
            eprintln!("  statement: {failure}");
        }
        Some(report)
    } else {
        None
    };

    let summary = summarize(
        &args,
        &measured.load,
        measured.probe.as_ref(),
        (expected_total, &money),
        statements.as_ref(),
        measured.argon2_during_load,
    );
    print!("{}", summary.text());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&summary).context("encoding the summary")?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("writing the summary to {}", path.display()))?;
    }
    if let Some(path) = &args.timeline {
        let probe_delays = measured.probe.as_ref().map_or(&[][..], |p| &p.seen_at[..]);
        timeline::write(
            path,
            &measured.load.timeline,
            measured.load.measured_start,
            probe_delays,
        )?;
    }
    Ok(summary)
}

/// Whether the run checks statements (and runs the probe): `--statement-timeout-secs` > 0.
fn statements_on(args: &RunArgs) -> bool {
    args.statement_timeout_secs > 0
}

/// Steps 1 and 2: the accounts (with the probe's last when statements are checked) and their
/// balances at the start, which also fills transaksi's credential cache.
async fn prepare(
    api: &Api,
    args: &RunArgs,
    stamp: u64,
) -> anyhow::Result<(Vec<Account>, Vec<Decimal>)> {
    let mut accounts =
        setup::accounts(api, args.accounts, args.accounts_file.as_deref(), stamp).await?;
    let probe_index = args.accounts;
    if statements_on(args) {
        let probe = setup::register_one(api, stamp, probe_index)
            .await
            .context("registering the probe account")?;
        accounts.push(probe);
    }
    let snapshot_started = Instant::now();
    let start = setup::balances(api, &accounts, "start snapshot").await?;
    let load_would_end = snapshot_started.elapsed()
        + match args.total_ops {
            Some(_) => Duration::ZERO,
            None => Duration::from_secs(args.warmup_secs + args.duration_secs),
        };
    if load_would_end > SERVER_CACHE_TTL {
        eprintln!(
            "WARNING: the start snapshot took {:.0} s; with transaksi's default credential-cache TTL of {} s the first accounts' entries expire before the load ends, and their argon2 verifications will be measured (raise transaksi's --auth-cache-ttl-secs, or use fewer accounts; the summary counts them)",
            snapshot_started.elapsed().as_secs_f64(),
            SERVER_CACHE_TTL.as_secs()
        );
    }
    if statements_on(args) {
        // The probe's first statement read runs argon2 in mutasi: not during the measurement.
        api.mutasi_page(&accounts[probe_index as usize], 1, None)
            .await
            .context("first statement read of the probe account")?;
    }
    Ok((accounts, start))
}

/// What step 4 measured.
struct Measured {
    load: LoadResult,
    probe: Option<ProbeResult>,
    /// Every operation answered (or not) during the load and by the probe.
    ledger: Ledger,
    argon2_during_load: Option<u64>,
    load_ended: Instant,
}

/// Step 4: the load on the accounts (all but the probe's), and the probe alongside when
/// statements are checked.
async fn measure(
    api: &Api,
    args: &RunArgs,
    stamp: u64,
    (transaksi, mutasi): (&Endpoint, &Endpoint),
    accounts: &[Account],
) -> anyhow::Result<Measured> {
    let load_targets: Arc<[Driven]> = accounts[..args.accounts as usize]
        .iter()
        .map(driven)
        .collect::<anyhow::Result<Vec<_>>>()?
        .into();
    let plan = plan(args, stamp);
    eprintln!("{}", describe(args));
    let verifications_before = api.argon2_verifications().await;
    let (stop_probe, probe_stopped) = watch::channel(false);
    let probe_task = if statements_on(args) {
        let probe = Probe {
            transaksi: transaksi.clone(),
            mutasi: mutasi.clone(),
            account: driven(&accounts[args.accounts as usize])?,
            index: args.accounts,
            start_after: match plan.stop {
                Stop::Timed { warmup, .. } => warmup,
                Stop::TotalOps(_) => Duration::ZERO,
            },
            visible_within: Duration::from_secs(args.statement_timeout_secs),
        };
        Some(tokio::spawn(probe::run(probe, probe_stopped)))
    } else {
        None
    };
    let mut load = driver::run(plan, transaksi.clone(), load_targets).await;
    let load_ended = Instant::now();
    let argon2_during_load = verifications_before
        .zip(api.argon2_verifications().await)
        .map(|(before, after)| after.saturating_sub(before));
    let _ = stop_probe.send(true);
    let mut probe = match probe_task {
        Some(task) => Some(task.await.context("the probe task")?),
        None => None,
    };
    let mut ledger = std::mem::take(&mut load.ledger);
    if let Some(probe) = &mut probe {
        ledger.absorb(std::mem::take(&mut probe.ledger));
    }
    for sample in load
        .error_samples
        .iter()
        .chain(probe.iter().flat_map(|p| &p.error_samples))
    {
        eprintln!("  error: {sample}");
    }
    Ok(Measured {
        load,
        probe,
        ledger,
        argon2_during_load,
        load_ended,
    })
}

fn plan(args: &RunArgs, stamp: u64) -> Plan {
    Plan {
        mode: match args.rate {
            Some(rate) => Mode::Open(Schedule::new(rate)),
            None => Mode::Closed,
        },
        stop: match args.total_ops {
            Some(n) => Stop::TotalOps(n),
            None => Stop::Timed {
                warmup: Duration::from_secs(args.warmup_secs),
                measured: Duration::from_secs(args.duration_secs),
            },
        },
        connections: args.connections,
        target: args.target,
        mix: crate::ops::Mix {
            transfer_percent: args.transfer_percent,
            tarik_percent: args.tarik_percent,
        },
        idempotency_prefix: args.idempotency_keys.then(|| format!("loadgen-{stamp}")),
    }
}

/// Step 5: every balance again against the start plus what was answered. A balance that cannot
/// be read fails the check, but the load's results are still reported. Also the expected total.
async fn check_money(
    api: &Api,
    accounts: &[Account],
    start: &[Decimal],
    ledger: &Ledger,
) -> (Result<MoneyCheck, String>, Decimal) {
    let money = match setup::balances(api, accounts, "money check").await {
        Ok(end) => Ok(ledger::money_check(
            start,
            &end,
            &ledger.posted,
            &ledger.unknown,
        )),
        Err(error) => Err(format!("{error:#}")),
    };
    if let Ok(money) = &money {
        for mismatch in money.mismatches.iter().take(5) {
            eprintln!(
                "  money: account {} expected {} but holds {}",
                accounts[mismatch.account as usize].no_rekening, mismatch.expected, mismatch.actual
            );
        }
    }
    let expected_total: Decimal = ledger::expected_balances(start, &ledger.posted)
        .iter()
        .sum();
    (money, expected_total)
}

/// The hot path's view of an account: its number and `Authorization` header.
fn driven(account: &Account) -> anyhow::Result<Driven> {
    let credentials = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", account.no_rekening, account.pin));
    Ok(Driven {
        no_rekening: account.no_rekening.clone(),
        authorization: HeaderValue::from_str(&format!("Basic {credentials}"))
            .context("an Authorization header")?,
    })
}

fn describe(args: &RunArgs) -> String {
    let loop_kind = match args.rate {
        Some(rate) => format!("open loop at {rate} ops/s"),
        None => "closed loop".into(),
    };
    let length = match args.total_ops {
        Some(n) => format!("{n} operations"),
        None => format!(
            "{} s warm-up + {} s measured",
            args.warmup_secs, args.duration_secs
        ),
    };
    format!(
        "load: {loop_kind}, {} connections, target {}, {}% transfers, {}% of the rest \
         withdrawals, {length} ...",
        args.connections,
        args.target.name(),
        args.transfer_percent,
        args.tarik_percent
    )
}

fn summarize(
    args: &RunArgs,
    load: &LoadResult,
    probe: Option<&ProbeResult>,
    (expected_total, money): (Decimal, &Result<MoneyCheck, String>),
    statements: Option<&StatementReport>,
    argon2_during_load: Option<u64>,
) -> Summary {
    let measured = &load.measured;
    let warmup = &load.warmup;
    let duration_s = load.measured_duration.as_secs_f64();
    let open = args.rate.is_some();
    let failures = failures(load, probe, money, statements);
    let rate_achieved = open.then(|| report::throughput(measured.attempted, duration_s));
    Summary {
        label: args.label(),
        mode: if open { "open" } else { "closed" },
        target: args.target.name(),
        accounts: args.accounts,
        connections: args.connections,
        rate_asked: args.rate,
        rate_achieved,
        ops_missed: open.then_some(load.missed),
        duration_s,
        ops_ok: measured.posted,
        ops_refused: measured.refused,
        throughput_ops_s: report::throughput(measured.posted + measured.refused, duration_s),
        ops_ok_by_jenis: by_jenis(measured, |n| n),
        throughput_by_jenis_ops_s: by_jenis(measured, |n| report::throughput(n, duration_s)),
        status_counts: report::status_counts(&measured.status),
        transport_errors: measured.transport_errors,
        latency_ms: Percentiles::of(&load.latency),
        service_time_ms: load.service_time.as_ref().and_then(Percentiles::of),
        warmup: PhaseSummary {
            duration_s: match args.total_ops {
                Some(_) => 0.0,
                None => args.warmup_secs as f64,
            },
            ops: warmup.attempted,
            status_counts: report::status_counts(&warmup.status),
            transport_errors: warmup.transport_errors,
        },
        money_ok: money.as_ref().is_ok_and(MoneyCheck::ok),
        expected_total: report::money(expected_total),
        actual_total: money.as_ref().ok().map(|m| report::money(m.actual_total)),
        money_mismatched_accounts: money.as_ref().map_or(0, |m| m.mismatches.len()),
        money_inconclusive_accounts: money.as_ref().map_or(0, |m| m.inconclusive_accounts),
        argon2_verifications_during_load: argon2_during_load,
        statement_ok: statements.map(StatementReport::ok),
        statement_rows_expected: statements.map(|s| s.rows_expected),
        statement_rows_found: statements.map(|s| s.rows_found),
        statement_accounts_checked: statements.map(|s| s.accounts_checked),
        statement_accounts_failed: statements.map(|s| s.accounts_failed),
        statement_delay_ms: probe.and_then(|p| DelayPercentiles::of(&p.delay)),
        probe: probe.map(|p| ProbeSummary {
            probes: p.probes,
            seen: p.seen,
            not_seen: p.not_seen,
            polls: p.polls,
            errors: p.errors,
        }),
        ok: failures.is_empty(),
        failures,
    }
}

/// Each kind's committed operations of a phase, mapped by `f`.
fn by_jenis<T>(counts: &Counts, f: impl Fn(u64) -> T) -> std::collections::BTreeMap<String, T> {
    counts
        .posted_by_jenis
        .iter()
        .map(|(jenis, n)| (jenis.to_string(), f(*n)))
        .collect()
}

/// Why the run fails: the money check, the statement check, and any answer that should not
/// have come (5xx, transport errors, unexpected answers, probe errors).
fn failures(
    load: &LoadResult,
    probe: Option<&ProbeResult>,
    money: &Result<MoneyCheck, String>,
    statements: Option<&StatementReport>,
) -> Vec<String> {
    let (measured, warmup) = (&load.measured, &load.warmup);
    let mut failures = money_failures(money);
    if let Some(s) = statements
        && !s.ok()
    {
        failures.push(format!(
            "statement check: {} of {} accounts do not match ({} of {} rows found{})",
            s.accounts_failed,
            s.accounts_checked,
            s.rows_found,
            s.rows_expected,
            if s.accounts_skipped > 0 {
                format!(", {} accounts not checkable", s.accounts_skipped)
            } else {
                String::new()
            }
        ));
    }
    let server_errors = warmup.server_errors + measured.server_errors;
    if server_errors > 0 {
        failures.push(format!("{server_errors} answers 5xx"));
    }
    let transport_errors = warmup.transport_errors + measured.transport_errors;
    if transport_errors > 0 {
        failures.push(format!("{transport_errors} transport errors"));
    }
    let unexpected = warmup.rejected + measured.rejected + warmup.garbled + measured.garbled;
    if unexpected > 0 {
        failures.push(format!(
            "{unexpected} unexpected answers (4xx other than saldo tidak cukup, or a 200 that does not match the request)"
        ));
    }
    if let Some(p) = probe
        && p.errors > 0
    {
        failures.push(format!(
            "{} probe errors (5xx, transport or unexpected answers)",
            p.errors
        ));
    }
    failures
}

fn money_failures(money: &Result<MoneyCheck, String>) -> Vec<String> {
    let money = match money {
        Err(error) => return vec![format!("money check: cannot read the balances: {error}")],
        Ok(money) => money,
    };
    let mut failures = Vec::new();
    if !money.mismatches.is_empty() || money.expected_total != money.actual_total {
        failures.push(format!(
            "money check: {} accounts do not hold what the answers said (expected total {}, actual {})",
            money.mismatches.len(),
            report::money(money.expected_total),
            report::money(money.actual_total)
        ));
    }
    if money.inconclusive_accounts > 0 {
        failures.push(format!(
            "money check inconclusive: {} accounts had an operation of unknown outcome",
            money.inconclusive_accounts
        ));
    }
    if money.stray_operations > 0 {
        failures.push(format!(
            "money check: {} operations on unknown account indices (a loadgen bug)",
            money.stray_operations
        ));
    }
    failures
}
