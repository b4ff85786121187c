//! The bank invariant under faults (Jepsen's "bank" workload, on one machine, with the real
//! binaries). Concurrent clients register customers and post deposits and withdrawals, each
//! posting with its own `Idempotency-Key`, while faults are injected one after another:
//! kill -9 and restart transaksi, kill -9 and restart mutasi, crash and restart PostgreSQL
//! (immediate stop: crash recovery on start), stop and start Redis, kill -9 and start Redis.
//! A client retries an ambiguous outcome (timeout, connection error, 5xx) with the same key
//! until it gets a definite answer.
//!
//! Afterwards: every acknowledged posting is in the journal exactly once and nothing else is;
//! every answered saldo is the journal's; no balance was ever negative; each account's saldo is
//! its acknowledged deposits minus its acknowledged withdrawals; after mutasi drains, every
//! journal row is in the statement exactly once with the same amount and running saldo. The
//! counts are printed. `BUKUBESAR_CHAOS_SECS` sets the workload's length (default 40, at least 30).
//!
//! Both binaries are the workspace's own, from the target directory this test was built into
//! (`cargo test --workspace`, the README's test command, builds both).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bukubesar_testkit::{basic, postgres, redis as test_redis, workspace_binary};
use rust_decimal::Decimal;
use serde_json::Value;
use tokio::process::{Child, Command};
use tokio::time::Instant;
use uuid::Uuid;

const CLIENTS: usize = 8;
/// Shortest workload: five kinds of fault, one every 1.5-3.5 s, each recovered before the next.
const MIN_WORKLOAD_SECS: u64 = 30;
/// Accounts each client registers before the faults start (more are registered during them).
const ACCOUNTS_PER_CLIENT: usize = 2;
/// Longest wait for one request's answer before it counts as ambiguous.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a client keeps retrying one operation: far beyond any single fault's outage.
const MAX_RESOLVE: Duration = Duration::from_secs(120);
/// Longest wait for a (re)started service, and for the statement to catch up at the end.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A service process that can be killed and started again on the same port.
struct Service {
    name: &'static str,
    binary: PathBuf,
    args: Vec<String>,
    port: u16,
    log: PathBuf,
    child: Option<Child>,
}

impl Service {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the process and waits for `/readyz`; a start that fails (e.g. PostgreSQL still
    /// recovering) is retried.
    async fn start(&mut self) {
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        let client = reqwest::Client::new();
        loop {
            if self.child.is_none() {
                let log = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.log)
                    .expect("log file");
                let server = postgres_server();
                let child = Command::new(&self.binary)
                    .args(&self.args)
                    .env("DB_USER", server.user())
                    .env_remove("DB_PASSWORD")
                    .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
                    .stdin(Stdio::null())
                    .stdout(log)
                    .stderr(Stdio::null())
                    .kill_on_drop(true)
                    .spawn()
                    .unwrap_or_else(|e| panic!("start {}: {e}", self.name));
                self.child = Some(child);
            }
            let ready = client
                .get(format!("{}/readyz", self.url()))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_exited)) = child.try_wait()
            {
                self.child = None;
            }
            assert!(
                Instant::now() < deadline,
                "{} does not become ready; see {}",
                self.name,
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
}

fn postgres_server() -> &'static postgres::PgServer {
    static SERVER: std::sync::OnceLock<postgres::PgServer> = std::sync::OnceLock::new();
    // Durable: a crash must not lose what was reported committed (the throwaway default
    // trades that for speed).
    SERVER.get_or_init(|| postgres::throwaway_with(postgres::Durability::Durable))
}

#[derive(Default)]
struct Counts {
    operations: AtomicU64,
    acknowledged: AtomicU64,
    refused: AtomicU64,
    registrations: AtomicU64,
    retries: AtomicU64,
    ambiguous_resolved: AtomicU64,
}

/// A posting the client saw succeed.
#[derive(Clone, Debug)]
struct Acked {
    no_rekening: String,
    id: Uuid,
    deposit: bool,
    nominal: Decimal,
    saldo: Decimal,
}

enum Answer {
    Definite(u16, Value),
}

