//! Command line. Non-secret settings are flags with defaults; secrets come only from the
//! environment (`DB_USER`, `DB_PASSWORD`, `REDIS_PASSWORD`) and are never accepted as flags.

use std::time::Duration;

use bukubesar_common::auth::AuthArgs;
use bukubesar_common::db::DbArgs;
use bukubesar_common::http::serve::ServeArgs;
use bukubesar_common::stream::RedisArgs;
use bukubesar_process::log::LogLevel;
use bukubesar_process::telemetry::TelemetryArgs;
use clap::{Parser, Subcommand};
use rust_decimal::Decimal;

use crate::app::transfer::FeePolicy;

const ENVIRONMENT_HELP: &str = "\
Environment (secrets are read only from here, never from flags):
  DB_USER         PostgreSQL user (default: postgres)
  DB_PASSWORD     PostgreSQL password (default: none, for trust/peer authentication)
  REDIS_PASSWORD  Redis AUTH password (default: none)
  OTEL_EXPORTER_OTLP_ENDPOINT  same as --otlp-endpoint (the flag wins)

Migrations in migrations/transaksi are applied at start-up; `transaksi migrate` applies them
and exits. A missing database or wrong credentials end start-up with one CRITICAL log line and
exit status 1.";

#[derive(Debug, Parser)]
#[command(
    name = "transaksi",
    version,
    about = "bukubesar accounts, PIN authentication, deposits (tabung) and withdrawals (tarik)",
    after_help = ENVIRONMENT_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub settings: Settings,

    /// Least severe log level written (JSON lines on stdout).
    #[arg(long, value_enum, default_value = "info", global = true)]
    pub log_level: LogLevel,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default when no command is given).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
}

#[derive(Clone, Debug, clap::Args)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0", global = true)]
    pub host: String,

    /// Port to listen on (0 picks a free port).
    #[arg(long, default_value_t = 8080, global = true)]
    pub port: u16,

    /// Address of the private listener serving `GET /metrics` (never the API port). Loopback by
    /// default; `0.0.0.0:9180` where only the Prometheus scrapers can reach it (a container
    /// network, a pod under the operator's NetworkPolicy). Port 0 picks a free port.
    #[arg(
        long,
        env = "TRANSAKSI_METRICS_ADDR",
        default_value = "127.0.0.1:9180",
        global = true
    )]
    pub metrics_addr: std::net::SocketAddr,

    #[command(flatten)]
    pub db: DbArgs,

    /// Name of transaksi's own database.
    #[arg(long, default_value = "transaksi", global = true)]
    pub db_name: String,

    /// Where the outbox relay publishes (`--redis-host`, `--redis-port`, `--stream`).
    #[command(flatten)]
    pub redis: RedisArgs,

    /// Most outbox rows published per relay round (one XADD pipeline, one transaction).
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(i64).range(1..=10_000), global = true)]
    pub relay_batch_size: i64,

    /// Longest pause between relay rounds when no local posting woke it (rows committed by a
    /// replica that died before publishing them are found within this time).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..=60_000), global = true)]
    pub relay_poll_ms: u64,

    /// Published outbox rows are kept this long (to republish a lost stream), then removed.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=720), global = true)]
    pub outbox_retention_hours: u32,

    /// PIN authentication and lockout (`--auth-*`, `--argon2-max-concurrency`).
    #[command(flatten)]
    pub auth: AuthArgs,

    /// Trace export (`--otlp-endpoint`).
    #[command(flatten)]
    pub telemetry: TelemetryArgs,

    /// Group commit: most deposits and withdrawals posted in one database transaction
    /// (1 = one transaction per request).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=4096), global = true)]
    pub batch_max_size: u32,

    /// Group commit: how long a batch waits for more operations after its first, in
    /// microseconds (0 = take only what is already queued; batches still grow under load
    /// while the workers are busy). Measured: 1 ms raised the spread throughput by ~25%
    /// over 0 (docs/performance.md).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(0..=100_000), global = true)]
    pub batch_max_wait_us: u64,

    /// Group commit: batches in flight at once, each on its own database connection.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64), global = true)]
    pub batch_workers: u32,

    /// Transfer fee, flat part: rupiah charged on every transfer (at most 2 decimals), posted
    /// to the fee income account in the transfer's own transaction. 0: none.
    #[arg(long, env = "TRANSFER_FEE_FLAT", default_value = "0", value_parser = fee_flat, global = true)]
    pub transfer_fee_flat: Decimal,

    /// Transfer fee, percentage part: percent of the amount (`1` is 1 %, 0 to 100), rounded
    /// half up (a midpoint away from zero) to 2 decimals. Added to the flat part. 0: none.
    #[arg(long, env = "TRANSFER_FEE_PERCENT", default_value = "0", value_parser = fee_percent, global = true)]
    pub transfer_fee_percent: Decimal,

    /// Idempotency keys are kept at least this long, then removed.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(24..=720), global = true)]
    pub idempotency_retention_hours: u32,

    /// Request and connection limits, shutdown grace (`--request-timeout-ms`,
    /// `--header-read-timeout-ms`, `--max-connections`, `--shutdown-grace-secs`).
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl Settings {
    pub fn group_commit(&self) -> bukubesar_common::batching::BatchSettings {
        bukubesar_common::batching::BatchSettings {
            max_batch_size: self.batch_max_size as usize,
            max_wait: Duration::from_micros(self.batch_max_wait_us),
            workers: self.batch_workers as usize,
        }
    }

    /// The transfer fee (both parts were checked when parsed).
    pub fn transfer_fees(&self) -> FeePolicy {
        FeePolicy {
            flat: self.transfer_fee_flat,
            percent: self.transfer_fee_percent,
        }
    }

    pub fn relay(&self) -> crate::app::relay::RelaySettings {
        crate::app::relay::RelaySettings {
            batch_size: self.relay_batch_size,
            poll_interval: Duration::from_millis(self.relay_poll_ms),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            trace_each_event: self.telemetry.otlp_endpoint.is_some(),
        }
    }
}

