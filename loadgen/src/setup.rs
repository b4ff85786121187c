//! Before the load: register the accounts (or reuse them from the accounts file), read every
//! balance once (which also puts each credential in transaksi's cache) as the start snapshot,
//! and top each account up to the funding amount.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use rand::Rng;
use rust_decimal::Decimal;

use crate::api::{Account, Api, Daftar};
use crate::ledger::Posted;
use crate::ops::Jenis;

/// Registrations in flight: argon2 hashing is the server's bottleneck, and it runs at most a
/// few at once.
const REGISTER_CONCURRENCY: usize = 4;
/// Balance reads in flight during the snapshot (the first read of an account runs argon2).
pub const SNAPSHOT_CONCURRENCY: usize = 8;
/// Funding deposits in flight.
const FUNDING_CONCURRENCY: usize = 16;
/// Registrations tried with other random NIK / phone numbers after a clash.
const REGISTER_CLASH_RETRIES: u32 = 5;
/// Accounts of a reused file checked before trusting it.
const FILE_SPOT_CHECKS: usize = 3;
/// Seconds between progress lines.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// A number that differs from run to run: hundredths of a second since the epoch, nine
/// digits (it wraps every 115 days; a clash is retried with random numbers anyway).
pub fn run_stamp() -> u64 {
    let centis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() / 10);
    (centis % 1_000_000_000) as u64
}

/// NIK (16 digits) and phone number (`08` + 13 digits) of account `index` of the run
/// `stamp` (nine digits): both built from the 15-digit number `stamp * 10^6 + index`.
pub fn identity(stamp: u64, index: u32) -> (String, String) {
    let serial = (stamp % 1_000_000_000) * 1_000_000 + u64::from(index % 1_000_000);
    (
        format!("9{serial:015}"),
        format!("08{:013}", serial % 10_000_000_000_000),
    )
}

/// Registers account `index`: NIK and phone from `stamp`, other random ones after a clash.
pub async fn register_one(api: &Api, stamp: u64, index: u32) -> anyhow::Result<Account> {
    let pin = format!("{:06}", rand::rng().random_range(0..1_000_000_u32));
    let nama = format!("Loadgen {index}");
    let mut stamp = stamp;
    for _ in 0..=REGISTER_CLASH_RETRIES {
        let (nik, no_hp) = identity(stamp, index);
        match api.daftar(&nama, &nik, &no_hp, &pin).await? {
            Daftar::Registered(account) => return Ok(account),
            Daftar::Taken => stamp = rand::rng().random_range(0..1_000_000_000),
        }
    }
    bail!("registering account {index}: NIK or phone number taken {REGISTER_CLASH_RETRIES} times")
}

/// Registers `count` accounts with indices `0..count`.
async fn register_many(api: &Api, count: u32, stamp: u64) -> anyhow::Result<Vec<Account>> {
    eprintln!("registering {count} accounts ({REGISTER_CONCURRENCY} at a time) ...");
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let mut accounts = Vec::with_capacity(count as usize);
    let mut registrations = futures::stream::iter(0..count)
        .map(|index| register_one(api, stamp, index))
        .buffered(REGISTER_CONCURRENCY);
    while let Some(account) = registrations.next().await {
        accounts.push(account?);
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            eprintln!(
                "  registered {}/{count} ({:.0}/s)",
                accounts.len(),
                accounts.len() as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    eprintln!(
        "registered {count} accounts in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(accounts)
}

/// The accounts to drive: the first `count` of the accounts file when it has enough and a few
/// of them still authenticate, otherwise `count` newly registered ones (then written to the
/// file, if one is named).
pub async fn accounts(
    api: &Api,
    count: u32,
    file: Option<&Path>,
    stamp: u64,
) -> anyhow::Result<Vec<Account>> {
    if let Some(path) = file
        && path.exists()
    {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the accounts file {}", path.display()))?;
        let mut cached = parse_accounts_file(&text)
            .with_context(|| format!("reading the accounts file {}", path.display()))?;
        if cached.len() >= count as usize {
            cached.truncate(count as usize);
            match spot_check(api, &cached).await {
                Ok(()) => {
                    eprintln!(
                        "reusing {count} accounts from {} (spot-checked {FILE_SPOT_CHECKS})",
                        path.display()
                    );
                    return Ok(cached);
                }
                Err(error) => eprintln!(
                    "the accounts in {} no longer authenticate ({error:#}); registering new ones",
                    path.display()
                ),
            }
        } else {
            eprintln!(
                "{} holds {} accounts, fewer than {count}; registering new ones",
                path.display(),
                cached.len()
            );
        }
    }
    let accounts = register_many(api, count, stamp).await?;
    if let Some(path) = file {
        write_accounts_file(path, &accounts)?;
        eprintln!("wrote {} accounts to {}", accounts.len(), path.display());
    }
    Ok(accounts)
}

/// The first, a middle and the last account must authenticate.
async fn spot_check(api: &Api, accounts: &[Account]) -> anyhow::Result<()> {
    let last = accounts.len().saturating_sub(1);
    let mut picks = vec![0, last / 2, last];
    picks.dedup();
    for i in picks.into_iter().take(FILE_SPOT_CHECKS) {
        api.saldo(&accounts[i]).await?;
    }
    Ok(())
}

/// `no_rekening,pin` lines; blank lines and `#` comments are skipped.
pub fn parse_accounts_file(text: &str) -> anyhow::Result<Vec<Account>> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(number, line)| {
            let (no_rekening, pin) = line
                .split_once(',')
                .with_context(|| format!("line {number}: expected no_rekening,pin"))?;
            let (no_rekening, pin) = (no_rekening.trim(), pin.trim());
            let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
            if !digits(no_rekening, 10) || !digits(pin, 6) {
                bail!("line {number}: expected a 10-digit no_rekening and a 6-digit pin");
            }
            Ok(Account {
                no_rekening: no_rekening.to_owned(),
                pin: pin.to_owned(),
            })
        })
        .collect()
}

pub fn format_accounts_file(accounts: &[Account]) -> String {
    let mut text = String::from("# loadgen accounts: no_rekening,pin\n");
    for account in accounts {
        text.push_str(&account.no_rekening);
        text.push(',');
        text.push_str(&account.pin);
        text.push('\n');
    }
    text
}

/// Written next to the target and renamed over it, so a crash never leaves half a file.
fn write_accounts_file(path: &Path, accounts: &[Account]) -> anyhow::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, format_accounts_file(accounts))
        .with_context(|| format!("writing {}", Path::new(&temporary).display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))
}

