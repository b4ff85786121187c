//! `operator crd` prints the CustomResourceDefinition; `operator run` runs the controller.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bukubesar_process::critical;
use bukubesar_process::log::LogLevel;
use bukubesar_process::telemetry::{self, TelemetryArgs};
use clap::{Parser, Subcommand};
use kube::Client;
use tracing::info;

use operator::controller::{self, Context};
use operator::http::{self, Health};
use operator::leader::{LeaderElector, LeaseConfig};
use operator::metrics::Metrics;
use operator::{Shutdown, crd};

#[derive(Parser)]
#[command(name = "operator", version, about = "bukubesar Kubernetes operator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the LedgerDeployment CustomResourceDefinition as YAML.
    Crd,
    /// Run the controller (Kubernetes access from KUBECONFIG / ~/.kube/config / in-cluster).
    Run(RunArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, env = "OPERATOR_HEALTH_ADDR", default_value = operator::http::DEFAULT_HEALTH_ADDR)]
    health_addr: SocketAddr,
    /// Elect a leader through a Lease so that only one replica reconciles.
    #[arg(long, env = "OPERATOR_LEADER_ELECT", default_value_t = true, action = clap::ArgAction::Set)]
    leader_elect: bool,
    /// Name of the leader-election Lease.
    #[arg(long, default_value = "bukubesar-operator")]
    lease_name: String,
    /// Namespace of the Lease (the operator's own namespace).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    lease_namespace: String,
    /// This replica's identity in the Lease (defaults to the pod name).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "WATCH_NAMESPACE")]
    namespace: Option<String>,
    /// Seconds a shutdown waits for in-flight reconciles (keep it below the pod's
    /// terminationGracePeriodSeconds).
    #[arg(long, default_value_t = 15)]
    shutdown_grace_secs: u64,
    /// Log level of the JSON-lines logs on stdout.
    #[arg(long, value_enum, default_value = "info")]
    log_level: LogLevel,
    /// Trace export (`--otlp-endpoint`, or OTEL_EXPORTER_OTLP_ENDPOINT).
    #[command(flatten)]
    telemetry: TelemetryArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd => match crd::crd_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("cannot serialise the CRD: {error}");
                ExitCode::FAILURE
            }
        },
        Command::Run(args) => {
            let (level, telemetry) = (args.log_level, args.telemetry.clone());
            let run = async move {
                run(args).await.inspect_err(|error| {
                    critical!(error = %error, "operator stopped");
                })
            };
            telemetry::run_service("bukubesar-operator", level, &telemetry, run).await
        }
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let client = Client::try_default().await?;
    let version = client.apiserver_version().await?;
    info!(server = %version.git_version, "connected to the Kubernetes API server");

    let (trigger, shutdown) = Shutdown::new();
    let trigger = Arc::new(trigger);
    let on_signal = trigger.clone();
    tokio::spawn(async move {
        bukubesar_process::shutdown::signal().await;
        info!("shutdown signal received");
        on_signal.trigger();
    });

    let metrics = Arc::new(Metrics::new());
    let ready = Arc::new(AtomicBool::new(false));
    let health = Health {
        metrics: metrics.clone(),
        ready: ready.clone(),
    };
    let listener = tokio::net::TcpListener::bind(args.health_addr).await?;
    let server = tokio::spawn(http::serve(listener, health, shutdown.clone()));
    info!(addr = %args.health_addr, "serving /healthz, /readyz, /metrics");

    let identity = identity(&args);
    let ctx = Arc::new(Context::new(
        client.clone(),
        metrics.clone(),
        Some(identity.clone()),
    ));
    let config = controller::Config {
        namespace: args.namespace.clone(),
        shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
    };
    ready.store(true, Ordering::Relaxed);

    let result = if args.leader_elect {
        let elector = LeaderElector::new(
            client.clone(),
            LeaseConfig::new(&args.lease_name, &args.lease_namespace, &identity),
        );
        info!(lease = %args.lease_name, namespace = %args.lease_namespace, %identity, "waiting for leadership");
        let m = metrics.clone();
        let sd = shutdown.clone();
        elector
            .run(
                move |leader| m.set_leader(leader),
                shutdown.clone(),
                || controller::run(client, config, ctx, sd),
            )
            .await
            .map_err(anyhow::Error::from)
    } else {
        metrics.set_leader(true);
        controller::run(client, config, ctx, shutdown.clone()).await;
        Ok(())
    };
    // Leadership lost or controller stopped: stop serving too, then exit.
    trigger.trigger();
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err(error.into()),
        Err(error) => return Err(error.into()),
    }
    result
}

/// This replica's name in the Lease: `--identity` (the pod's name), else a random one.
fn identity(args: &RunArgs) -> String {
    args.identity.clone().unwrap_or_else(|| {
        format!(
            "operator-{}",
            operator::builders::secrets::random_password()
                .get(..8)
                .unwrap_or("x")
        )
    })
}
