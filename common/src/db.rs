//! Database settings: non-secret ones are command-line flags, the credentials come only from
//! the environment (`DB_USER`, `DB_PASSWORD`) so they never show up in `ps` or in a pod spec.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};

use crate::retry::Outage;

/// `--db-*` flags shared by both services. The database name is not here because its default
/// differs per service (`transaksi`, `mutasi`).
#[derive(Clone, Debug, clap::Args)]
pub struct DbArgs {
    /// PostgreSQL host name or address.
    #[arg(
        id = "db-host",
        long = "db-host",
        default_value = "127.0.0.1",
        global = true
    )]
    pub host: String,

    /// PostgreSQL port.
    #[arg(
        id = "db-port",
        long = "db-port",
        default_value_t = 5432,
        global = true
    )]
    pub port: u16,

    /// TLS towards PostgreSQL: disable, prefer, require, verify-ca or verify-full.
    #[arg(id = "db-sslmode", long = "db-sslmode", default_value = "prefer", value_parser = parse_ssl_mode, global = true)]
    pub ssl_mode: PgSslMode,

    /// Upper bound on pooled connections to PostgreSQL.
    #[arg(id = "db-max-connections", long = "db-max-connections", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub max_connections: u32,

    /// How long to wait for a connection from the pool before answering 503.
    #[arg(
        id = "db-acquire-timeout-ms",
        long = "db-acquire-timeout-ms",
        default_value_t = 5_000,
        global = true
    )]
    pub acquire_timeout_ms: u64,

    /// How long start-up waits for PostgreSQL to accept connections before giving up: a
    /// server that is still starting (initialising a fresh data directory, restarting) is
    /// waited for, with one WARNING line when the wait starts and one INFO line when it ends.
    #[arg(
        id = "db-wait-secs",
        long = "db-wait-secs",
        default_value_t = 60,
        global = true
    )]
    pub wait_secs: u64,

    /// Server-side limit for any one statement (PostgreSQL `statement_timeout`).
    #[arg(
        id = "db-statement-timeout-ms",
        long = "db-statement-timeout-ms",
        default_value_t = 10_000,
        global = true
    )]
    pub statement_timeout_ms: u64,
}

fn parse_ssl_mode(value: &str) -> Result<PgSslMode, String> {
    value
        .parse::<PgSslMode>()
        .map_err(|_| "expected disable, allow, prefer, require, verify-ca or verify-full".into())
}

/// The environment variable with the PostgreSQL user.
pub const DB_USER_ENV: &str = "DB_USER";
/// The environment variable with the PostgreSQL password.
pub const DB_PASSWORD_ENV: &str = "DB_PASSWORD";

/// Credentials read from the environment. `Debug` never prints the password.
#[derive(Clone)]
pub struct DbCredentials {
    pub user: String,
    password: Option<String>,
}

impl std::fmt::Debug for DbCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbCredentials")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl DbCredentials {
    /// Credentials given directly (tests, tools); the services use [`DbCredentials::from_env`].
    pub fn new(user: impl Into<String>, password: Option<String>) -> Self {
        DbCredentials {
            user: user.into(),
            password,
        }
    }

    /// `DB_USER` (default `postgres`, which suits a local server with trust authentication)
    /// and `DB_PASSWORD` (optional).
    pub fn from_env() -> Self {
        let user = std::env::var(DB_USER_ENV)
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "postgres".to_owned());
        let password = std::env::var(DB_PASSWORD_ENV)
            .ok()
            .filter(|p| !p.is_empty());
        DbCredentials { user, password }
    }
}

impl DbArgs {
    pub fn connect_options(
        &self,
        database: &str,
        credentials: &DbCredentials,
        application_name: &str,
    ) -> PgConnectOptions {
        let mut options = PgConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .database(database)
            .username(&credentials.user)
            .ssl_mode(self.ssl_mode)
            .application_name(application_name)
            .options([
                ("timezone", "UTC".to_owned()),
                ("statement_timeout", self.statement_timeout_ms.to_string()),
            ]);
        if let Some(password) = &credentials.password {
            options = options.password(password);
        }
        options
    }

    /// Opens the pool and checks one connection, so that a missing database or wrong
    /// credentials are reported at start-up rather than on the first request.
    pub async fn connect(
        &self,
        database: &str,
        credentials: &DbCredentials,
        application_name: &str,
    ) -> Result<PgPool, sqlx::Error> {
        PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(Duration::from_millis(self.acquire_timeout_ms))
            .connect_with(self.connect_options(database, credentials, application_name))
            .await
    }
}

