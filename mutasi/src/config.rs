//! Command line, in the same style as transaksi: non-secret settings are flags with defaults;
//! secrets come only from the environment (`DB_USER`, `DB_PASSWORD`, `REDIS_PASSWORD`).

use std::time::Duration;

use bukubesar_common::auth::AuthArgs;
use bukubesar_common::db::DbArgs;
use bukubesar_common::http::serve::ServeArgs;
use bukubesar_common::stream::RedisArgs;
use bukubesar_process::log::LogLevel;
use bukubesar_process::telemetry::TelemetryArgs;
use clap::{Parser, Subcommand};

use crate::app::consumer::ConsumerSettings;

const ENVIRONMENT_HELP: &str = "\
Environment (secrets are read only from here, never from flags):
  DB_USER         PostgreSQL user (default: postgres). Needs its own database (--db-name) and
                  membership in the role bukubesar_autentikasi to read credentials from
                  transaksi's database (--auth-db-name).
  DB_PASSWORD     PostgreSQL password (default: none, for trust/peer authentication)
  REDIS_PASSWORD  Redis AUTH password (default: none)
  OTEL_EXPORTER_OTLP_ENDPOINT  same as --otlp-endpoint (the flag wins)

Migrations in migrations/mutasi are applied at start-up; `mutasi migrate` applies them and
exits. A missing database or wrong credentials end start-up with one CRITICAL log line and exit
status 1.";

#[derive(Debug, Parser)]
#[command(
    name = "mutasi",
    version,
    about = "bukubesar account statements (mutasi): consumes the transaction stream and serves statements",
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
    /// Consume the stream and serve the HTTP API (the default when no command is given).
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
    #[arg(long, default_value_t = 8081, global = true)]
    pub port: u16,

    /// Address of the private listener serving `GET /metrics` (never the API port). Loopback by
    /// default; `0.0.0.0:9181` where only the Prometheus scrapers can reach it (a container
    /// network, a pod under the operator's NetworkPolicy). Port 0 picks a free port.
    #[arg(
        long,
        env = "MUTASI_METRICS_ADDR",
        default_value = "127.0.0.1:9181",
        global = true
    )]
    pub metrics_addr: std::net::SocketAddr,

    #[command(flatten)]
    pub db: DbArgs,

    /// Name of mutasi's own database (the statement).
    #[arg(long, default_value = "mutasi", global = true)]
    pub db_name: String,

    /// The database holding the credential table `nasabah` (transaksi's), on the same server.
    /// mutasi reads PIN hashes and keeps the shared lockout there, never calling transaksi.
    #[arg(long, default_value = "transaksi", global = true)]
    pub auth_db_name: String,

    /// The stream to consume (`--redis-host`, `--redis-port`, `--stream`).
    #[command(flatten)]
    pub redis: RedisArgs,

    /// Consumer group; replicas in one group share the work.
    #[arg(long, default_value = "mutasi", global = true)]
    pub group: String,

    /// This replica's name in the group (default: the host name). Keep it stable across
    /// restarts so a restarted replica resumes its own pending entries first.
    #[arg(long, global = true)]
    pub consumer: Option<String>,

    /// Where poison entries go (default: `<stream>:dead`).
    #[arg(long, global = true)]
    pub dead_letter_stream: Option<String>,

    /// Most entries read, inserted and acknowledged together.
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..=10_000), global = true)]
    pub consume_batch_size: u64,

    /// An entry pending this long with another consumer is taken over (XAUTOCLAIM).
    #[arg(long, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1_000..=86_400_000), global = true)]
    pub claim_idle_ms: u64,

    /// An entry delivered more often than this without being stored is dead-lettered.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1_000), global = true)]
    pub max_deliveries: u64,

    /// Entries every group has acknowledged are trimmed from the stream once older than this.
    #[arg(long, default_value_t = 600, global = true)]
    pub stream_retention_secs: u64,

    /// PIN authentication and lockout (`--auth-*`; use the same values as transaksi).
    #[command(flatten)]
    pub auth: AuthArgs,

    /// Trace export (`--otlp-endpoint`).
    #[command(flatten)]
    pub telemetry: TelemetryArgs,

    /// Request and connection limits, shutdown grace (`--request-timeout-ms`,
    /// `--header-read-timeout-ms`, `--max-connections`, `--shutdown-grace-secs`).
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl Settings {
    pub fn consumer_name(&self) -> String {
        self.consumer
            .clone()
            .filter(|c| !c.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|h| h.trim().to_owned())
                    .filter(|h| !h.is_empty())
            })
            .unwrap_or_else(|| "mutasi".to_owned())
    }

    pub fn consumer(&self) -> ConsumerSettings {
        ConsumerSettings {
            stream: self.redis.stream.clone(),
            group: self.group.clone(),
            consumer: self.consumer_name(),
            dead_letter_stream: self
                .dead_letter_stream
                .clone()
                .unwrap_or_else(|| format!("{}:dead", self.redis.stream)),
            batch_size: self.consume_batch_size as usize,
            trace_each_event: self.telemetry.otlp_endpoint.is_some(),
            block: Duration::from_millis(1_000),
            claim_idle: Duration::from_millis(self.claim_idle_ms),
            max_deliveries: self.max_deliveries,
            stream_retention: Duration::from_secs(self.stream_retention_secs),
            trim_interval: Duration::from_secs(10),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
        }
    }
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
    fn defaults_match_the_contract() {
        let cli = Cli::try_parse_from(["mutasi", "--consumer", "pod-1"]).expect("parses");
        let s = cli.settings;
        assert_eq!((s.port, s.db_name.as_str()), (8081, "mutasi"));
        assert_eq!(s.auth_db_name, "transaksi");
        let c = s.consumer();
        assert_eq!(
            (c.stream.as_str(), c.group.as_str(), c.consumer.as_str()),
            ("mutasi", "mutasi", "pod-1")
        );
        assert_eq!(c.dead_letter_stream, "mutasi:dead");
    }

    #[test]
    fn secrets_are_not_flags() {
        for secret in ["--db-password", "--db-user", "--redis-password"] {
            assert!(
                Cli::try_parse_from(["mutasi", secret, "x"]).is_err(),
                "{secret}"
            );
        }
    }
}
