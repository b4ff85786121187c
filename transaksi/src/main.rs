//! `transaksi`: accounts, PIN authentication, deposits and withdrawals.
//! See `transaksi --help`, README.md and docs/.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = transaksi::config::Cli::parse();
    let (level, telemetry) = (cli.log_level, cli.settings.telemetry.clone());
    bukubesar_process::telemetry::run_service("transaksi", level, &telemetry, transaksi::run(cli))
        .await
}
