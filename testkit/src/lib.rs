//! Test support for the integration tests of every crate (a dev-dependency only, never built
//! into a binary): throwaway PostgreSQL and Redis servers, an OTLP trace receiver, a Prometheus
//! text parser, the OpenAPI-versus-router check, trace ids in-process, process helpers.

pub mod openapi;
pub mod otlp;
pub mod postgres;
pub mod prometheus;
pub mod redis;

/// Installs, once per test process, a subscriber with the OpenTelemetry layer (no export, no
/// log output), so that spans get trace ids as they do in the services: the outbox and the
/// stream then carry trace contexts. Tests that start the services in-process call it.
pub fn trace_ids() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    static PROVIDER: std::sync::OnceLock<opentelemetry_sdk::trace::SdkTracerProvider> =
        std::sync::OnceLock::new();
    PROVIDER.get_or_init(|| {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let _ = tracing_subscriber::registry()
            .with(tracing_subscriber::filter::filter_fn(
                bukubesar_process::log::filter(bukubesar_process::log::LogLevel::Info),
            ))
            .with(bukubesar_process::telemetry::otel_layer(&provider, "test"))
            .try_init();
        provider
    });
}

use std::process::{Command, Stdio};

/// Runs `script` (bash) in the background, detached from the test's lifetime: the servers'
/// watchdogs poll this process and clean up after it has gone, however it exits.
fn spawn_watchdog(script: String, what: &str) {
    let mut watchdog = Command::new("bash")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start the {what} watchdog: {e}"));
    // Reaped by a thread for as long as this process lives (it outlives us by design).
    std::thread::spawn(move || watchdog.wait());
}

/// A TCP port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `Authorization: Basic base64(user:password)`.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

/// A registered account and its PIN, as the services' tests use them.
#[derive(Clone, Debug)]
pub struct Account {
    pub no_rekening: String,
    pub pin: String,
}

impl Account {
    pub fn authorization(&self) -> String {
        basic(&self.no_rekening, &self.pin)
    }
}

/// A binary of the workspace (`transaksi`, `mutasi`) from the target directory the running
/// test was built into: a test executable lives in `<target>/<profile>/deps/`, the binaries
/// one level up. For tests of a crate without binaries (the platform tests), which cannot name
/// them with `env!("CARGO_BIN_EXE_...")`; `cargo test --workspace` builds every binary first.
pub fn workspace_binary(name: &str) -> std::path::PathBuf {
    let test = std::env::current_exe().expect("the test executable's path");
    let profile_dir = test
        .parent()
        .and_then(std::path::Path::parent)
        .expect("a test executable in <target>/<profile>/deps/");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run the workspace's tests (cargo test --workspace) so every binary is built",
        path.display()
    );
    path
}

/// Sends SIGTERM to `child` and waits (at most `timeout`) for it to exit; its exit status.
pub async fn terminate(
    child: &mut tokio::process::Child,
    timeout: std::time::Duration,
) -> std::process::ExitStatus {
    let pid = child.id().expect("the process is running").to_string();
    let sent = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill runs");
    assert!(sent.success(), "SIGTERM sent");
    tokio::time::timeout(timeout, child.wait())
        .await
        .expect("exits in time after SIGTERM")
        .expect("exit status")
}

/// Every line has the log format's fields: a known `level`, an RFC 3339 UTC `timestamp` and a
/// non-empty `message`.
pub fn assert_log_lines(lines: &[serde_json::Value]) {
    for line in lines {
        let level = line["level"].as_str().expect("level");
        assert!(
            ["INFO", "WARNING", "ERROR", "CRITICAL"].contains(&level),
            "{line}"
        );
        let timestamp = line["timestamp"].as_str().expect("timestamp");
        assert!(
            chrono::DateTime::parse_from_rfc3339(timestamp).is_ok(),
            "{line}"
        );
        assert!(timestamp.ends_with('Z'), "UTC: {line}");
        assert!(
            line["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{line}"
        );
    }
}
