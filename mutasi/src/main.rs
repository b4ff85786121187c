//! `mutasi`: the account-statement service. This release ships its database schema
//! (`migrations/mutasi`) and `mutasi migrate`; consuming the stream and serving statements
//! arrive with the mutasi issue.

use std::process::ExitCode;

use bukubesar_common::db::{DbArgs, DbCredentials};
use bukubesar_common::log::LogLevel;
use clap::{Parser, Subcommand};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/mutasi");

#[derive(Debug, Parser)]
#[command(
    name = "mutasi",
    version,
    about = "bukubesar account statements (mutasi)",
    after_help = "Environment: DB_USER (default postgres), DB_PASSWORD."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    #[command(flatten)]
    db: DbArgs,

    /// Name of mutasi's own database.
    #[arg(long, default_value = "mutasi", global = true)]
    db_name: String,

    /// Least severe log level written (JSON lines on stdout).
    #[arg(long, value_enum, default_value = "info", global = true)]
    log_level: LogLevel,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply the database migrations and exit.
    Migrate,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    bukubesar_common::log::init(cli.log_level);
    match cli.command {
        Command::Migrate => migrate(&cli).await,
    }
}

async fn migrate(cli: &Cli) -> ExitCode {
    let credentials = DbCredentials::from_env();
    match cli
        .db
        .connect_and_migrate(&cli.db_name, &credentials, "mutasi", &MIGRATOR)
        .await
    {
        Ok(_) => ExitCode::SUCCESS,
        // Already reported as one CRITICAL line.
        Err(_) => ExitCode::FAILURE,
    }
}
