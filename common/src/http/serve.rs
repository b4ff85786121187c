//! Listening and serving, the same for both services: bind (or one CRITICAL line), log the
//! address, serve until SIGTERM/SIGINT, let in-flight requests finish within a grace period.

use std::future::IntoFuture;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

/// Binds `host:port`. A failure is the one CRITICAL line of a failed start-up.
pub async fn bind(host: &str, port: u16, service: &'static str) -> anyhow::Result<TcpListener> {
    let listener = match TcpListener::bind((host, port)).await {
        Ok(listener) => listener,
        Err(error) => {
            crate::critical!(host = %host, port, reason = %error, "cannot listen; exiting");
            return Err(error).context("binding the listener");
        }
    };
    let address = listener.local_addr().context("reading the bound address")?;
    tracing::info!(address = %address, "{service} listening");
    Ok(listener)
}

/// Serves until a shutdown signal, then stops accepting and waits for in-flight requests,
/// at most `grace` (then returns anyway, with a WARNING).
pub async fn until_shutdown(
    listener: TcpListener,
    router: Router,
    grace: Duration,
) -> anyhow::Result<()> {
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            crate::shutdown::signal().await;
            let _ = stopping_tx.send(());
        })
        .into_future();
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
    Ok(())
}
