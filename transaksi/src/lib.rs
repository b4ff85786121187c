//! transaksi: accounts, PIN authentication, deposits (tabung), withdrawals (tarik), transfers.
//!
//! Layers: [`api`] (HTTP), [`app`] (business rules), [`datastore`] (SQL).

pub mod api;
pub mod app;
pub mod config;
pub mod datastore;

use std::time::Duration;

use anyhow::Context;
use axum::Router;
use bukubesar_common::db::DbCredentials;
use bukubesar_common::http::{private, serve};

use app::commit_signal::CommitSignal;
use app::context::App;
use config::{Cli, Command, Settings};
use datastore::Datastore;
use datastore::stream::StreamPublisher;

/// How often expired idempotency keys and published outbox rows are swept.
const IDEMPOTENCY_SWEEP_INTERVAL: Duration = Duration::from_secs(600);

/// Most published outbox rows one sweep statement looks at (and deletes); a sweep repeats
/// such statements until the rows it finds are too young to delete.
const MAX_OUTBOX_ROWS_PER_SWEEP: i64 = 10_000;

/// The application (router and state) over a datastore, as the binary and the tests use it.
/// Every posting that commits rings `committed`; hand the same signal to [`spawn_relay`] so
/// the relay publishes it at once.
pub fn application(settings: &Settings, datastore: Datastore, committed: CommitSignal) -> Router {
    routers(settings, datastore, committed).0
}

/// The API's router and the private listener's (`GET /metrics`), over one application.
pub fn routers(
    settings: &Settings,
    datastore: Datastore,
    committed: CommitSignal,
) -> (Router, Router) {
    bukubesar_common::metrics::install();
    app::metrics::describe();
    let app = App::new(
        datastore,
        settings.group_commit(),
        settings.auth.policy(),
        committed,
        settings.transfer_fees(),
    );
    let metrics = api::metrics_router(app.clone());
    (api::router(app, settings.serve.request_timeout()), metrics)
}

/// Starts the outbox relay towards `--redis-*`/`--stream` (password: `REDIS_PASSWORD`),
/// woken by `committed`. The connection is lazy: Redis may be down at start; the relay retries.
pub fn spawn_relay(
    settings: &Settings,
    datastore: Datastore,
    committed: CommitSignal,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let connection = settings
        .redis
        .connect_lazy(bukubesar_common::stream::password_from_env())
        .context("configuring the Redis connection")?;
    let publisher = StreamPublisher::new(connection, settings.redis.stream.clone());
    Ok(tokio::spawn(app::relay::run(
        datastore,
        publisher,
        settings.relay(),
        committed,
    )))
}

/// Runs the command line: connect, migrate, then serve until SIGTERM (or exit after
/// `migrate`). Start-up failures are logged as one CRITICAL line and returned as errors.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    let credentials = DbCredentials::from_env();
    let pool = settings
        .db
        .connect_and_migrate(
            &settings.db_name,
            &credentials,
            "transaksi",
            &datastore::MIGRATOR,
        )
        .await?;
    let datastore = Datastore::new(pool.clone());
    if matches!(cli.command, Some(Command::Migrate)) {
        return Ok(());
    }

    let listener = serve::bind(&settings.host, settings.port, "transaksi").await?;
    let metrics_listener = private::bind(settings.metrics_addr).await?;

    tokio::spawn(sweep_expired_rows(
        datastore.clone(),
        settings.idempotency_retention_hours,
        settings.outbox_retention_hours,
    ));
    let committed = CommitSignal::default();
    let relay = spawn_relay(&settings, datastore.clone(), committed.clone())?;
    tracing::info!(
        redis_host = %settings.redis.host,
        redis_port = settings.redis.port,
        stream = %settings.redis.stream,
        "outbox relay started"
    );

    let (router, metrics_router) = routers(&settings, datastore, committed);
    private::serve_both(
        (listener, router),
        (metrics_listener, metrics_router),
        &settings.serve,
    )
    .await?;
    // Rows the relay had claimed stay after the watermark (its transaction rolls back) and
    // are sent again by the next relay: a duplicate at worst, never a loss.
    relay.abort();
    pool.close().await;
    tracing::info!("transaksi stopped");
    Ok(())
}

/// Deletes expired published outbox rows, one bounded statement after another, so the outbox
/// does not grow however fast postings come.
async fn sweep_published_outbox(datastore: &Datastore, outbox_retention_hours: u32) {
    let mut deleted = 0;
    loop {
        match datastore
            .sweep_published_outbox(outbox_retention_hours, MAX_OUTBOX_ROWS_PER_SWEEP)
            .await
        {
            Ok(rows) => {
                deleted += rows;
                if rows < MAX_OUTBOX_ROWS_PER_SWEEP as u64 {
                    break;
                }
                // Leave the cores to the money path between batches.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => {
                tracing::warn!(error = %error, "outbox sweep failed; will retry");
                break;
            }
        }
    }
    if deleted > 0 {
        tracing::info!(
            deleted,
            outbox_retention_hours,
            "published outbox rows removed"
        );
    }
}

async fn sweep_expired_rows(
    datastore: Datastore,
    retention_hours: u32,
    outbox_retention_hours: u32,
) {
    let mut interval = tokio::time::interval(IDEMPOTENCY_SWEEP_INTERVAL);
    loop {
        interval.tick().await;
        sweep_published_outbox(&datastore, outbox_retention_hours).await;
        match datastore.sweep_idempotency_keys(retention_hours).await {
            Ok(0) => {}
            Ok(deleted) => {
                tracing::info!(deleted, retention_hours, "expired idempotency keys removed")
            }
            Err(error) => {
                tracing::warn!(error = %error, "idempotency key sweep failed; will retry")
            }
        }
    }
}
