//! The bank invariant under faults: Jepsen's "bank" workload, on one machine, with the real
//! binaries. A fixed set of accounts is registered and funded; then concurrent clients
//! transfer random amounts between random pairs of them, each transfer with its own
//! `Idempotency-Key`, while a reader takes snapshot reads of all their balances (one
//! statement: one snapshot) and faults are injected one after another: kill -9 and restart
//! transaksi, kill -9 and restart mutasi, crash and restart PostgreSQL (immediate stop: crash
//! recovery on start), stop and start Redis, kill -9 and start Redis. A client retries an
//! ambiguous outcome (timeout, connection error, 5xx) with the same key until it gets a
//! definite answer.
//!
//! During the run: every snapshot's total across the accounts is the funded total, and no
//! balance in it is negative. Afterwards: every acknowledged transfer is in the journal exactly
//! once (its two legs, debits equal credits) and nothing else is; every answered saldo is the
//! journal's; each account's saldo is its funding plus its acknowledged transfers in minus its
//! acknowledged transfers out; the trial balance is zero; after mutasi drains, every
//! acknowledged transfer is exactly once on both parties' statements (D for the source, C for
//! the destination, same transaction id) and every journal leg exactly once in the statement.
//! The counts are printed. `BUKUBESAR_CHAOS_SECS` sets the workload's length (default 40, at
//! least 30).
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
/// The bank's fixed set of accounts, all transferring among themselves.
const ACCOUNTS: usize = 8;
/// What each account is funded with before the faults start.
const FUNDING: &str = "1000.00";
/// The PIN of every account of the workload.
const PIN: &str = "135790";
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
    snapshots: AtomicU64,
    snapshots_failed: AtomicU64,
}

/// A transfer the client saw succeed.
#[derive(Clone, Debug)]
struct Acked {
    asal: String,
    tujuan: String,
    id: Uuid,
    nominal: Decimal,
    /// The source's saldo right after it, as answered.
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

/// Registers and funds the bank's accounts (before any fault); returns their numbers.
async fn open_accounts(transaksi: &str, pool: &sqlx::PgPool, counts: &Counts) -> Vec<String> {
    let http = reqwest::Client::new();
    let mut accounts = Vec::new();
    for _ in 0..ACCOUNTS {
        let no = register(&http, transaksi, pool, counts, PIN).await;
        let body = format!("{{\"no_rekening\":\"{no}\",\"nominal\":{FUNDING}}}");
        let key = Uuid::new_v4().to_string();
        let Answer::Definite(status, reply) = resolve(counts, "tabung", || {
            http.post(format!("{transaksi}/tabung"))
                .header("Authorization", basic(&no, PIN))
                .header("Idempotency-Key", &key)
                .header("Content-Type", "application/json")
                .body(body.clone())
        })
        .await;
        assert_eq!(status, 200, "funding: {reply}");
        accounts.push(no);
    }
    accounts
}

/// One client: transfers random amounts between random pairs of the accounts until
/// `deadline`. Returns the acknowledged transfers.
async fn client(
    number: usize,
    transaksi: String,
    accounts: Arc<Vec<String>>,
    counts: Arc<Counts>,
    deadline: Instant,
) -> Vec<Acked> {
    let http = reqwest::Client::new();
    let mut acked = Vec::new();
    let mut round: u64 = number as u64;
    while Instant::now() < deadline {
        round = round
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let from = (round >> 33) as usize % accounts.len();
        // Never the source itself.
        let to = (from + 1 + (round >> 13) as usize % (accounts.len() - 1)) % accounts.len();
        let (asal, tujuan) = (accounts[from].clone(), accounts[to].clone());
        let nominal = Decimal::new(((round >> 40) % 30_000 + 1) as i64, 2);
        let key = Uuid::new_v4().to_string();
        // The amount as an exact JSON number (not through a float).
        let body = format!(
            "{{\"no_rekening_asal\":\"{asal}\",\"no_rekening_tujuan\":\"{tujuan}\",\"nominal\":{nominal}}}"
        );
        let authorization = basic(&asal, PIN);
        counts.operations.fetch_add(1, Ordering::Relaxed);
        let Answer::Definite(status, reply) = resolve(&counts, "transfer", || {
            http.post(format!("{transaksi}/transfer"))
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
                    asal,
                    tujuan,
                    id: reply["id"]
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .expect("id"),
                    nominal: decimal("nominal"),
                    saldo: decimal("saldo"),
                });
            }
            400 if reply["remark"] == "saldo tidak cukup" => {
                counts.refused.fetch_add(1, Ordering::Relaxed);
            }
            other => panic!("transfer answered {other}: {reply}"),
        }
    }
    acked
}