impl DbArgs {
    /// [`DbArgs::connect`], waiting up to `--db-wait-secs` while the server cannot be reached
    /// or is still starting up (refused connections, timeouts, SQLSTATE 57P03). Anything else
    /// (wrong password, missing database) is returned at once: waiting cannot mend it.
    pub async fn connect_when_up(
        &self,
        database: &str,
        credentials: &DbCredentials,
        application_name: &str,
    ) -> Result<PgPool, sqlx::Error> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(self.wait_secs);
        let mut outage = Outage::new(Duration::from_millis(250), Duration::from_secs(2));
        loop {
            match self.connect(database, credentials, application_name).await {
                Ok(pool) => {
                    if let Some(waited) = outage.succeeded() {
                        tracing::info!(db_host = %self.host, db_name = %database, waited_ms = waited.as_millis() as u64, "the database is up");
                    }
                    return Ok(pool);
                }
                Err(error) if is_starting(&error) => {
                    let failure = outage.failed();
                    if tokio::time::Instant::now() + failure.wait > deadline {
                        return Err(error);
                    }
                    if failure.first {
                        tracing::warn!(db_host = %self.host, db_port = self.port, db_name = %database, wait_secs = self.wait_secs, reason = %describe_connect_error(&error), "the database is not up yet; waiting for it");
                    }
                    tokio::time::sleep(failure.wait).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// A pool that connects on first use: for a database the service can run without for a
    /// while (mutasi's view of the credential table), so start-up does not depend on it.
    pub fn connect_lazy(
        &self,
        database: &str,
        credentials: &DbCredentials,
        application_name: &str,
    ) -> PgPool {
        PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(Duration::from_millis(self.acquire_timeout_ms))
            .connect_lazy_with(self.connect_options(database, credentials, application_name))
    }
}

/// Why a service could not start on its database.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("connecting to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("migrating the database: {0}")]
    Migrate(#[source] MigrateError),
}

impl DbArgs {
    /// Connects and applies `migrator`. A failure is reported here, as the one CRITICAL log
    /// line a failed start-up gets (database, user and a secret-free reason), and returned.
    pub async fn connect_and_migrate(
        &self,
        database: &str,
        credentials: &DbCredentials,
        application_name: &str,
        migrator: &Migrator,
    ) -> Result<PgPool, StartupError> {
        let pool = match self
            .connect_when_up(database, credentials, application_name)
            .await
        {
            Ok(pool) => pool,
            Err(error) => {
                bukubesar_process::critical!(
                    db_host = %self.host,
                    db_port = self.port,
                    db_name = %database,
                    db_user = %credentials.user,
                    reason = %describe_connect_error(&error),
                    "cannot connect to the database; exiting"
                );
                return Err(StartupError::Connect(error));
            }
        };
        if let Err(error) = migrator.run(&pool).await {
            bukubesar_process::critical!(db_name = %database, reason = %error, "database migration failed; exiting");
            return Err(StartupError::Migrate(error));
        }
        tracing::info!(db_name = %database, "database migrations applied");
        Ok(pool)
    }
}

/// A one-line, secret-free description of why connecting failed, for the CRITICAL log line.
pub fn describe_connect_error(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            match code.as_str() {
                "3D000" => format!("database does not exist ({})", db.message()),
                "28P01" | "28000" => format!("authentication failed ({})", db.message()),
                _ => format!("database error {code}: {}", db.message()),
            }
        }
        sqlx::Error::Io(io) => format!("cannot reach the database server: {io}"),
        sqlx::Error::PoolTimedOut => "timed out connecting to the database server".into(),
        sqlx::Error::Tls(tls) => format!("TLS towards the database failed: {tls}"),
        other => other.to_string(),
    }
}

/// True for errors that a database server still starting gives: nothing listens yet, the
/// connection times out, or the server says it is starting up or shutting down (57P03, 57P01).
fn is_starting(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code == "57P03" || code == "57P01" || code.starts_with("08")),
        _ => false,
    }
}

/// True for errors that mean "the database cannot answer now" (unreachable, shutting down,
/// overloaded, statement timeout, serialization failure): the request may be retried and
/// nothing was written. Everything else is a bug or a broken schema.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Tls(_) => true,
        // 57014 statement timeout/cancel, 57P0x shutdown, 53xxx resources, 08xxx connection
        // exceptions, 40001/40P01 serialization failure/deadlock.
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code == "57014"
                || code.starts_with("57P")
                || code.starts_with("53")
                || code.starts_with("08")
                || code == "40001"
                || code == "40P01"
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_password() {
        let credentials = DbCredentials {
            user: "transaksi".into(),
            password: Some("s3cr3t-pa55".into()),
        };
        let shown = format!("{credentials:?}");
        assert!(shown.contains("transaksi"));
        assert!(!shown.contains("s3cr3t-pa55"));
    }

    #[test]
    fn ssl_modes_parse() {
        assert!(matches!(parse_ssl_mode("require"), Ok(PgSslMode::Require)));
        assert!(matches!(
            parse_ssl_mode("verify-full"),
            Ok(PgSslMode::VerifyFull)
        ));
        assert!(parse_ssl_mode("sometimes").is_err());
    }
}
