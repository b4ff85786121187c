//! `mutasi`: the account-statement service. See `mutasi --help`, README.md and docs/.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = mutasi::config::Cli::parse();
    let (level, telemetry) = (cli.log_level, cli.settings.telemetry.clone());
    bukubesar_process::telemetry::run_service("mutasi", level, &telemetry, mutasi::run(cli)).await
}
