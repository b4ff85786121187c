//! Listening and serving, the same for both services: bind (or one CRITICAL line), log the
//! address, serve until SIGTERM/SIGINT (every listener of the process on the one signal), let
//! in-flight requests finish within a grace period.
//!
//! Connections are served by hyper directly (not `axum::serve`) so that a client cannot hold a
//! connection open without sending a request: the request head must arrive within
//! [`ServeLimits::header_read_timeout`], or the connection is closed. Once the head is in,
//! the request time limit of the request log (`--request-timeout-ms`) bounds the rest, slow
//! bodies included; bodies are capped in size by the router.

use std::time::Duration;

use anyhow::Context;
use axum::extract::ConnectInfo;
use axum::{Extension, Router};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// The serving flags both services take: request and connection limits, the shutdown grace.
#[derive(Clone, Debug, clap::Args)]
pub struct ServeArgs {
    /// A request that takes longer than this (slow bodies included) is answered 503 and its
    /// transaction rolled back.
    #[arg(long, default_value_t = 15_000, global = true)]
    pub request_timeout_ms: u64,

    /// A connection must send a complete request head within this time (after opening, or
    /// after its previous answer), else it is closed.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=300_000), global = true)]
    pub header_read_timeout_ms: u64,

    /// Most client connections served at once (more wait in the listen backlog).
    #[arg(long, default_value_t = 4_096, value_parser = clap::value_parser!(u64).range(1..=1_000_000), global = true)]
    pub max_connections: u64,

    /// On SIGTERM, how long in-flight requests may take before the process exits anyway.
    #[arg(long, default_value_t = 20, global = true)]
    pub shutdown_grace_secs: u64,
}

impl ServeArgs {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub fn limits(&self) -> ServeLimits {
        ServeLimits {
            header_read_timeout: Duration::from_millis(self.header_read_timeout_ms),
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
        }
    }

    pub fn grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

/// Limits on connections, before a request reaches the router.
#[derive(Clone, Copy, Debug)]
pub struct ServeLimits {
    /// A connection that has not sent a complete request head this long after it opened (or
    /// after its previous response) is closed.
    pub header_read_timeout: Duration,
    /// Most connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
}

/// Pause after a failed `accept` (e.g. out of file descriptors) before accepting again.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Binds `host:port`. A failure is the one CRITICAL line of a failed start-up.
pub async fn bind(host: &str, port: u16, service: &'static str) -> anyhow::Result<TcpListener> {
    let listener = match TcpListener::bind((host, port)).await {
        Ok(listener) => listener,
        Err(error) => {
            bukubesar_process::critical!(host = %host, port, reason = %error, "cannot listen; exiting");
            return Err(error).context("binding the listener");
        }
    };
    let address = listener.local_addr().context("reading the bound address")?;
    tracing::info!(address = %address, "{service} listening");
    Ok(listener)
}

/// Serves until `shutdown` resolves (the process's one signal, shared by its listeners:
/// [`super::private::serve_both`]), then stops accepting (the listener is closed: new
/// connections are refused) and waits for in-flight requests, at most `grace` (then returns
/// anyway, with a WARNING).
pub async fn until(
    listener: TcpListener,
    router: Router,
    settings: &ServeArgs,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let (limits, grace) = (settings.limits(), settings.grace());
    assert!(limits.max_connections >= 1);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let signal = shutdown;
    tokio::pin!(signal);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut signal => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(error = %error, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
            () = &mut signal => break,
        };
        let _ = stream.set_nodelay(true);
        // The peer address rides on every request of the connection (the failure throttle
        // keys on it); wrapping a clone of the router is cheap, it is not rebuilt.
        let service = TowerToHyperService::new(tower_layer::Layer::layer(
            &Extension(ConnectInfo(peer)),
            router.clone(),
        ));
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A connection error is the client's doing (reset, timeout, bad bytes): nothing
            // to report beyond the request log of the requests it did send.
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(grace_secs = grace.as_secs(), "in-flight requests did not finish within the grace period");
        }
    }
    Ok(())
}
