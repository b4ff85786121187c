//! Observability end to end, with both real binaries: one deposit is ONE trace from transaksi's
//! HTTP request to mutasi's statement insert (linked through the outbox row and the stream
//! entry), exported over OTLP/gRPC to a receiver started here and flushed at SIGTERM; the
//! request's log line carries that trace; `/metrics` of both services (on their private
//! listeners, `--metrics-addr`; the API ports answer 404) is valid Prometheus text,
//! its counters move with the requests, and it declares exactly the metrics (and types) that
//! the table in docs/operations.md lists for that service.
//!
//! Both binaries are the workspace's own, from the target directory this test was built into
//! (`cargo test --workspace`, the README's test command, builds both).

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bukubesar_testkit::otlp::{OtlpReceiver, ReceivedSpan};
use bukubesar_testkit::{
    assert_log_lines, basic, postgres, prometheus, redis as test_redis, terminate, workspace_binary,
};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Bound on starting, answering and stopping in this test.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);
/// The incoming trace context of the deposit (W3C example ids).
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";
const PIN: &str = "246810";
const WRONG_PIN: &str = "135790";
const REDIS_PASSWORD: &str = "r3dis-s3cret-for-telemetry";

/// OTLP span kinds.
const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const PRODUCER: i32 = 4;
const CONSUMER: i32 = 5;

/// A service process whose JSON log lines are collected as they come.
struct Service {
    child: Child,
    address: String,
    /// The private listener's, where `/metrics` is served.
    metrics_address: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Service {
    async fn start(mut command: Command, name: &str) -> Service {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (listening_tx, listening_rx) = tokio::sync::oneshot::channel();
        let collected = lines.clone();
        let listening_message = format!("{name} listening");
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            let mut listening_tx = Some(listening_tx);
            let (mut api, mut metrics) = (None, None);
            while let Ok(Some(line)) = reader.next_line().await {
                if let Ok(value) = serde_json::from_str::<Value>(&line) {
                    let address = value["address"].as_str().map(str::to_owned);
                    if value["message"] == listening_message.as_str() {
                        api = address;
                    } else if value["message"] == "metrics listening" {
                        metrics = address;
                    }
                    if let (Some(api), Some(metrics)) = (&api, &metrics)
                        && let Some(tx) = listening_tx.take()
                    {
                        let _ = tx.send((api.clone(), metrics.clone()));
                    }
                }
                collected.lock().expect("lines").push(line);
            }
        });
        let (address, metrics_address) = tokio::time::timeout(PROCESS_TIMEOUT, listening_rx)
            .await
            .unwrap_or_else(|_| panic!("{name} listens in time; log: {:?}", lines.lock()))
            .unwrap_or_else(|_| panic!("{name} exited before listening; log: {:?}", lines.lock()));
        Service {
            child,
            address,
            metrics_address,
            lines,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// `/metrics`, from the private listener (the API port answers 404 there).
    async fn metrics(&self) -> (String, prometheus::Scrape) {
        let on_api = reqwest::get(self.url("/metrics")).await.expect("/metrics");
        assert_eq!(on_api.status(), 404, "/metrics on the API port");
        let reply = reqwest::get(format!("http://{}/metrics", self.metrics_address))
            .await
            .expect("/metrics");
        assert_eq!(reply.status(), 200);
        let content_type = reply.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        let text = reply.text().await.expect("body");
        let scrape = prometheus::parse(&text);
        (text, scrape)
    }

    /// SIGTERM, then the exit status and every log line as JSON.
    async fn stop(mut self) -> Vec<Value> {
        let status = terminate(&mut self.child, PROCESS_TIMEOUT).await;
        assert_eq!(status.code(), Some(0), "SIGTERM is a clean exit");
        // The reader task ends with the pipe; give it a moment to take the last lines.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let lines = self.lines.lock().expect("lines").clone();
        lines
            .iter()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
            })
            .collect()
    }
}