/// Every account's balance, read once with bounded concurrency; `what` names the phase in
/// progress lines.
pub async fn balances(api: &Api, accounts: &[Account], what: &str) -> anyhow::Result<Vec<Decimal>> {
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let mut balances = Vec::with_capacity(accounts.len());
    let mut reads = futures::stream::iter(accounts)
        .map(|account| api.saldo(account))
        .buffered(SNAPSHOT_CONCURRENCY);
    while let Some(balance) = reads.next().await {
        balances.push(balance.with_context(|| format!("{what}: reading balances"))?);
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            eprintln!(
                "  {what}: {}/{} balances read",
                balances.len(),
                accounts.len()
            );
        }
    }
    eprintln!(
        "{what}: read {} balances in {:.1} s",
        balances.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(balances)
}

/// Deposits `funding - balance` into every account below `funding`. Returns the deposits as
/// posted (they count in the money and statement checks).
pub async fn fund(
    api: &Api,
    accounts: &[Account],
    start: &[Decimal],
    funding: Decimal,
    stamp: u64,
) -> anyhow::Result<Vec<Posted>> {
    let top_ups: Vec<(usize, Decimal)> = start
        .iter()
        .enumerate()
        .filter(|(_, balance)| **balance < funding)
        .map(|(i, balance)| (i, funding - *balance))
        .collect();
    if top_ups.is_empty() {
        return Ok(Vec::new());
    }
    eprintln!("topping up {} accounts to {funding} ...", top_ups.len());
    futures::stream::iter(top_ups)
        .map(|(i, nominal)| async move {
            let key = format!("loadgen-fund-{stamp}-{i}");
            let saldo = api.tabung(&accounts[i], nominal, &key).await?;
            Ok::<_, anyhow::Error>(Posted {
                account: i as u32,
                jenis: Jenis::Tabung,
                nominal,
                saldo: Some(saldo),
            })
        })
        .buffer_unordered(FUNDING_CONCURRENCY)
        .try_collect()
        .await
        .context("funding the accounts")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_valid_and_distinct() {
        let (nik, no_hp) = identity(123_456_789, 42);
        assert_eq!(nik, "9123456789000042");
        assert_eq!(no_hp, "083456789000042");
        for stamp in [0, 999_999_999, run_stamp()] {
            for index in [0, 1, 999_999] {
                let (nik, no_hp) = identity(stamp, index);
                assert_eq!(nik.len(), 16);
                assert!(nik.bytes().all(|b| b.is_ascii_digit()));
                assert!(no_hp.starts_with("08"));
                assert!((10..=15).contains(&no_hp.len()));
                assert!(no_hp.bytes().all(|b| b.is_ascii_digit()));
            }
        }
        assert_ne!(identity(1, 2), identity(1, 3));
        assert_ne!(identity(1, 2).1, identity(2, 2).1);
    }

    #[test]
    fn accounts_file_round_trip() {
        let accounts = vec![
            Account {
                no_rekening: "4821937465".into(),
                pin: "012345".into(),
            },
            Account {
                no_rekening: "1234567890".into(),
                pin: "999999".into(),
            },
        ];
        let text = format_accounts_file(&accounts);
        assert_eq!(parse_accounts_file(&text).expect("parses"), accounts);
        assert!(parse_accounts_file("4821937465;012345").is_err());
        assert!(parse_accounts_file("482193746,012345").is_err());
        assert!(parse_accounts_file("4821937465,12345").is_err());
        assert_eq!(
            parse_accounts_file("\n# c\n 4821937465 , 012345 \n")
                .expect("parses")
                .len(),
            1
        );
    }
}
