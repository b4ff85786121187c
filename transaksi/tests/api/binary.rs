//! The `transaksi` binary itself: start-up failures, migrations, JSON logs without secrets,
//! and a clean exit on SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::{basic, fresh_database, postgres, test_redis};
use bukubesar_testkit::assert_log_lines;

const BINARY: &str = env!("CARGO_BIN_EXE_transaksi");
/// Bound on how long the binary may take to start, migrate or stop in these tests.
pub(crate) const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn transaksi(db_name: &str, extra: &[&str]) -> Command {
    let server = postgres::server();
    let mut command = Command::new(BINARY);
    command
        .args(["--host", "127.0.0.1", "--port", "0"])
        .args(["--metrics-addr", "127.0.0.1:0"])
        .args(["--db-host", &server.host()])
        .args(["--db-port", &server.port().to_string()])
        .args(["--db-name", db_name])
        .args(["--redis-port", &test_redis::shared().port().to_string()])
        .args(extra)
        .env("DB_USER", server.user())
        .env_remove("DB_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

fn parse_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
        })
        .collect()
}

#[tokio::test]
async fn a_missing_database_is_one_critical_line_and_exit_1() {
    let output = tokio::time::timeout(
        PROCESS_TIMEOUT,
        transaksi("database_that_does_not_exist", &[]).output(),
    )
    .await
    .expect("exits in time")
    .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let lines = parse_lines(&String::from_utf8_lossy(&output.stdout));
    assert_log_lines(&lines);
    let critical: Vec<&Value> = lines.iter().filter(|l| l["level"] == "CRITICAL").collect();
    assert_eq!(critical.len(), 1, "{lines:?}");
    assert!(
        critical[0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("does not exist"),
        "{lines:?}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn migrate_applies_the_schema_and_exits() {
    let db_name = fresh_database().await;
    let output = tokio::time::timeout(PROCESS_TIMEOUT, transaksi(&db_name, &["migrate"]).output())
        .await
        .expect("exits in time")
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let pool = sqlx::PgPool::connect_with(postgres::server().options(&db_name))
        .await
        .expect("connect");
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables
          WHERE table_name IN ('nasabah', 'rekening', 'jurnal', 'outbox', 'idempotensi')",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(tables, 5);
}

#[tokio::test]
async fn help_documents_flags_and_secret_variables() {
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
        "--redis-host",
        "--redis-port",
        "--log-level",
        "DB_USER",
        "DB_PASSWORD",
        "REDIS_PASSWORD",
        "migrate",
    ] {
        assert!(help.contains(expected), "--help lacks {expected}");
    }
}

/// Every request is logged on exactly one line (this run locks no account and fails nothing).
fn assert_one_line_per_request(lines: &[Value]) {
    let mut per_request = std::collections::BTreeMap::<&str, usize>::new();
    for id in lines.iter().filter_map(|l| l["request_id"].as_str()) {
        *per_request.entry(id).or_default() += 1;
    }
    assert!(per_request.len() >= 6, "{lines:?}");
    for (id, count) in per_request {
        assert_eq!(count, 1, "request {id} wrote {count} lines: {lines:?}");
    }
}

/// Registers a customer through the API; its account number.
pub(crate) async fn register(
    client: &reqwest::Client,
    base: &str,
    nik: &str,
    no_hp: &str,
    pin: &str,
) -> String {
    let registered: Value = client
        .post(format!("{base}/daftar"))
        .json(&serde_json::json!({"nama": "Dewi", "nik": nik, "no_hp": no_hp, "pin": pin}))
        .send()
        .await
        .expect("daftar")
        .json()
        .await
        .expect("json");
    registered["no_rekening"]
        .as_str()
        .expect("no_rekening")
        .to_owned()
}

pub(crate) async fn wait_for_address(child: &mut Child, seen: &mut Vec<String>) -> String {
    wait_for_addresses(child, seen).await.0
}

/// The API's address and the private metrics listener's, as logged once bound.
async fn wait_for_addresses(child: &mut Child, seen: &mut Vec<String>) -> (String, String) {
    let stdout = child.stdout.as_mut().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let (mut api, mut metrics) = (None, None);
    tokio::time::timeout(PROCESS_TIMEOUT, async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            seen.push(line.clone());
            let value: Value = serde_json::from_str(&line).expect("JSON line");
            let address = value["address"].as_str().map(str::to_owned);
            if value["message"] == "transaksi listening" {
                api = address;
            } else if value["message"] == "metrics listening" {
                metrics = address;
            }
            if let (Some(api), Some(metrics)) = (&api, &metrics) {
                return (api.clone(), metrics.clone());
            }
        }
        panic!("transaksi exited before listening: {seen:?}");
    })
    .await
    .expect("starts in time")
}