fn common_flags(command: &mut Command, db_name: &str, stream: &str, otlp: &str, redis_port: u16) {
    let server = postgres::server();
    command
        .args(["--host", "127.0.0.1", "--port", "0"])
        .args(["--metrics-addr", "127.0.0.1:0"])
        .args(["--db-host", &server.host()])
        .args(["--db-port", &server.port().to_string()])
        .args(["--db-name", db_name])
        .args(["--redis-port", &redis_port.to_string()])
        .env("REDIS_PASSWORD", REDIS_PASSWORD)
        .args(["--stream", stream])
        .args(["--otlp-endpoint", otlp])
        .env("DB_USER", server.user())
        .env_remove("DB_PASSWORD")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT");
}

fn one<'a>(
    spans: &'a [ReceivedSpan],
    what: &str,
    matches: impl Fn(&ReceivedSpan) -> bool,
) -> &'a ReceivedSpan {
    let found: Vec<&ReceivedSpan> = spans.iter().filter(|s| matches(s)).collect();
    assert_eq!(found.len(), 1, "exactly one {what}; spans: {spans:#?}");
    found[0]
}

/// The log format, and no PIN in any line.
fn assert_log_shape(lines: &[Value]) {
    assert_log_lines(lines);
    for line in lines {
        assert!(!line.to_string().contains(PIN), "a PIN in the log: {line}");
    }
}

