//! The `mutasi` binary: its flags are the ones the operator and compose pass, it starts on
//! real PostgreSQL and Redis (with AUTH), reports readiness, writes JSON logs and exits 0 on
//! SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use bukubesar_testkit::{postgres, redis as test_redis};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_mutasi");
const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn help_lists_the_flags_and_secret_variables() {
    let output = Command::new(BINARY)
        .arg("--help")
        .output()
        .await
        .expect("runs");
    let help = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "--host",
        "--port",
        "--metrics-addr",
        "--db-host",
        "--db-port",
        "--db-name",
        "--db-sslmode",
        "--auth-db-name",
        "--redis-host",
        "--redis-port",
        "--stream",
        "--group",
        "--consumer",
        "--log-level",
        "DB_USER",
        "DB_PASSWORD",
        "REDIS_PASSWORD",
        "migrate",
    ] {
        assert!(help.contains(expected), "--help lacks {expected}");
    }
}

#[tokio::test]
async fn becomes_ready_with_redis_auth_and_exits_0_on_sigterm() {
    let server = postgres::server();
    let transaksi_db = server.create_database("transaksi_test").await;
    let mutasi_db = server.create_database("mutasi_test").await;
    let pool = sqlx::PgPool::connect_with(server.options(&transaksi_db))
        .await
        .expect("connect");
    // transaksi's schema holds the credential table mutasi authenticates against.
    sqlx::migrate!("../migrations/transaksi")
        .run(&pool)
        .await
        .expect("migrate transaksi");
    let redis = test_redis::RedisServer::start_with_password("s3cret-redis");
    let stream = format!("mutasi-bin-{}", uuid::Uuid::new_v4().simple());

    let mut child = Command::new(BINARY)
        .args(["--host", "127.0.0.1", "--port", "0"])
        .args(["--metrics-addr", "127.0.0.1:0"])
        .args([
            "--db-host",
            &server.host(),
            "--db-port",
            &server.port().to_string(),
        ])
        .args(["--db-name", &mutasi_db, "--auth-db-name", &transaksi_db])
        .args([
            "--redis-port",
            &redis.port().to_string(),
            "--stream",
            &stream,
        ])
        .args(["--group", "mutasi", "--consumer", "pod-a"])
        .env("DB_USER", server.user())
        .env_remove("DB_PASSWORD")
        .env("REDIS_PASSWORD", "s3cret-redis")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    let (mut api, mut metrics) = (None, None);
    let (address, metrics_address) = tokio::time::timeout(PROCESS_TIMEOUT, async {
        while let Some(line) = lines.next_line().await.expect("read") {
            let value: Value = serde_json::from_str(&line).expect("a JSON line");
            seen.push(line.clone());
            let address = value["address"].as_str().map(str::to_owned);
            if value["message"] == "mutasi listening" {
                api = address;
            } else if value["message"] == "metrics listening" {
                metrics = address;
            }
            if let (Some(api), Some(metrics)) = (&api, &metrics) {
                return (api.clone(), metrics.clone());
            }
        }
        panic!("exited before listening: {seen:?}");
    })
    .await
    .expect("listens in time");

    let client = reqwest::Client::new();
    let ready = tokio::time::timeout(PROCESS_TIMEOUT, async {
        loop {
            let reply = client
                .get(format!("http://{address}/readyz"))
                .send()
                .await
                .expect("answered");
            if reply.status() == 200 {
                return reply.json::<Value>().await.expect("JSON");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("becomes ready (database, credential table, Redis with AUTH)");
    assert_eq!(ready["redis"], "ok");
    assert_eq!(ready["credentials"], "ok");

    // /metrics: on the private listener, never on the API port.
    let on_api = client
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .expect("answered");
    assert_eq!(on_api.status(), 404, "/metrics on the API port");
    assert_eq!(on_api.headers()["x-content-type-options"], "nosniff");
    assert_eq!(on_api.headers()["cache-control"], "no-store");
    let scrape = client
        .get(format!("http://{metrics_address}/metrics"))
        .send()
        .await
        .expect("answered");
    assert_eq!(scrape.status(), 200);
    let text = scrape.text().await.expect("body");
    assert!(
        bukubesar_testkit::prometheus::parse(&text).has("auth_failures_total", "counter"),
        "{text}"
    );

    let status = bukubesar_testkit::terminate(&mut child, PROCESS_TIMEOUT).await;
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean exit");
    while let Ok(Some(line)) = lines.next_line().await {
        seen.push(line);
    }
    for line in &seen {
        let value: Value = serde_json::from_str(line).expect("JSON line");
        let level = value["level"].as_str().expect("level");
        assert!(
            ["INFO", "WARNING", "ERROR", "CRITICAL"].contains(&level),
            "{line}"
        );
        assert!(
            !line.contains("s3cret-redis"),
            "a secret in the log: {line}"
        );
    }
    assert!(
        seen.iter()
            .any(|l| l.contains("statement consumer started")),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|l| l.contains("mutasi stopped")),
        "{seen:?}"
    );
}
