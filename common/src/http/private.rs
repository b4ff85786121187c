//! The private listener: `GET /metrics` (business totals, error counts) on an address of its
//! own (`--metrics-addr`: loopback by default, `0.0.0.0` in a container network or a pod whose
//! NetworkPolicy admits only the Prometheus scrapers), never on the public API port. It stops
//! on the same signal as the API listener, with the same grace.

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::serve::{self, ServeArgs};

/// The log line's message once the private listener is bound (with its `address`).
pub const LISTENING: &str = "metrics listening";

/// Binds the private listener (port 0 picks a free port; the bound address is logged as
/// [`LISTENING`]). A failure is the one CRITICAL line of a failed start-up.
pub async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    serve::bind(&address.ip().to_string(), address.port(), "metrics").await
}

/// What the private router ends with: the JSON 404/405 answers and the security headers
/// (`routes` holds `GET /metrics`). No request log: a scrape every few seconds is not news.
pub fn finish_router<S>(routes: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    routes
        .fallback(super::not_found)
        .method_not_allowed_fallback(super::method_not_allowed)
        .layer(axum::middleware::from_fn(
            super::security_headers::security_headers,
        ))
}

/// Serves the API and the private listener until SIGTERM/SIGINT, then stops both (each lets
/// its in-flight requests finish within the grace period) and returns once both stopped.
pub async fn serve_both(
    api: (TcpListener, Router),
    private: (TcpListener, Router),
    settings: &ServeArgs,
) -> anyhow::Result<()> {
    let (stop, stopped) = watch::channel(false);
    let signal = async move {
        bukubesar_process::shutdown::signal().await;
        // Nobody listening any more means both listeners have stopped already.
        let _ = stop.send(true);
    };
    let until_stopped = |mut stopped: watch::Receiver<bool>| async move {
        // An error means the sender is gone, which happens only once it has sent.
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let ((), api, private) = tokio::join!(
        signal,
        serve::until(api.0, api.1, settings, until_stopped(stopped.clone())),
        serve::until(private.0, private.1, settings, until_stopped(stopped)),
    );
    api.and(private)
}
