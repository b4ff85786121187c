//! transaksi: accounts, PIN authentication, deposits (tabung) and withdrawals (tarik).
//!
//! Layers: [`api`] (HTTP), [`app`] (business rules), [`datastore`] (SQL).

pub mod api;
pub mod app;
pub mod config;
pub mod datastore;

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use bukubesar_common::critical;
use bukubesar_common::db::DbCredentials;
use sqlx::PgPool;

use api::AppState;
use bukubesar_common::auth::{AuthPolicy, Authenticator};
use config::{Cli, Command, Settings};
use datastore::Datastore;

/// How often expired idempotency keys are swept.
const IDEMPOTENCY_SWEEP_INTERVAL: Duration = Duration::from_secs(600);

/// The application (router and state) over an open pool, as the binary and the tests use it.
pub fn application(settings: &Settings, pool: PgPool) -> Router {
    let datastore = Datastore::new(pool);
    let policy = AuthPolicy {
        max_failures: settings.auth_max_failures,
        lockout: settings.auth_lockout(),
        cache_capacity: settings.auth_cache_capacity,
        cache_ttl: settings.auth_cache_ttl(),
        argon2_max_concurrency: settings.argon2_max_concurrency as usize,
    };
    let state = AppState {
        authenticator: Arc::new(Authenticator::new(datastore.credentials(), policy)),
        datastore,
    };
    api::router(state, settings.request_timeout())
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

    let listener = match tokio::net::TcpListener::bind((settings.host.as_str(), settings.port))
        .await
    {
        Ok(listener) => listener,
        Err(error) => {
            critical!(host = %settings.host, port = settings.port, reason = %error, "cannot listen; exiting");
            return Err(error).context("binding the listener");
        }
    };
    let address = listener.local_addr().context("reading the bound address")?;
    tracing::info!(address = %address, "transaksi listening");

    tokio::spawn(sweep_idempotency_keys(
        datastore.clone(),
        settings.idempotency_retention_hours,
    ));

    let router = application(&settings, pool.clone());
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            bukubesar_common::shutdown::signal().await;
            let _ = stopping_tx.send(());
        })
        .into_future();
    let grace = Duration::from_secs(settings.shutdown_grace_secs);
    tokio::select! {
        result = server => result.context("serving HTTP")?,
        () = async {
            if stopping_rx.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        } => {
            tracing::warn!(grace_secs = grace.as_secs(), "in-flight requests did not finish within the grace period");
        }
    }
    pool.close().await;
    tracing::info!("transaksi stopped");
    Ok(())
}

async fn sweep_idempotency_keys(datastore: Datastore, retention_hours: u32) {
    let mut interval = tokio::time::interval(IDEMPOTENCY_SWEEP_INTERVAL);
    loop {
        interval.tick().await;
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
