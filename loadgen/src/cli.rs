//! Command-line flags of `loadgen run`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use rust_decimal::Decimal;

/// Most accounts one run may use: account indices become the last six digits of the NIK and
/// phone numbers generated at registration, and one more index is kept for the probe account.
pub const MAX_ACCOUNTS: u32 = 999_998;

/// Load generator for bukubesar: drives transaksi with deposits and withdrawals, measures
/// latency, then checks that every balance and every statement line adds up.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register (or reuse) accounts, fund them, run the load, then check money and statements.
    ///
    /// Exit status 0 only when the money check and the statement check (unless skipped) pass
    /// and there were no 5xx answers, no transport errors and no unexpected answers.
    Run(RunArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// Every operation on the first account.
    Hot,
    /// Each operation on an account drawn uniformly from all of them.
    Spread,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Hot => "hot",
            Target::Spread => "spread",
        }
    }
}

#[derive(Clone, Debug, clap::Args)]
pub struct RunArgs {
    /// Base URL of transaksi (plain http, no path).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub transaksi: String,

    /// Base URL of mutasi (plain http, no path).
    #[arg(long, default_value = "http://127.0.0.1:8081")]
    pub mutasi: String,

    /// Base URL of transaksi's private metrics listener (its `--metrics-addr`), read for the
    /// argon2 verifications during the load (`null` in the report when it does not answer).
    #[arg(long, default_value = "http://127.0.0.1:9180")]
    pub transaksi_metrics: String,

    /// Accounts to register (or reuse) and drive.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_ACCOUNTS)))]
    pub accounts: u32,

    /// Cache of registered accounts, one `no_rekening,pin` a line. Reused when it holds at
    /// least --accounts accounts and a few of them still authenticate; otherwise the accounts
    /// are registered anew and the file rewritten.
    #[arg(long, value_name = "PATH")]
    pub accounts_file: Option<PathBuf>,

    /// hot: every operation on one account; spread: uniform over all accounts.
    #[arg(long, value_enum, default_value_t = Target::Spread)]
    pub target: Target,

    /// Share of withdrawals (/tarik) in percent among the operations that are not transfers;
    /// the rest are deposits (/tabung).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub tarik_percent: u8,

    /// Share of transfers (/transfer) in percent, each from the drawn account to another
    /// account of the run drawn uniformly (needs at least 2 accounts; with `--target hot`,
    /// from the hot account). 100: transfers only.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub transfer_percent: u8,

    /// HTTP/1.1 keep-alive connections to transaksi (the pool, in open loop).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connections: u32,

    /// Open loop at this many operations per second (latency counted from each operation's
    /// intended start). Without it: closed loop, each connection sends its next request when
    /// the previous one is answered.
    #[arg(long, value_name = "OPS_PER_SEC", value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub rate: Option<u32>,

    /// Length of the measured phase. Ignored with --total-ops.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub duration_secs: u64,

    /// Unmeasured load before the measured phase (its operations still count in the money
    /// and statement checks). Ignored with --total-ops.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(0..=3_600))]
    pub warmup_secs: u64,

    /// Stop after this many operations instead of after a duration (--duration-secs and
    /// --warmup-secs are then ignored; every operation is measured). Used to build a mutasi
    /// backlog.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub total_ops: Option<u64>,

    /// Each account is topped up to at least this balance at setup with one deposit (which
    /// counts in the checks like any other).
    #[arg(long, default_value = "1000000", value_name = "AMOUNT", value_parser = parse_amount)]
    pub funding: Decimal,

    /// Send a unique Idempotency-Key header with every deposit and withdrawal.
    #[arg(long)]
    pub idempotency_keys: bool,

    /// How long mutasi may take to catch up after the load before the statement check gives
    /// up waiting; 0 skips the statement check and the commit-to-statement probe.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub statement_timeout_secs: u64,

    /// Also write the summary as JSON to this file.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,

    /// Name printed with the results (default: TARGET-closed or TARGET-open-RATE).
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,

    /// Also write the measured phase second by second to this CSV file: operations answered
    /// 200, refused and failed, the longest latency, and the probe's commit-to-statement
    /// delays (count, p50, max) of the deposits committed in each second.
    #[arg(long, value_name = "PATH")]
    pub timeline: Option<PathBuf>,
}

impl RunArgs {
    pub fn label(&self) -> String {
        match (&self.label, self.rate) {
            (Some(label), _) => label.clone(),
            (None, None) => format!("{}-closed", self.target.name()),
            (None, Some(rate)) => format!("{}-open-{rate}", self.target.name()),
        }
    }
}

/// A money amount: a plain decimal, at least 0, at most 2 decimals, below 10^15.
pub fn parse_amount(text: &str) -> Result<Decimal, String> {
    let value = Decimal::from_str_exact(text.trim())
        .map_err(|_| format!("{text:?} is not a decimal number"))?;
    let value = value.normalize();
    if value.is_sign_negative() {
        return Err("the amount must not be negative".into());
    }
    if value.scale() > 2 {
        return Err("the amount has at most 2 decimals".into());
    }
    if value >= Decimal::from(1_000_000_000_000_000_i64) {
        return Err("the amount must be below 10^15".into());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("1000000"), Ok(Decimal::from(1_000_000)));
        assert_eq!(parse_amount("12.50"), Ok(Decimal::new(125, 1)));
        assert_eq!(parse_amount("0"), Ok(Decimal::ZERO));
        for bad in ["-1", "1.001", "abc", "", "1e3", "1000000000000000"] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_parse() {
        let cli = Cli::try_parse_from([
            "loadgen",
            "run",
            "--target",
            "hot",
            "--rate",
            "500",
            "--total-ops",
            "1000",
            "--idempotency-keys",
        ])
        .expect("parses");
        let Command::Run(args) = cli.command;
        assert_eq!(args.target, Target::Hot);
        assert_eq!(args.rate, Some(500));
        assert_eq!(args.total_ops, Some(1000));
        assert!(args.idempotency_keys);
        assert_eq!(args.accounts, 10_000);
        assert_eq!(args.label(), "hot-open-500");
        assert!(Cli::try_parse_from(["loadgen", "run", "--target", "lukewarm"]).is_err());
        assert!(Cli::try_parse_from(["loadgen", "run", "--tarik-percent", "101"]).is_err());
    }
}