/// docs/operations.md, whose metrics table must say exactly what `/metrics` serves.
fn metrics_table() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/operations.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_deposit_is_one_trace_from_the_request_to_the_statement_row() {
    let receiver = OtlpReceiver::start().await;
    let server = postgres::server();
    let transaksi_db = server.create_database("transaksi_otel").await;
    let mutasi_db = server.create_database("mutasi_otel").await;
    let stream = format!("otel-{}", uuid::Uuid::new_v4().simple());
    let redis = test_redis::RedisServer::start_with_password(REDIS_PASSWORD);

    let mut command = Command::new(workspace_binary("transaksi"));
    common_flags(
        &mut command,
        &transaksi_db,
        &stream,
        receiver.endpoint(),
        redis.port(),
    );
    let transaksi = Service::start(command, "transaksi").await;
    let mut command = Command::new(workspace_binary("mutasi"));
    common_flags(
        &mut command,
        &mutasi_db,
        &stream,
        receiver.endpoint(),
        redis.port(),
    );
    command.args(["--auth-db-name", &transaksi_db, "--consumer", "otel-test"]);
    let mutasi = Service::start(command, "mutasi").await;

    let (_, before) = transaksi.metrics().await;
    assert_eq!(before.value("transaksi_postings_total", &[]), 0.0);

    let client = reqwest::Client::new();
    let registered: Value = client
        .post(transaksi.url("/daftar"))
        .json(&serde_json::json!({
            "nama": "Dewi Lestari", "nik": "3201010101010188", "no_hp": "081322224444", "pin": PIN
        }))
        .send()
        .await
        .expect("daftar")
        .json()
        .await
        .expect("JSON");
    let no_rekening = registered["no_rekening"]
        .as_str()
        .expect("no_rekening")
        .to_owned();
    let deposit = client
        .post(transaksi.url("/tabung"))
        .header("Authorization", basic(&no_rekening, PIN))
        .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN_ID}-01"))
        .header("x-request-id", "otel-tabung-1")
        .json(&serde_json::json!({ "no_rekening": no_rekening, "nominal": 150000 }))
        .send()
        .await
        .expect("tabung");
    assert_eq!(deposit.status(), 200);
    let wrong_pin = client
        .post(transaksi.url("/tabung"))
        .header("Authorization", basic(&no_rekening, WRONG_PIN))
        .json(&serde_json::json!({ "no_rekening": no_rekening, "nominal": 1 }))
        .send()
        .await
        .expect("tabung");
    assert_eq!(wrong_pin.status(), 401);
    let wrong_pin_answer = wrong_pin.text().await.expect("body");

    let statement = tokio::time::timeout(PROCESS_TIMEOUT, async {
        loop {
            let reply: Value = client
                .get(mutasi.url(&format!("/mutasi/{no_rekening}")))
                .header("Authorization", basic(&no_rekening, PIN))
                .send()
                .await
                .expect("mutasi")
                .json()
                .await
                .expect("JSON");
            if reply["mutasi"]
                .as_array()
                .is_some_and(|rows| !rows.is_empty())
            {
                return reply;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the deposit reaches the statement");
    assert_eq!(statement["mutasi"].as_array().map(Vec::len), Some(1));

    // Metrics: valid text, and the counters moved with exactly these requests.
    let (text, after) = transaksi.metrics().await;
    let mut emitted = vec![text.clone()];
    for (name, kind) in [
        ("http_server_requests_total", "counter"),
        ("http_server_request_duration_seconds", "histogram"),
        ("auth_failures_total", "counter"),
        ("transaksi_postings_total", "counter"),
        ("transaksi_posted_amount_rupiah", "histogram"),
        ("outbox_backlog", "gauge"),
        ("outbox_published_total", "counter"),
    ] {
        assert!(
            after.has(name, kind),
            "transaksi /metrics lacks {kind} {name}:\n{text}"
        );
    }
    let tabung = [("method", "POST"), ("route", "/tabung")];
    assert_eq!(
        after.value(
            "http_server_requests_total",
            &[("route", "/tabung"), ("status", "200")]
        ),
        1.0
    );
    assert_eq!(
        after.value(
            "http_server_requests_total",
            &[("route", "/tabung"), ("status", "401")]
        ),
        1.0
    );
    assert_eq!(
        after.value(
            "http_server_requests_total",
            &[("route", "/daftar"), ("status", "200")]
        ),
        1.0
    );
    assert_eq!(
        after.value("http_server_request_duration_seconds_count", &tabung),
        2.0
    );
    assert_eq!(
        after.value("auth_failures_total", &[("reason", "wrong_credentials")]),
        1.0
    );
    assert_eq!(
        after.value(
            "transaksi_postings_total",
            &[("jenis", "tabung"), ("hasil", "posted")]
        ),
        1.0
    );
    assert_eq!(
        after.value("transaksi_posted_amount_rupiah_sum", &[("jenis", "tabung")]),
        150000.0
    );
    assert_eq!(after.value("transaksi_registrations_total", &[]), 1.0);
    assert_eq!(after.value("outbox_published_total", &[]), 1.0);
    assert_eq!(after.value("outbox_backlog", &[]), 0.0);
    assert!(!text.contains(&no_rekening), "no account number in metrics");
    prometheus::assert_documented(&after, &metrics_table(), "transaksi");

    let (text, consumed) = mutasi.metrics().await;
    emitted.push(text.clone());
    for (name, kind) in [
        ("mutasi_statement_rows_inserted_total", "counter"),
        ("mutasi_dead_lettered_total", "counter"),
        ("mutasi_consumer_lag", "gauge"),
        ("mutasi_consumer_pending", "gauge"),
        ("mutasi_statement_insert_duration_seconds", "histogram"),
        ("http_server_requests_total", "counter"),
    ] {
        assert!(
            consumed.has(name, kind),
            "mutasi /metrics lacks {kind} {name}:\n{text}"
        );
    }
    assert_eq!(
        consumed.value("mutasi_statement_rows_inserted_total", &[]),
        1.0
    );
    assert_eq!(consumed.value("mutasi_dead_lettered_total", &[]), 0.0);
    assert_eq!(consumed.value("mutasi_consumer_pending", &[]), 0.0);
    assert_eq!(consumed.value("mutasi_consumer_lag", &[]), 0.0);
    assert!(consumed.value("mutasi_statement_insert_duration_seconds_count", &[]) >= 1.0);
    assert!(
        consumed.value(
            "http_server_requests_total",
            &[("route", "/mutasi/{no_rekening}"), ("status", "200")]
        ) >= 1.0
    );
    assert!(!text.contains(&no_rekening), "no account number in metrics");
    prometheus::assert_documented(&consumed, &metrics_table(), "mutasi");

    // Stop at once: spans still queued for export must be sent at exit.
    let transaksi_log = transaksi.stop().await;
    let mutasi_log = mutasi.stop().await;
    assert_log_shape(&transaksi_log);
    assert_log_shape(&mutasi_log);

    let spans = receiver.spans();
    let trace: Vec<ReceivedSpan> = spans
        .iter()
        .filter(|s| s.trace_id == TRACE_ID)
        .cloned()
        .collect();
    let request = one(&trace, "transaksi request span", |s| {
        s.name == "POST /tabung"
    });
    assert_eq!(request.service, "transaksi");
    assert_eq!(request.kind, SERVER);
    assert_eq!(
        request.parent_span_id, CALLER_SPAN_ID,
        "continues the caller's trace"
    );
    let auth = one(&trace, "auth span", |s| s.name == "auth.verify");
    assert_eq!(auth.parent_span_id, request.span_id);
    let posting = one(&trace, "posting transaction span", |s| {
        s.name == "db.posting"
    });
    assert_eq!(
        (posting.parent_span_id.as_str(), posting.kind),
        (request.span_id.as_str(), CLIENT)
    );
    let publish = one(&trace, "outbox XADD span", |s| s.name == "outbox.publish");
    assert_eq!(
        (publish.service.as_str(), publish.kind),
        ("transaksi", PRODUCER)
    );
    assert_eq!(publish.parent_span_id, posting.span_id);
    let consume = one(&trace, "consume span", |s| s.name == "mutasi.consume");
    assert_eq!(
        (consume.service.as_str(), consume.kind),
        ("mutasi", CONSUMER)
    );
    assert_eq!(
        consume.parent_span_id, publish.span_id,
        "linked through the stream entry"
    );
    let insert = one(&trace, "statement insert span", |s| {
        s.name == "mutasi.insert"
    });
    assert_eq!(
        (insert.service.as_str(), insert.parent_span_id.as_str()),
        ("mutasi", consume.span_id.as_str())
    );
    assert!(
        spans.iter().any(|s| s.service == "mutasi"
            && s.name == "GET /mutasi/{no_rekening}"
            && s.kind == SERVER),
        "mutasi's own request spans are exported too"
    );
    assert!(
        spans.iter().all(|s| !s.name.contains(&no_rekening)),
        "span names are route patterns, never account numbers"
    );

    // No secret anywhere in what the run emitted: logs, spans (names and attributes), metrics,
    // and the error answers.
    emitted.extend(
        transaksi_log
            .iter()
            .chain(&mutasi_log)
            .map(Value::to_string),
    );
    emitted.extend(spans.iter().map(|s| format!("{s:?}")));
    emitted.push(wrong_pin_answer.clone());
    for text in &emitted {
        for secret in [PIN, WRONG_PIN, REDIS_PASSWORD] {
            assert!(
                !text.contains(secret),
                "a secret ({secret}) was emitted: {text}"
            );
        }
    }

    // The request's log line leads to its trace.
    let line = transaksi_log
        .iter()
        .find(|l| l["request_id"] == "otel-tabung-1" && l["message"] == "request completed")
        .expect("the deposit's request line");
    assert_eq!(line["trace_id"], TRACE_ID);
    assert_eq!(line["span_id"], request.span_id.as_str());
    assert!(
        transaksi_log
            .iter()
            .any(|l| l["message"] == "pending spans sent"),
        "the exit flushes the span queue"
    );
}