/// A snapshot: the accounts' total, their lowest balance, how many, and the trial balance.
type Snapshot = (Option<Decimal>, Option<Decimal>, i64, Option<Decimal>);

/// Snapshot reads of every account's balance until `deadline`: each is one statement (one
/// snapshot); its total must be the funded total, no balance negative, and the trial balance of
/// the whole ledger zero. A read the fault of the moment refuses is counted and skipped.
async fn reader(
    pool: sqlx::PgPool,
    accounts: Arc<Vec<String>>,
    counts: Arc<Counts>,
    deadline: Instant,
) {
    let funded: Decimal = FUNDING.parse::<Decimal>().expect("decimal") * Decimal::from(ACCOUNTS);
    while Instant::now() < deadline {
        // One statement: one snapshot, of the accounts and of the whole trial balance.
        let read: Result<Snapshot, _> = sqlx::query_as(
            "SELECT sum(saldo), min(saldo), count(*), (SELECT sum(saldo) FROM neraca_saldo)
               FROM rekening WHERE no_rekening = ANY($1)",
        )
        .bind(accounts.as_slice())
        .fetch_one(&pool)
        .await;
        match read {
            Ok((total, lowest, n, trial)) => {
                counts.snapshots.fetch_add(1, Ordering::Relaxed);
                assert_eq!(n, ACCOUNTS as i64);
                assert_eq!(total, Some(funded), "a snapshot's total changed");
                assert_eq!(trial, Some(Decimal::ZERO), "a snapshot's trial balance");
                assert!(
                    lowest.is_some_and(|l| l >= Decimal::ZERO),
                    "a negative balance"
                );
            }
            Err(_) => {
                counts.snapshots_failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
            "--metrics-addr",
            "127.0.0.1:0",
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
    let accounts = Arc::new(open_accounts(&transaksi.url(), &pool, &counts).await);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            tokio::spawn(client(
                n,
                transaksi.url(),
                accounts.clone(),
                counts.clone(),
                deadline,
            ))
        })
        .collect();
    let reader = tokio::spawn(reader(
        pool.clone(),
        accounts.clone(),
        counts.clone(),
        deadline,
    ));

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
    reader.await.expect("every snapshot kept the total");

    // Everything is up again: the outbox drains and the statement catches up.
    transaksi.start().await;
    mutasi.start().await;
    let mutasi_pool = sqlx::PgPool::connect_with(server.options(&mutasi_db))
        .await
        .expect("connect");
    let settle = Instant::now() + SETTLE_TIMEOUT;
    loop {
        let journal: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jurnal WHERE no_rekening IS NOT NULL")
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

    check(&pool, &mutasi_pool, &accounts, &acked).await;
    let total: u64 = faults.values().sum();
    println!(
        "bank under faults: {} transfers among {ACCOUNTS} accounts ({} acknowledged, {} refused: \
         saldo tidak cukup), {} snapshot reads with the total unchanged ({} refused by a \
         fault), {} faults {:?}, {} retries, {} ambiguous outcomes resolved",
        counts.operations.load(Ordering::Relaxed),
        counts.acknowledged.load(Ordering::Relaxed),
        counts.refused.load(Ordering::Relaxed),
        counts.snapshots.load(Ordering::Relaxed),
        counts.snapshots_failed.load(Ordering::Relaxed),
        total,
        faults,
        counts.retries.load(Ordering::Relaxed),
        counts.ambiguous_resolved.load(Ordering::Relaxed),
    );
    assert!(counts.snapshots.load(Ordering::Relaxed) > 0);
    assert_eq!(
        faults.len(),
        5,
        "every kind of fault was injected: {faults:?}"
    );
    assert!(counts.acknowledged.load(Ordering::Relaxed) > 0);
    transaksi.kill9().await;
    mutasi.kill9().await;
}

/// A customer leg of the journal: (leg id, transaksi id, account, jenis, nominal, saldo,
/// number).
type JournalRow = (Uuid, Uuid, String, String, Decimal, Decimal, i64);

/// The invariants, from the database's own rows.
async fn check(
    pool: &sqlx::PgPool,
    mutasi_pool: &sqlx::PgPool,
    accounts: &[String],
    acked: &[Acked],
) {
    let journal: Vec<JournalRow> = sqlx::query_as(
        "SELECT id, transaksi_id, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening
           FROM jurnal WHERE no_rekening IS NOT NULL ORDER BY no_rekening, urutan_rekening",
    )
    .fetch_all(pool)
    .await
    .expect("journal");
    let mut legs: HashMap<Uuid, Vec<&JournalRow>> = HashMap::new();
    for row in &journal {
        legs.entry(row.1).or_default().push(row);
    }
    check_transfers(&legs, accounts, acked);
    check_accounts(pool, &journal, accounts, acked).await;
    check_statement(mutasi_pool, &journal, acked).await;
}

/// Every acknowledged transfer exactly once, its two legs as answered; nothing applied that
/// was not acknowledged (the other transactions are the funding deposits).
fn check_transfers(legs: &HashMap<Uuid, Vec<&JournalRow>>, accounts: &[String], acked: &[Acked]) {
    let mut acked_ids = std::collections::HashSet::new();
    for transfer in acked {
        assert!(
            acked_ids.insert(transfer.id),
            "one acknowledgement per transfer"
        );
        let rows = legs
            .get(&transfer.id)
            .unwrap_or_else(|| panic!("acknowledged but lost: {transfer:?}"));
        let [debit, credit] = rows.as_slice() else {
            panic!("{transfer:?}: two customer legs, got {rows:?}");
        };
        let (debit, credit) = if debit.3 == "D" {
            (debit, credit)
        } else {
            (credit, debit)
        };
        assert_eq!(
            (&debit.2, debit.4, debit.5),
            (&transfer.asal, transfer.nominal, transfer.saldo),
            "{transfer:?}"
        );
        assert_eq!(
            (&credit.2, credit.3.as_str(), credit.4),
            (&transfer.tujuan, "C", transfer.nominal)
        );
    }
    assert_eq!(
        legs.len(),
        acked.len() + accounts.len(),
        "transactions in the journal that no client saw acknowledged"
    );
}

/// Per account: numbering, running saldo never negative, saldo = funding + in - out; the
/// trial balance is zero.
async fn check_accounts(
    pool: &sqlx::PgPool,
    journal: &[JournalRow],
    accounts: &[String],
    acked: &[Acked],
) {
    let funding: Decimal = FUNDING.parse().expect("decimal");
    let mut expected: BTreeMap<&str, Decimal> =
        accounts.iter().map(|a| (a.as_str(), funding)).collect();
    for transfer in acked {
        *expected.entry(&transfer.asal).or_default() -= transfer.nominal;
        *expected.entry(&transfer.tujuan).or_default() += transfer.nominal;
    }
    let mut running: BTreeMap<&str, (Decimal, i64)> = BTreeMap::new();
    for (_, _, no, jenis, nominal, saldo, urutan) in journal {
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
            "{no}: saldo = funding + acknowledged transfers in - out"
        );
    }
    let trial: (Decimal, i64) = sqlx::query_as(
        "SELECT (SELECT sum(saldo) FROM neraca_saldo),
                (SELECT count(*) FROM (SELECT transaksi_id FROM jurnal GROUP BY transaksi_id
                  HAVING sum(CASE jenis_transaksi WHEN 'D' THEN nominal ELSE -nominal END) <> 0)
                  AS timpang)",
    )
    .fetch_one(pool)
    .await
    .expect("trial balance");
    assert_eq!(trial, (Decimal::ZERO, 0), "the trial balance");
}

/// The statement: every journal leg exactly once, same transaction, amount, saldo and number;
/// every acknowledged transfer on both parties' statements.
async fn check_statement(mutasi_pool: &sqlx::PgPool, journal: &[JournalRow], acked: &[Acked]) {
    let statement: Vec<JournalRow> = sqlx::query_as(
        "SELECT event_id, transaksi_id, no_rekening, jenis_transaksi, nominal, saldo,
                urutan_rekening
           FROM mutasi",
    )
    .fetch_all(mutasi_pool)
    .await
    .expect("statement");
    assert_eq!(statement.len(), journal.len());
    let by_id: HashMap<Uuid, &JournalRow> = journal.iter().map(|row| (row.0, row)).collect();
    let mut lines: HashMap<(Uuid, &str), &str> = HashMap::new();
    for row in &statement {
        let journal_row = by_id
            .get(&row.0)
            .unwrap_or_else(|| panic!("a statement line without a journal leg: {row:?}"));
        assert_eq!(row, *journal_row);
        assert!(
            lines.insert((row.1, &row.2), &row.3).is_none(),
            "one line per (transaction, account)"
        );
    }
    for transfer in acked {
        assert_eq!(
            lines.get(&(transfer.id, transfer.asal.as_str())),
            Some(&"D"),
            "{transfer:?} on the source's statement"
        );
        assert_eq!(
            lines.get(&(transfer.id, transfer.tujuan.as_str())),
            Some(&"C"),
            "{transfer:?} on the destination's statement"
        );
    }
}