/// Sends the request built by `make` until the answer is definite (2xx or 4xx), retrying an
/// ambiguous one (no answer in time, connection error, 5xx) unchanged.
async fn resolve(
    counts: &Counts,
    what: &str,
    make: impl Fn() -> reqwest::RequestBuilder,
) -> Answer {
    let started = Instant::now();
    let mut ambiguous = false;
    loop {
        let outcome = make().timeout(REQUEST_TIMEOUT).send().await;
        if let Ok(reply) = outcome {
            let status = reply.status().as_u16();
            if status < 500 {
                let body = reply.json::<Value>().await.unwrap_or(Value::Null);
                if ambiguous {
                    counts.ambiguous_resolved.fetch_add(1, Ordering::Relaxed);
                }
                return Answer::Definite(status, body);
            }
        }
        ambiguous = true;
        counts.retries.fetch_add(1, Ordering::Relaxed);
        assert!(
            started.elapsed() < MAX_RESOLVE,
            "{what}: no definite answer in {MAX_RESOLVE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Registers a customer (retrying ambiguous answers); returns its account number. A retry
/// after a registration that did commit is refused as "already registered": the account is
/// then looked up by its NIK.
async fn register(
    http: &reqwest::Client,
    transaksi: &str,
    pool: &sqlx::PgPool,
    counts: &Counts,
    pin: &str,
) -> String {
    let unique = Uuid::new_v4().as_u128();
    let nik = format!("32{:014}", unique % 100_000_000_000_000);
    let no_hp = format!("08{:011}", (unique >> 64) % 100_000_000_000);
    let body =
        serde_json::json!({ "nama": "Nasabah Chaos", "nik": nik, "no_hp": no_hp, "pin": pin });
    let Answer::Definite(status, reply) = resolve(counts, "daftar", || {
        http.post(format!("{transaksi}/daftar")).json(&body)
    })
    .await;
    counts.registrations.fetch_add(1, Ordering::Relaxed);
    match status {
        200 => reply["no_rekening"]
            .as_str()
            .expect("no_rekening")
            .to_owned(),
        400 if reply["field"] == "nik" => {
            sqlx::query_scalar("SELECT no_rekening FROM nasabah WHERE nik = $1")
                .bind(&nik)
                .fetch_one(pool)
                .await
                .expect("a registration refused as a duplicate had committed")
        }
        other => panic!("daftar answered {other}: {reply}"),
    }
}

/// One client: registers its accounts, then posts until `deadline`, registering one more
/// account now and then. Returns the acknowledged postings.
async fn client(
    number: usize,
    transaksi: String,
    pool: sqlx::PgPool,
    counts: Arc<Counts>,
    deadline: Instant,
) -> Vec<Acked> {
    let http = reqwest::Client::new();
    let pin = format!("{:06}", 100_000 + number);
    let mut accounts = Vec::new();
    for _ in 0..ACCOUNTS_PER_CLIENT {
        accounts.push(register(&http, &transaksi, &pool, &counts, &pin).await);
    }
    let mut acked = Vec::new();
    let mut round: u64 = number as u64;
    while Instant::now() < deadline {
        round = round
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        if round.is_multiple_of(97) {
            accounts.push(register(&http, &transaksi, &pool, &counts, &pin).await);
        }
        let no = accounts[(round >> 33) as usize % accounts.len()].clone();
        let deposit = (round >> 20) % 5 < 3;
        let nominal = Decimal::new(((round >> 40) % 50_000 + 1) as i64, 2);
        let key = Uuid::new_v4().to_string();
        let path = if deposit { "tabung" } else { "tarik" };
        // The amount as an exact JSON number (not through a float).
        let body = format!("{{\"no_rekening\":\"{no}\",\"nominal\":{nominal}}}");
        let authorization = basic(&no, &pin);
        counts.operations.fetch_add(1, Ordering::Relaxed);
        let Answer::Definite(status, reply) = resolve(&counts, path, || {
            http.post(format!("{transaksi}/{path}"))
                .header("Authorization", &authorization)
                .header("Idempotency-Key", &key)
                .header("Content-Type", "application/json")
                .body(body.clone())
        })
        .await;
        match status {
            200 => {
                counts.acknowledged.fetch_add(1, Ordering::Relaxed);
                let decimal = |field: &str| -> Decimal {
                    reply[field]
                        .to_string()
                        .parse()
                        .unwrap_or_else(|e| panic!("{field}: {e}: {reply}"))
                };
                acked.push(Acked {
                    no_rekening: no,
                    id: reply["id"]
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .expect("id"),
                    deposit,
                    nominal: decimal("nominal"),
                    saldo: decimal("saldo"),
                });
            }
            400 if !deposit && reply["remark"] == "saldo tidak cukup" => {
                counts.refused.fetch_add(1, Ordering::Relaxed);
            }
            other => panic!("{path} answered {other}: {reply}"),
        }
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bank_invariant_holds_under_crashes_and_outages() {
    let seconds: u64 = std::env::var("BUKUBESAR_CHAOS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40)
        // Long enough for every kind of fault to come round at least once.
        .max(MIN_WORKLOAD_SECS);
    let server = postgres_server();
    let transaksi_db = server.create_database("chaos_transaksi").await;
    let mutasi_db = server.create_database("chaos_mutasi").await;
    let redis = test_redis::RedisServer::start();
    let stream = format!("chaos-{}", Uuid::new_v4().simple());
    let logs = tempfile::tempdir().expect("log directory");
    let database_flags = |db: &str| -> Vec<String> {
        [
            "--host",
            "127.0.0.1",
            "--db-host",
            &server.host(),
            "--db-port",
            &server.port().to_string(),
            "--db-name",
            db,
            "--db-acquire-timeout-ms",
            "2000",
            "--redis-port",
            &redis.port().to_string(),
            "--stream",
            &stream,
            "--request-timeout-ms",
            "4000",
            "--shutdown-grace-secs",
            "1",
            "--log-level",
            "warning",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect()
    };
    let transaksi_port = free_port();
    let mut transaksi_args = database_flags(&transaksi_db);
    transaksi_args.extend([
        "--port".into(),
        transaksi_port.to_string(),
        "--relay-poll-ms".into(),
        "200".into(),
    ]);
    let mut transaksi = Service {
        name: "transaksi",
        binary: workspace_binary("transaksi"),
        args: transaksi_args,
        port: transaksi_port,
        log: logs.path().join("transaksi.log"),
        child: None,
    };
    let mutasi_port = free_port();
    let mut mutasi_args = database_flags(&mutasi_db);
    mutasi_args.extend(
        [
            "--port",
            &mutasi_port.to_string(),
            "--auth-db-name",
            &transaksi_db,
            "--consumer",
            "chaos",
            "--claim-idle-ms",
            "2000",
        ]
        .map(str::to_owned),
    );
    let mut mutasi = Service {
        name: "mutasi",
        binary: workspace_binary("mutasi"),
        args: mutasi_args,
        port: mutasi_port,
        log: logs.path().join("mutasi.log"),
        child: None,
    };
    transaksi.start().await;
    mutasi.start().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect_with(server.options(&transaksi_db))
        .await
        .expect("connect");

    // The workload.
    let counts = Arc::new(Counts::default());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            tokio::spawn(client(
                n,
                transaksi.url(),
                pool.clone(),
                counts.clone(),
                deadline,
            ))
        })
        .collect();

    // The faults, one after another until the deadline, each fully recovered before the next.
    let mut faults: BTreeMap<&str, u64> = BTreeMap::new();
    let mut step: u64 = 0;
    while Instant::now() + Duration::from_secs(3) < deadline {
        tokio::time::sleep(Duration::from_millis(1_500 + (step * 737) % 2_000)).await;
        let fault = match step % 5 {
            0 => {
                transaksi.kill9().await;
                tokio::time::sleep(Duration::from_millis(300)).await;
                transaksi.start().await;
                "kill -9 transaksi"
            }
            1 => {
                redis.stop();
                tokio::time::sleep(Duration::from_millis(1_500)).await;
                redis.resume();
                "stop Redis"
            }
            2 => {
                mutasi.kill9().await;
                tokio::time::sleep(Duration::from_millis(300)).await;
                mutasi.start().await;
                "kill -9 mutasi"
            }
            3 => {
                server.crash();
                tokio::time::sleep(Duration::from_millis(1_000)).await;
                server.start();
                "crash PostgreSQL"
            }
            _ => {
                redis.kill();
                tokio::time::sleep(Duration::from_millis(500)).await;
                redis.resume();
                "kill -9 Redis"
            }
        };
        *faults.entry(fault).or_default() += 1;
        step += 1;
    }
    let mut acked: Vec<Acked> = Vec::new();
    for handle in clients {
        acked.extend(handle.await.expect("client"));
    }

    // Everything is up again: the outbox drains and the statement catches up.
    transaksi.start().await;
    mutasi.start().await;
    let mutasi_pool = sqlx::PgPool::connect_with(server.options(&mutasi_db))
        .await
        .expect("connect");
    let settle = Instant::now() + SETTLE_TIMEOUT;
    loop {
        let journal: i64 = sqlx::query_scalar("SELECT count(*) FROM jurnal")
            .fetch_one(&pool)
            .await
            .expect("journal");
        let statement: i64 = sqlx::query_scalar("SELECT count(*) FROM mutasi")
            .fetch_one(&mutasi_pool)
            .await
            .expect("statement");
        if journal == statement {
            break;
        }
        assert!(
            Instant::now() < settle,
            "the statement does not catch up: {statement} of {journal} rows"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    check(&pool, &mutasi_pool, &acked).await;
    let total: u64 = faults.values().sum();
    println!(
        "bank under faults: {} operations ({} acknowledged, {} refused: saldo tidak cukup), \
         {} registrations, {} faults {:?}, {} retries, {} ambiguous outcomes resolved",
        counts.operations.load(Ordering::Relaxed),
        counts.acknowledged.load(Ordering::Relaxed),
        counts.refused.load(Ordering::Relaxed),
        counts.registrations.load(Ordering::Relaxed),
        total,
        faults,
        counts.retries.load(Ordering::Relaxed),
        counts.ambiguous_resolved.load(Ordering::Relaxed),
    );
    assert_eq!(
        faults.len(),
        5,
        "every kind of fault was injected: {faults:?}"
    );
    assert!(counts.acknowledged.load(Ordering::Relaxed) > 0);
    transaksi.kill9().await;
    mutasi.kill9().await;
}

/// The invariants, from the database's own rows.
async fn check(pool: &sqlx::PgPool, mutasi_pool: &sqlx::PgPool, acked: &[Acked]) {
    type JournalRow = (Uuid, String, String, Decimal, Decimal, i64);
    let journal: Vec<JournalRow> = sqlx::query_as(
        "SELECT id, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening FROM jurnal
          ORDER BY no_rekening, urutan_rekening",
    )
    .fetch_all(pool)
    .await
    .expect("journal");
    let by_id: HashMap<Uuid, &JournalRow> = journal.iter().map(|row| (row.0, row)).collect();
    assert_eq!(by_id.len(), journal.len(), "journal ids are unique");

    // Every acknowledged posting exactly once, with the saldo it was answered with; nothing
    // applied that was not acknowledged.
    let mut acked_ids = std::collections::HashSet::new();
    for posting in acked {
        assert!(
            acked_ids.insert(posting.id),
            "one acknowledgement per posting"
        );
        let row = by_id
            .get(&posting.id)
            .unwrap_or_else(|| panic!("acknowledged but lost: {posting:?}"));
        assert_eq!(row.1, posting.no_rekening);
        assert_eq!(row.2, if posting.deposit { "C" } else { "D" });
        assert_eq!(
            (row.3, row.4),
            (posting.nominal, posting.saldo),
            "{posting:?}"
        );
    }
    assert_eq!(
        journal.len(),
        acked.len(),
        "postings in the journal that no client saw acknowledged"
    );

    // Per account: numbering, running saldo never negative, saldo = deposits - withdrawals.
    let mut expected: BTreeMap<&str, Decimal> = BTreeMap::new();
    for posting in acked {
        let delta = if posting.deposit {
            posting.nominal
        } else {
            -posting.nominal
        };
        *expected.entry(&posting.no_rekening).or_default() += delta;
    }
    let mut running: BTreeMap<&str, (Decimal, i64)> = BTreeMap::new();
    for (_, no, jenis, nominal, saldo, urutan) in &journal {
        let entry = running.entry(no).or_default();
        entry.0 += if jenis == "C" { *nominal } else { -*nominal };
        entry.1 += 1;
        assert!(entry.0 >= Decimal::ZERO, "{no}: negative running saldo");
        assert_eq!(*saldo, entry.0, "{no}: the journal's running saldo");
        assert_eq!(*urutan, entry.1, "{no}: transaction numbers 1, 2, 3, ...");
    }
    let balances: Vec<(String, Decimal)> =
        sqlx::query_as("SELECT no_rekening, saldo FROM rekening WHERE jumlah_transaksi > 0")
            .fetch_all(pool)
            .await
            .expect("balances");
    assert_eq!(balances.len(), expected.len());
    for (no, saldo) in &balances {
        assert!(*saldo >= Decimal::ZERO);
        assert_eq!(
            Some(saldo),
            expected.get(no.as_str()),
            "{no}: saldo = acknowledged deposits - acknowledged withdrawals"
        );
    }

    // The statement: every journal row exactly once, same amount, saldo and number.
    type StatementRow = (Uuid, String, String, Decimal, Decimal, i64);
    let statement: Vec<StatementRow> = sqlx::query_as(
        "SELECT event_id, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening FROM mutasi",
    )
    .fetch_all(mutasi_pool)
    .await
    .expect("statement");
    assert_eq!(statement.len(), journal.len());
    for row in &statement {
        let journal_row = by_id
            .get(&row.0)
            .unwrap_or_else(|| panic!("a statement line without a journal row: {row:?}"));
        assert_eq!(
            (&row.1, &row.2, row.3, row.4, row.5),
            (
                &journal_row.1,
                &journal_row.2,
                journal_row.3,
                journal_row.4,
                journal_row.5
            )
        );
    }
}
