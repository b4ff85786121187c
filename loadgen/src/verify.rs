//! After the load: the statement check against mutasi (the money check's arithmetic is in
//! `ledger`, its balance reads in `setup::balances`).
//!
//! mutasi is fed asynchronously, so each account's statement is re-read (every 250 ms) until
//! it matches or the deadline (end of the load + --statement-timeout-secs) has passed; an
//! account first checked after the deadline gets one read. Only accounts with at least one
//! posted operation are checked, and not those with an operation of unknown outcome (their
//! expected lines are not known; the money check already fails them).

use std::time::Duration;

use futures::StreamExt;
use rust_decimal::Decimal;
use tokio::time::Instant;

use crate::api::{Account, Api};
use crate::ledger::Ledger;
use crate::ops::Jenis;
use crate::statement::{self, Line, Verdict};

/// mutasi's largest page.
const MAX_PAGE_LINES: usize = 1000;
/// Statements read at once (the first read of an account runs argon2 in mutasi).
const STATEMENT_CONCURRENCY: usize = 8;
/// Pause between reads of a statement that does not match yet.
const RETRY_EVERY: Duration = Duration::from_millis(250);
/// Failing accounts described in the report.
const KEPT_FAILURES: usize = 5;
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub struct StatementReport {
    pub accounts_checked: usize,
    pub accounts_failed: usize,
    /// Accounts left out because an operation's outcome is unknown.
    pub accounts_skipped: usize,
    pub rows_expected: usize,
    pub rows_found: usize,
    /// `no_rekening: problems` of the first failing accounts.
    pub failures: Vec<String>,
}

impl StatementReport {
    pub fn ok(&self) -> bool {
        self.accounts_failed == 0 && self.accounts_skipped == 0
    }
}

/// The posted lines of each account, indexed like `accounts`: those with an answered saldo,
/// and the transfers in (kind and amount).
pub struct ExpectedLines {
    pub lines: Vec<Line>,
    pub credits: Vec<(Jenis, Decimal)>,
}

impl ExpectedLines {
    fn len(&self) -> usize {
        self.lines.len() + self.credits.len()
    }
}

pub fn expected_lines(account_count: usize, ledger: &Ledger) -> Vec<ExpectedLines> {
    let mut expected: Vec<ExpectedLines> = (0..account_count)
        .map(|_| ExpectedLines {
            lines: Vec::new(),
            credits: Vec::new(),
        })
        .collect();
    for p in &ledger.posted {
        if let Some(account) = expected.get_mut(p.account as usize) {
            match p.saldo {
                Some(saldo) => account.lines.push(Line {
                    jenis: p.jenis,
                    nominal: p.nominal,
                    saldo,
                }),
                None => account.credits.push((p.jenis, p.nominal)),
            }
        }
    }
    expected
}

pub async fn statements(
    api: &Api,
    accounts: &[Account],
    start: &[Decimal],
    ledger: &Ledger,
    deadline: Instant,
) -> StatementReport {
    let expected = expected_lines(accounts.len(), ledger);
    let mut unknown = vec![false; accounts.len()];
    for &i in &ledger.unknown {
        if let Some(flag) = unknown.get_mut(i as usize) {
            *flag = true;
        }
    }
    let mut report = StatementReport {
        accounts_skipped: unknown.iter().filter(|u| **u).count(),
        ..StatementReport::default()
    };
    let touched: Vec<usize> = (0..accounts.len())
        .filter(|&i| expected[i].len() > 0 && !unknown[i])
        .collect();
    eprintln!(
        "statement check: {} accounts, {} lines ...",
        touched.len(),
        touched.iter().map(|&i| expected[i].len()).sum::<usize>()
    );
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let mut checks = futures::stream::iter(touched)
        .map(|i| {
            let (account, start, expected) = (&accounts[i], start[i], &expected[i]);
            async move {
                let verdict = check_until(api, account, start, expected, deadline).await;
                (account, verdict)
            }
        })
        .buffer_unordered(STATEMENT_CONCURRENCY);
    while let Some((account, verdict)) = checks.next().await {
        report.accounts_checked += 1;
        report.rows_expected += verdict.expected;
        report.rows_found += verdict.found;
        if !verdict.ok() {
            report.accounts_failed += 1;
            if report.failures.len() < KEPT_FAILURES {
                report.failures.push(format!(
                    "{}: {}",
                    account.no_rekening,
                    verdict.problems.join("; ")
                ));
            }
        }
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            eprintln!(
                "  statement check: {} accounts done",
                report.accounts_checked
            );
        }
    }
    eprintln!(
        "statement check: done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    report
}

/// Reads and checks one statement until it matches or the deadline has passed.
async fn check_until(
    api: &Api,
    account: &Account,
    start: Decimal,
    expected: &ExpectedLines,
    deadline: Instant,
) -> Verdict {
    loop {
        let verdict = match newest_lines(api, account, expected.len() + 1).await {
            Ok(lines) => {
                statement::check_with_credits(start, &expected.lines, &expected.credits, &lines)
            }
            Err(error) => Verdict {
                expected: expected.len(),
                found: 0,
                problems: vec![format!("{error:#}")],
            },
        };
        if verdict.ok() || Instant::now() >= deadline {
            return verdict;
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
}

/// The newest `wanted` lines of the statement (fewer if it is shorter), paging as needed.
async fn newest_lines(api: &Api, account: &Account, wanted: usize) -> anyhow::Result<Vec<Line>> {
    let mut lines = Vec::with_capacity(wanted);
    let mut cursor: Option<String> = None;
    while lines.len() < wanted {
        let limit = (wanted - lines.len()).min(MAX_PAGE_LINES);
        let page = api.mutasi_page(account, limit, cursor.as_deref()).await?;
        if page.lines.is_empty() {
            break;
        }
        lines.extend(page.lines);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    lines.truncate(wanted);
    Ok(lines)
}
