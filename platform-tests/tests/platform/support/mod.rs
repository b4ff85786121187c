//! `spawn_platform()`: the whole pipeline in one test process, on real servers. A fresh
//! transaksi database and a fresh mutasi database on the throwaway PostgreSQL, a Redis stream
//! of the test's own (on the shared throwaway Redis, or a private one the test can stop),
//! transaksi (HTTP + outbox relay) and mutasi (HTTP + consumer) on port 0.

pub use bukubesar_testkit::redis as test_redis;
pub use bukubesar_testkit::{Account, basic, postgres};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::Parser;
use mutasi::app::stats::ConsumerStats;
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::task::JoinHandle;

/// Bound on waiting for the pipeline to catch up (normally milliseconds; the bound only keeps
/// a broken pipeline from hanging the suite).
pub const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn remark(&self) -> &str {
        self.body["remark"].as_str().unwrap_or("")
    }
    pub fn decimal(&self, field: &str) -> Decimal {
        self.body[field]
            .to_string()
            .parse()
            .unwrap_or_else(|e| panic!("{field} is not a decimal ({e}): {}", self.body))
    }
}

pub struct Options {
    /// A private Redis (the test may stop it) instead of the shared one.
    pub redis_port: Option<u16>,
    /// Start mutasi's consumer with the platform.
    pub consumer: bool,
    pub claim_idle_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            redis_port: None,
            consumer: true,
            claim_idle_ms: 1_000,
        }
    }
}

pub struct Platform {
    pub client: reqwest::Client,
    pub transaksi_url: String,
    pub mutasi_url: String,
    pub transaksi_pool: PgPool,
    pub transaksi_db: String,
    pub mutasi_pool: PgPool,
    pub mutasi_settings: mutasi::config::Settings,
    pub stats: Arc<ConsumerStats>,
    pub transaksi_server: JoinHandle<()>,
    pub relay: JoinHandle<()>,
    pub consumers: Vec<JoinHandle<()>>,
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.transaksi_server.abort();
        self.relay.abort();
        for consumer in &self.consumers {
            consumer.abort();
        }
    }
}

async fn pool(database: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(16)
        .connect_with(postgres::server().options(database))
        .await
        .expect("connect to the test database")
}

async fn serve(router: axum::Router) -> (String, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let address = listener.local_addr().expect("bound address");
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.expect("server runs");
    });
    (format!("http://{address}"), task)
}

pub async fn spawn_platform() -> Platform {
    spawn_platform_with(Options::default()).await
}

pub async fn spawn_platform_with(options: Options) -> Platform {
    bukubesar_testkit::trace_ids();
    let server = postgres::server();
    let transaksi_db = server.create_database("transaksi_test").await;
    let mutasi_db = server.create_database("mutasi_test").await;
    let transaksi_pool = pool(&transaksi_db).await;
    let mutasi_pool = pool(&mutasi_db).await;
    transaksi::datastore::MIGRATOR
        .run(&transaksi_pool)
        .await
        .expect("transaksi migrations");
    mutasi::datastore::MIGRATOR
        .run(&mutasi_pool)
        .await
        .expect("mutasi migrations");

    let redis_port = options
        .redis_port
        .unwrap_or_else(|| test_redis::shared().port())
        .to_string();
    let stream = format!("mutasi-test-{}", uuid::Uuid::new_v4().simple());
    let common = [
        "--port",
        "0",
        "--redis-port",
        &redis_port,
        "--stream",
        &stream,
    ];

    let transaksi_settings =
        transaksi::config::Cli::parse_from(std::iter::once("transaksi").chain(common)).settings;
    let transaksi_datastore = transaksi::datastore::Datastore::new(transaksi_pool.clone());
    let committed = transaksi::app::commit_signal::CommitSignal::default();
    let (transaksi_url, transaksi_server) = serve(transaksi::application(
        &transaksi_settings,
        transaksi_datastore.clone(),
        committed.clone(),
    ))
    .await;
    let relay =
        transaksi::spawn_relay(&transaksi_settings, transaksi_datastore, committed).expect("relay");

    let claim_idle = options.claim_idle_ms.to_string();
    let mutasi_settings = mutasi::config::Cli::parse_from(
        [
            "mutasi",
            "--consumer",
            "consumer-1",
            "--claim-idle-ms",
            &claim_idle,
        ]
        .into_iter()
        .chain(common),
    )
    .settings;
    let stats = Arc::new(ConsumerStats::default());
    let mutasi_datastore = mutasi::datastore::Datastore::new(mutasi_pool.clone());
    let router = mutasi::application(
        &mutasi_settings,
        mutasi_datastore,
        transaksi_pool.clone(),
        stats.clone(),
    )
    .expect("mutasi application");
    let (mutasi_url, _mutasi_server) = serve(router).await;

    let mut platform = Platform {
        client: reqwest::Client::new(),
        transaksi_url,
        mutasi_url,
        transaksi_pool,
        transaksi_db,
        mutasi_pool,
        mutasi_settings,
        stats,
        transaksi_server,
        relay,
        consumers: Vec::new(),
    };
    if options.consumer {
        platform.start_consumer("consumer-1");
    }
    platform
}

