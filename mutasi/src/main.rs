//! `mutasi`: the account-statement service. See `mutasi --help` and README.md.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = mutasi::config::Cli::parse();
    bukubesar_common::log::init(cli.log_level);
    match mutasi::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Start-up failures are already reported as one CRITICAL line by `run`.
            tracing::debug!(error = %error, "exiting with failure");
            ExitCode::FAILURE
        }
    }
}