/// The security headers every answer carries (`Cache-Control` apart).
fn assert_security_headers(reply: &reqwest::Response, what: &str) {
    let headers = reply.headers();
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
    ] {
        assert_eq!(
            headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{what}: {name}"
        );
    }
    assert!(
        headers.contains_key("content-security-policy"),
        "{what}: no Content-Security-Policy"
    );
}

fn header<'a>(reply: &'a reqwest::Response, name: &str) -> &'a str {
    reply
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// `/metrics` is served on the private listener only (`--metrics-addr`), never on the API port;
/// every answer carries the security headers, account data and errors are `no-store`, and the
/// docs page has its own policy, which lets it load only its own files.
#[tokio::test]
async fn metrics_only_on_the_private_port_and_security_headers_on_every_answer() {
    let db_name = fresh_database().await;
    let mut child = transaksi(&db_name, &[]).spawn().expect("spawn transaksi");
    let mut seen = Vec::new();
    let (address, metrics_address) = wait_for_addresses(&mut child, &mut seen).await;
    assert_ne!(address, metrics_address);
    let base = format!("http://{address}");
    let client = reqwest::Client::new();

    let on_api = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("answered");
    assert_eq!(on_api.status(), 404, "/metrics on the API port");
    assert_security_headers(&on_api, "404");
    assert_eq!(header(&on_api, "cache-control"), "no-store");
    let body = on_api.text().await.expect("body");
    assert!(!body.contains("http_server_requests_total"), "{body}");

    let scrape = client
        .get(format!("http://{metrics_address}/metrics"))
        .send()
        .await
        .expect("answered");
    assert_eq!(scrape.status(), 200);
    assert!(
        header(&scrape, "content-type").starts_with("text/plain; version=0.0.4"),
        "{:?}",
        scrape.headers()
    );
    assert_security_headers(&scrape, "/metrics");
    let text = scrape.text().await.expect("body");
    let parsed = bukubesar_testkit::prometheus::parse(&text);
    assert!(parsed.has("auth_failures_total", "counter"), "{text}");
    for elsewhere in ["/daftar", "/docs", "/openapi.json", "/healthz"] {
        let reply = client
            .get(format!("http://{metrics_address}{elsewhere}"))
            .send()
            .await
            .expect("answered");
        assert_eq!(reply.status(), 404, "{elsewhere} on the metrics port");
    }

    // A JSON answer without authentication, and the registration (account data).
    let healthz = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("answered");
    assert_eq!(healthz.status(), 200);
    assert_security_headers(&healthz, "/healthz");
    assert_eq!(
        header(&healthz, "content-security-policy"),
        "default-src 'none'; frame-ancestors 'none'"
    );
    let pin = "192837";
    let registered = client
        .post(format!("{base}/daftar"))
        .json(&serde_json::json!({"nama": "Wulan", "nik": "3201010101010188", "no_hp": "081399990000", "pin": pin}))
        .send()
        .await
        .expect("daftar");
    assert_eq!(registered.status(), 200);
    assert_security_headers(&registered, "/daftar");
    assert_eq!(header(&registered, "cache-control"), "no-store", "/daftar");
    let no_rekening = registered.json::<Value>().await.expect("json")["no_rekening"]
        .as_str()
        .expect("no_rekening")
        .to_owned();

    // An authenticated answer and an error answer.
    let saldo = client
        .get(format!("{base}/saldo/{no_rekening}"))
        .header("Authorization", basic(&no_rekening, pin))
        .send()
        .await
        .expect("saldo");
    assert_eq!(saldo.status(), 200);
    assert_security_headers(&saldo, "/saldo");
    assert_eq!(header(&saldo, "cache-control"), "no-store", "/saldo");
    assert_eq!(
        header(&saldo, "content-security-policy"),
        "default-src 'none'; frame-ancestors 'none'"
    );
    let refused = client
        .get(format!("{base}/saldo/{no_rekening}"))
        .send()
        .await
        .expect("saldo");
    assert_eq!(refused.status(), 401);
    assert_security_headers(&refused, "401");
    assert_eq!(header(&refused, "cache-control"), "no-store", "401");

    // The docs page: its own policy (its own scripts, no inline script), cacheable.
    let page = client
        .get(format!("{base}/docs/"))
        .send()
        .await
        .expect("docs");
    assert_eq!(page.status(), 200);
    assert_security_headers(&page, "/docs/");
    let policy = header(&page, "content-security-policy");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("'unsafe-eval'"), "{policy}");
    assert!(
        !policy
            .split(';')
            .any(|d| d.trim().starts_with("script-src") && d.contains("'unsafe-inline'")),
        "{policy}"
    );
    assert_ne!(header(&page, "cache-control"), "no-store", "/docs/");
    let html = page.text().await.expect("page");
    assert!(
        !html.contains("<script>"),
        "an inline script the policy would block: {html}"
    );
    let document = client
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .expect("openapi.json");
    assert_security_headers(&document, "/openapi.json");
    let document: Value = document.json().await.expect("json");
    assert!(
        document["paths"].get("/metrics").is_none(),
        "/metrics is not documented"
    );

    let status = bukubesar_testkit::terminate(&mut child, PROCESS_TIMEOUT).await;
    assert_eq!(status.code(), Some(0), "SIGTERM stops both listeners");
}