impl Platform {
    /// Starts (another) consumer in the group under `name`; abort the task to kill it.
    pub fn start_consumer(&mut self, name: &str) {
        let mut settings = self.mutasi_settings.clone();
        settings.consumer = Some(name.to_owned());
        let datastore = mutasi::datastore::Datastore::new(self.mutasi_pool.clone());
        let task = mutasi::spawn_consumer(&settings, datastore, self.stats.clone())
            .expect("consumer starts");
        self.consumers.push(task);
    }

    /// Aborts every running consumer (as if their processes were killed).
    pub fn kill_consumers(&mut self) {
        for consumer in self.consumers.drain(..) {
            consumer.abort();
        }
    }

    pub fn stream(&self) -> &str {
        &self.mutasi_settings.redis.stream
    }

    pub fn dead_letter_stream(&self) -> String {
        self.mutasi_settings.consumer().dead_letter_stream
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request is answered");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {text:?}"));
        Reply { status, body, text }
    }

    pub async fn register(&self) -> Account {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::json!({
            "nama": "Siti Aminah",
            "nik": format!("33{n:014}"),
            "no_hp": format!("0813{n:08}"),
            "pin": "246810",
        });
        let reply = self
            .send(
                self.client
                    .post(format!("{}/daftar", self.transaksi_url))
                    .json(&body),
            )
            .await;
        assert_eq!(reply.status, 200, "registration: {}", reply.body);
        Account {
            no_rekening: reply.body["no_rekening"]
                .as_str()
                .expect("no_rekening")
                .to_owned(),
            pin: "246810".to_owned(),
        }
    }

    /// `/tabung` or `/tarik` with `nominal` as JSON text.
    pub async fn post_money(&self, path: &str, account: &Account, nominal: &str) -> Reply {
        let body = format!(
            r#"{{"no_rekening":"{}","nominal":{nominal}}}"#,
            account.no_rekening
        );
        self.send(
            self.client
                .post(format!("{}{path}", self.transaksi_url))
                .header("Authorization", account.authorization())
                .header("Content-Type", "application/json")
                .body(body),
        )
        .await
    }

    /// `/transfer` from `from`'s own account, with a `keterangan`.
    pub async fn transfer(
        &self,
        from: &Account,
        to: &str,
        nominal: &str,
        keterangan: &str,
    ) -> Reply {
        let body = serde_json::json!({
            "no_rekening_asal": from.no_rekening,
            "no_rekening_tujuan": to,
            "keterangan": keterangan,
        });
        // The amount is spliced in as JSON text (never through a float).
        let body = body
            .to_string()
            .replacen('{', &format!(r#"{{"nominal":{nominal},"#), 1);
        self.send(
            self.client
                .post(format!("{}/transfer", self.transaksi_url))
                .header("Authorization", from.authorization())
                .header("Content-Type", "application/json")
                .body(body),
        )
        .await
    }

    pub async fn statement(&self, authorization: &str, no_rekening: &str, query: &str) -> Reply {
        self.send(
            self.client
                .get(format!("{}/mutasi/{no_rekening}{query}", self.mutasi_url))
                .header("Authorization", authorization),
        )
        .await
    }

    /// Every line of `account`'s statement, following the cursor `limit` lines at a time.
    pub async fn full_statement(&self, account: &Account, limit: usize) -> Vec<Value> {
        let mut lines = Vec::new();
        let mut query = format!("?limit={limit}");
        loop {
            let reply = self
                .statement(&account.authorization(), &account.no_rekening, &query)
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            let page = reply.body["mutasi"]
                .as_array()
                .expect("mutasi array")
                .clone();
            assert!(page.len() <= limit);
            lines.extend(page);
            match reply.body["next_cursor"].as_str() {
                Some(cursor) => query = format!("?limit={limit}&cursor={cursor}"),
                None => return lines,
            }
        }
    }

    pub async fn statement_rows(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM mutasi")
            .fetch_one(&self.mutasi_pool)
            .await
            .expect("count")
    }

    pub async fn journal_rows(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM jurnal WHERE no_rekening IS NOT NULL")
            .fetch_one(&self.transaksi_pool)
            .await
            .expect("count")
    }

    /// Waits until the statement holds `rows` rows.
    pub async fn wait_for_statement_rows(&self, rows: i64) {
        let reached = tokio::time::timeout(CATCH_UP_TIMEOUT, async {
            while self.statement_rows().await < rows {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(
            reached.is_ok(),
            "the statement reached only {} of {rows} rows",
            self.statement_rows().await
        );
    }

    /// The statement equals the journal: every customer leg exactly once, same transaction,
    /// account, kind, amount, running balance, number, counterparty and texts.
    pub async fn assert_statement_equals_journal(&self) {
        type Row = (
            uuid::Uuid,
            uuid::Uuid,
            String,
            String,
            Decimal,
            Decimal,
            i64,
            Option<String>,
            Option<String>,
        );
        let journal: Vec<Row> = sqlx::query_as(
            "SELECT id, transaksi_id, no_rekening, jenis_transaksi, nominal, saldo,
                    urutan_rekening, no_rekening_lawan, keterangan
               FROM jurnal WHERE no_rekening IS NOT NULL ORDER BY id",
        )
        .fetch_all(&self.transaksi_pool)
        .await
        .expect("journal");
        let statement: Vec<Row> = sqlx::query_as(
            "SELECT event_id, transaksi_id, no_rekening, jenis_transaksi, nominal, saldo,
                    urutan_rekening, no_rekening_lawan, keterangan
               FROM mutasi ORDER BY event_id",
        )
        .fetch_all(&self.mutasi_pool)
        .await
        .expect("statement");
        assert_eq!(
            statement.len(),
            journal.len(),
            "one statement row per journal row"
        );
        assert_eq!(statement, journal);
    }

    /// Entries of the group not yet acknowledged.
    pub async fn pending(&self, port: u16) -> i64 {
        let mut redis = redis_connection(port).await;
        let summary: redis::Value = redis::cmd("XPENDING")
            .arg(self.stream())
            .arg(&self.mutasi_settings.group)
            .query_async(&mut redis)
            .await
            .expect("XPENDING");
        match summary {
            redis::Value::Array(parts) => match parts.first() {
                Some(redis::Value::Int(n)) => *n,
                other => panic!("XPENDING count: {other:?}"),
            },
            other => panic!("XPENDING: {other:?}"),
        }
    }
}

pub async fn redis_connection(port: u16) -> redis::aio::MultiplexedConnection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to the test Redis")
}
