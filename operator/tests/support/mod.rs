//! What the operator's cluster tests share: the admin client (or a loud failure when there is
//! no API server), polling with a deadline, and the chart's namespace.

use std::future::Future;
use std::time::{Duration, Instant};

use kube::Client;

/// Namespace the Helm chart is installed into by scripts/test-operator.sh.
pub const SA_NAMESPACE: &str = "bukubesar-system";

/// How long [`wait_for`] polls before failing the test.
pub const WAIT: Duration = Duration::from_secs(30);

/// The admin client, or `None` (skip) only when explicitly allowed.
pub async fn admin() -> Option<Client> {
    let allow_skip = std::env::var("BUKUBESAR_ALLOW_SKIP_K8S").as_deref() == Ok("1");
    let reason = match Client::try_default().await {
        Ok(client) => match client.apiserver_version().await {
            Ok(_) => return Some(client),
            Err(e) => format!("the API server does not answer: {e}"),
        },
        Err(e) => format!("no Kubernetes configuration: {e}"),
    };
    if allow_skip {
        eprintln!(
            "\n!!!!!! SKIPPED: no Kubernetes API server ({reason}); BUKUBESAR_ALLOW_SKIP_K8S=1 allows this skip !!!!!!\n"
        );
        None
    } else {
        panic!(
            "no Kubernetes API server for the operator's integration tests: {reason}. \
             Run `bash scripts/test-operator.sh` (starts one), or set BUKUBESAR_ALLOW_SKIP_K8S=1 to skip."
        );
    }
}

/// A client that acts as the Helm chart's ServiceAccount (impersonation headers on top of
/// the admin certificate).
pub async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