#[tokio::test]
async fn logs_are_json_with_business_fields_and_never_a_pin_and_sigterm_exits_0() {
    let db_name = fresh_database().await;
    let mut child = transaksi(&db_name, &[]).spawn().expect("spawn transaksi");
    let mut seen = Vec::new();
    let address = wait_for_address(&mut child, &mut seen).await;
    let base = format!("http://{address}");
    let client = reqwest::Client::new();

    let pin = "918273";
    let no_rekening = register(&client, &base, "3201010101010103", "081311112222", pin).await;
    let auth = basic(&no_rekening, pin);
    let wrong = basic(&no_rekening, "000000");
    for (authorization, path, body) in [
        (
            &auth,
            "/tabung",
            format!(r#"{{"no_rekening":"{no_rekening}","nominal":150000.5}}"#),
        ),
        (
            &auth,
            "/tarik",
            format!(r#"{{"no_rekening":"{no_rekening}","nominal":50000}}"#),
        ),
        (
            &auth,
            "/tarik",
            format!(r#"{{"no_rekening":"{no_rekening}","nominal":999999}}"#),
        ),
        (
            &wrong,
            "/tabung",
            format!(r#"{{"no_rekening":"{no_rekening}","nominal":1}}"#),
        ),
    ] {
        client
            .post(format!("{base}{path}"))
            .header("Authorization", authorization)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
    }

    // A PIN sent with the wrong JSON type is refused without echoing it anywhere.
    let wrong_type = client
        .post(format!("{base}/daftar"))
        .header("Content-Type", "application/json")
        .body(format!(
            r#"{{"nama":"Eka","nik":"3201010101010104","no_hp":"081311113333","pin":{pin}}}"#
        ))
        .send()
        .await
        .expect("daftar");
    assert_eq!(wrong_type.status(), 400);
    assert!(!wrong_type.text().await.expect("body").contains(pin));

    let pid = child.id().expect("pid").to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    assert!(killed.success());
    let output = tokio::time::timeout(PROCESS_TIMEOUT, child.wait_with_output())
        .await
        .expect("stops in time")
        .expect("output");
    assert_eq!(output.status.code(), Some(0), "SIGTERM is a clean exit");

    let mut stdout = seen.join("\n");
    stdout.push('\n');
    stdout.push_str(&String::from_utf8_lossy(&output.stdout));
    let lines = parse_lines(&stdout);
    assert_log_lines(&lines);

    assert_one_line_per_request(&lines);
    let migrated = lines
        .iter()
        .filter(|l| l["message"] == "database migrations applied")
        .count();
    assert_eq!(migrated, 1, "migrations are applied once per start");

    let line_of = |path: &str, status: u16| {
        let found: Vec<&Value> = lines
            .iter()
            .filter(|l| l["path"] == path && l["status"] == status)
            .collect();
        found
            .first()
            .copied()
            .unwrap_or_else(|| panic!("no line for {path} {status}: {lines:?}"))
    };
    let registered = line_of("/daftar", 200);
    assert_eq!(registered["no_rekening"], no_rekening.as_str());
    let posted = line_of("/tabung", 200);
    assert_eq!(posted["message"], "request completed");
    assert_eq!(posted["no_rekening"], no_rekening.as_str());
    assert_eq!(posted["jenis_transaksi"], "C");
    assert_eq!(posted["nominal"], "150000.50", "two decimals, always");
    assert_eq!(posted["saldo"], "150000.50");
    assert_eq!(posted["replayed"], false);
    assert!(posted["transaksi_id"].as_str().is_some());
    let withdrawn = line_of("/tarik", 200);
    assert_eq!(withdrawn["jenis_transaksi"], "D");
    assert_eq!(withdrawn["nominal"], "50000.00");
    assert_eq!(withdrawn["saldo"], "100000.50");
    let rejected = line_of("/tarik", 400);
    assert_eq!(rejected["level"], "WARNING");
    assert_eq!(rejected["remark"], "saldo tidak cukup");
    assert_eq!(rejected["nominal"], "999999.00");
    let wrong_type = line_of("/daftar", 400);
    let detail = wrong_type["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("JSON data: invalid type at pin (line 1 column "),
        "the parser's account is logged, without the value: {detail}"
    );
    let refused: Vec<&Value> = lines.iter().filter(|l| l["status"] == 401).collect();
    assert_eq!(
        refused.len(),
        1,
        "one line per refused request: {refused:?}"
    );
    assert_eq!(refused[0]["level"], "WARNING");
    assert_eq!(refused[0]["auth_no_rekening"], no_rekening.as_str());
    let of_that_request = lines
        .iter()
        .filter(|l| l["request_id"] == refused[0]["request_id"])
        .count();
    assert_eq!(
        of_that_request, 1,
        "a wrong PIN is logged once, not per layer"
    );

    // The bare PIN digits may appear by chance only inside timestamps, latencies and ids.
    for line in &lines {
        let mut fields = line.as_object().expect("object").clone();
        for noise in [
            "timestamp",
            "latency_ms",
            "request_id",
            "transaksi_id",
            "no_rekening",
            "auth_no_rekening",
            "path",
            "address",
        ] {
            fields.remove(noise);
        }
        let text = serde_json::to_string(&fields).expect("json");
        assert!(!text.contains(pin), "a log line carries the PIN: {line}");
    }
    let everything = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    for secret in [
        format!("\"{pin}\""),
        format!(":{pin}"),
        auth.clone(),
        auth.trim_start_matches("Basic ").to_owned(),
        "\"000000\"".to_owned(),
        "$argon2".to_owned(),
        "Authorization".to_owned(),
    ] {
        assert!(
            !everything.contains(&secret),
            "log output contains {secret}"
        );
    }
}

/// SIGTERM while a deposit is in flight (held on its account's row lock): new connections are
/// refused at once, the deposit still completes with 200, and the process exits 0.
#[tokio::test]
async fn sigterm_finishes_the_in_flight_deposit_refuses_new_connections_and_exits_0() {
    let db_name = fresh_database().await;
    let mut child = transaksi(&db_name, &[]).spawn().expect("spawn transaksi");
    let mut seen = Vec::new();
    let address = wait_for_address(&mut child, &mut seen).await;
    let base = format!("http://{address}");
    let client = reqwest::Client::new();
    let pin = "314159";
    let no_rekening = register(&client, &base, "3201010101010177", "081377778888", pin).await;

    // Hold the account's row lock so the deposit waits inside its transaction.
    let pool = sqlx::PgPool::connect_with(postgres::server().options(&db_name))
        .await
        .expect("connect");
    let mut holder = pool.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM rekening WHERE no_rekening = $1 FOR UPDATE")
        .bind(&no_rekening)
        .execute(&mut *holder)
        .await
        .expect("lock the row");
    let deposit = tokio::spawn({
        let (client, base, no_rekening) = (client.clone(), base.clone(), no_rekening.clone());
        let authorization = basic(&no_rekening, pin);
        async move {
            client
                .post(format!("{base}/tabung"))
                .header("Authorization", authorization)
                .json(&serde_json::json!({"no_rekening": no_rekening, "nominal": 10}))
                .send()
                .await
                .expect("the in-flight deposit is answered")
        }
    });
    tokio::time::timeout(PROCESS_TIMEOUT, async {
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity
                  WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&pool)
            .await
            .expect("pg_stat_activity");
            if waiting > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the deposit waits on the row lock");

    let pid = child.id().expect("pid").to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    assert!(killed.success());
    tokio::time::timeout(PROCESS_TIMEOUT, async {
        while tokio::net::TcpStream::connect(&address).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("new connections are refused after SIGTERM");
    assert!(!deposit.is_finished(), "the deposit is still in flight");

    holder.commit().await.expect("release the row");
    let reply = tokio::time::timeout(PROCESS_TIMEOUT, deposit)
        .await
        .expect("answered in time")
        .expect("task");
    assert_eq!(reply.status(), 200);
    let body: Value = reply.json().await.expect("json");
    assert_eq!(body["saldo"], serde_json::json!(10.0));
    let status = tokio::time::timeout(PROCESS_TIMEOUT, child.wait())
        .await
        .expect("exits in time")
        .expect("status");
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean exit");
}

/// A client that never finishes its request head is disconnected (`--header-read-timeout-ms`);
/// one that sends its head but trickles its body is answered 503 by the request time limit
/// (`--request-timeout-ms`), and nothing is written.
#[tokio::test]
async fn slow_clients_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let db_name = fresh_database().await;
    let mut child = transaksi(
        &db_name,
        &[
            "--header-read-timeout-ms",
            "300",
            "--request-timeout-ms",
            "500",
        ],
    )
    .spawn()
    .expect("spawn transaksi");
    let mut seen = Vec::new();
    let address = wait_for_address(&mut child, &mut seen).await;

    // Slow head: a partial request line and headers, then silence.
    let mut slow_head = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    slow_head
        .write_all(b"POST /daftar HTTP/1.1\r\nHost: bukubesar\r\nContent-Type: appl")
        .await
        .expect("write");
    let mut rest = Vec::new();
    let read = tokio::time::timeout(PROCESS_TIMEOUT, slow_head.read_to_end(&mut rest))
        .await
        .expect("the server closes the connection");
    assert!(
        read.is_err() || !String::from_utf8_lossy(&rest).contains(" 200 "),
        "no request was served: {}",
        String::from_utf8_lossy(&rest)
    );

    // Slow body: the head announces 200 bytes, 10 arrive.
    let mut slow_body = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    slow_body
        .write_all(
            b"POST /daftar HTTP/1.1\r\nHost: bukubesar\r\nContent-Type: application/json\r\n\
              Content-Length: 200\r\nConnection: close\r\n\r\n{\"nama\":\"",
        )
        .await
        .expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(PROCESS_TIMEOUT, slow_body.read_to_end(&mut answer))
        .await
        .expect("answered and closed")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("\"remark\""), "{answer}");

    // The service is unharmed and nothing was registered.
    let ready = reqwest::get(format!("http://{address}/readyz"))
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    let pool = sqlx::PgPool::connect_with(postgres::server().options(&db_name))
        .await
        .expect("connect");
    let customers: i64 = sqlx::query_scalar("SELECT count(*) FROM nasabah")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(customers, 0);
    let _ = child.kill().await;
}

/// The resident memory of a process, from /proc, in KiB.
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line")
}

#[tokio::test]
async fn argon2_memory_goes_back_to_the_kernel() {
    // Each registration runs argon2 with a 19 MiB matrix. Without a fixed mmap threshold
    // (bukubesar_process::memory), glibc kept them resident: 160 registrations left the process
    // at 1.26 GB. With it, the process stays near its idle size.
    const REGISTRATIONS: usize = 96;
    const PARALLEL: usize = 8;
    const MAX_RESIDENT_KIB: u64 = 256 * 1024;
    let db_name = fresh_database().await;
    let mut child = transaksi(&db_name, &["--argon2-max-concurrency", "8"])
        .spawn()
        .expect("spawn transaksi");
    let mut seen = Vec::new();
    let address = wait_for_address(&mut child, &mut seen).await;
    // Keep reading its log, or the pipe fills and the process blocks on writing.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let drain = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut stdout, &mut tokio::io::sink()).await;
    });
    let base = format!("http://{address}");
    let client = reqwest::Client::new();
    for round in 0..REGISTRATIONS / PARALLEL {
        let registrations = (0..PARALLEL).map(|i| {
            let n = round * PARALLEL + i;
            let (client, base) = (&client, &base);
            async move {
                let nik = format!("35{n:014}");
                let no_hp = format!("0815{n:08}");
                register(client, base, &nik, &no_hp, "246810").await
            }
        });
        futures::future::join_all(registrations).await;
    }
    let resident = resident_kib(child.id().expect("running"));
    child.kill().await.expect("kill");
    drain.abort();
    assert!(
        resident < MAX_RESIDENT_KIB,
        "{resident} KiB resident after {REGISTRATIONS} registrations"
    );
}