/// `--transfer-fee-flat`: an amount of at least 0 with at most 2 decimals.
fn fee_flat(text: &str) -> Result<Decimal, String> {
    let flat: Decimal = text
        .trim()
        .parse()
        .map_err(|_| "not a decimal".to_owned())?;
    FeePolicy::new(flat, Decimal::ZERO).map(|fees| fees.flat)
}

/// `--transfer-fee-percent`: 0 to 100.
fn fee_percent(text: &str) -> Result<Decimal, String> {
    let percent: Decimal = text
        .trim()
        .parse()
        .map_err(|_| "not a decimal".to_owned())?;
    FeePolicy::new(Decimal::ZERO, percent).map(|fees| fees.percent)
}

/// The environment variables this binary reads itself: the secrets, never flags. (A flag that
/// may also be set from the environment declares its variable through clap instead.)
/// `platform-tests/tests/compose.rs` checks docker-compose.yml against this list and against `--help`.
pub const ENVIRONMENT: &[&str] = &[
    bukubesar_common::db::DB_USER_ENV,
    bukubesar_common::db::DB_PASSWORD_ENV,
    bukubesar_common::stream::REDIS_PASSWORD_ENV,
];

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_work_before_and_after_the_subcommand() {
        let cli = Cli::try_parse_from(["transaksi", "migrate", "--db-name", "x", "--port", "0"])
            .expect("parses");
        assert!(matches!(cli.command, Some(Command::Migrate)));
        assert_eq!(cli.settings.db_name, "x");
        let cli = Cli::try_parse_from(["transaksi", "--db-port", "6543"]).expect("parses");
        assert!(cli.command.is_none());
        assert_eq!(cli.settings.db.port, 6543);
    }

    #[test]
    fn secrets_are_not_flags() {
        for secret in ["--db-password", "--db-user", "--redis-password", "--pin"] {
            assert!(
                Cli::try_parse_from(["transaksi", secret, "x"]).is_err(),
                "{secret}"
            );
        }
    }

    #[test]
    fn transfer_fees_are_checked() {
        let fees = |args: &[&str]| {
            let mut all = vec!["transaksi"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all).map(|cli| cli.settings.transfer_fees())
        };
        assert_eq!(fees(&[]).ok(), Some(FeePolicy::default()));
        let one = fees(&["--transfer-fee-percent", "1"]).expect("valid");
        assert_eq!(one.percent, Decimal::ONE);
        assert!(fees(&["--transfer-fee-flat", "6500.00"]).is_ok());
        for bad in [
            ["--transfer-fee-flat", "0.001"],
            ["--transfer-fee-percent", "101"],
            ["--transfer-fee-flat", "abc"],
            ["--transfer-fee-flat", "-1"],
        ] {
            assert!(fees(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn retention_below_24_hours_is_refused() {
        assert!(Cli::try_parse_from(["transaksi", "--idempotency-retention-hours", "1"]).is_err());
    }
}
