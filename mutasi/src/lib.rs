//! mutasi: consumes one event per committed transaction from the Redis Stream into the
//! account statement, and serves each account's statement to its holder.
//!
//! Layers: [`api`] (HTTP), [`app`] (rules: reading a statement, consuming the stream),
//! [`datastore`] (SQL and Redis commands).

pub mod api;
pub mod app;
pub mod config;
pub mod datastore;

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use bukubesar_common::auth::CredentialStore;
use bukubesar_common::db::DbCredentials;
use bukubesar_common::http::{private, serve};
use bukubesar_common::stream::password_from_env;
use sqlx::PgPool;

use app::context::App;
use app::stats::ConsumerStats;
use config::{Cli, Command, Settings};
use datastore::Datastore;
use datastore::stream::{StreamConsumer, StreamMonitor};

/// The HTTP application. `credentials_pool` reaches the credential table (transaksi's
/// database, `--auth-db-name`).
pub fn application(
    settings: &Settings,
    datastore: Datastore,
    credentials_pool: PgPool,
    stats: Arc<ConsumerStats>,
) -> anyhow::Result<Router> {
    Ok(routers(settings, datastore, credentials_pool, stats)?.0)
}

/// The API's router and the private listener's (`GET /metrics`), over one application.
pub fn routers(
    settings: &Settings,
    datastore: Datastore,
    credentials_pool: PgPool,
    stats: Arc<ConsumerStats>,
) -> anyhow::Result<(Router, Router)> {
    bukubesar_common::metrics::install();
    app::metrics::describe();
    let consumer = settings.consumer();
    let redis = settings
        .redis
        .connect_lazy(password_from_env())
        .context("configuring the Redis connection")?;
    let app = App::new(
        datastore,
        CredentialStore::new(credentials_pool),
        settings.auth.policy(),
        StreamMonitor::new(redis, consumer.stream),
        consumer.group,
        stats,
    );
    let metrics = api::metrics_router(app.clone());
    Ok((api::router(app, settings.serve.request_timeout()), metrics))
}

/// Starts the stream consumer (its own Redis connection, lazy: Redis may be down at start).
pub fn spawn_consumer(
    settings: &Settings,
    datastore: Datastore,
    stats: Arc<ConsumerStats>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let consumer = settings.consumer();
    let connection = settings
        .redis
        .connect_lazy(password_from_env())
        .context("configuring the Redis connection")?;
    let stream = StreamConsumer::new(
        connection,
        consumer.stream.clone(),
        consumer.group.clone(),
        consumer.consumer.clone(),
        consumer.dead_letter_stream.clone(),
    );
    Ok(tokio::spawn(app::consumer::run(
        datastore, stream, consumer, stats,
    )))
}

/// Runs the command line: connect, migrate, then consume and serve until SIGTERM (or exit
/// after `migrate`). Start-up failures are logged as one CRITICAL line and returned.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    let credentials = DbCredentials::from_env();
    let pool = settings
        .db
        .connect_and_migrate(
            &settings.db_name,
            &credentials,
            "mutasi",
            &datastore::MIGRATOR,
        )
        .await?;
    if matches!(cli.command, Some(Command::Migrate)) {
        return Ok(());
    }
    let credentials_pool =
        settings
            .db
            .connect_lazy(&settings.auth_db_name, &credentials, "mutasi-auth");
    if let Err(error) = CredentialStore::new(credentials_pool.clone()).probe().await {
        // Not fatal: statements keep being consumed; requests answer 503 until it works.
        tracing::error!(
            database = %settings.auth_db_name,
            user = %credentials.user,
            reason = %bukubesar_common::db::describe_connect_error(&error),
            "cannot read the credential table; grant the role bukubesar_autentikasi to this user"
        );
    }

    let listener = serve::bind(&settings.host, settings.port, "mutasi").await?;
    let metrics_listener = private::bind(settings.metrics_addr).await?;

    let datastore = Datastore::new(pool.clone());
    let stats = Arc::new(ConsumerStats::default());
    let consumer = spawn_consumer(&settings, datastore.clone(), stats.clone())?;
    let (router, metrics_router) = routers(&settings, datastore, credentials_pool.clone(), stats)?;

    private::serve_both(
        (listener, router),
        (metrics_listener, metrics_router),
        &settings.serve,
    )
    .await?;
    // Entries read but not yet acknowledged stay pending and are re-read on the next start
    // (or taken over by another replica): nothing is lost, nothing stored twice.
    consumer.abort();
    pool.close().await;
    credentials_pool.close().await;
    tracing::info!("mutasi stopped");
    Ok(())
}
