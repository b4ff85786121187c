//! Resolves when the process is asked to stop (SIGTERM from Kubernetes/compose, or Ctrl-C).

/// Waits for SIGTERM or SIGINT. If a handler cannot be installed the other one still works;
/// if neither can, this future never resolves (the process is then stopped by SIGKILL).
pub async fn signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; draining in-flight requests");
}
