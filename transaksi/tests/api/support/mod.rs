//! `spawn_app()`: a fresh database (migrated) and a transaksi server on port 0 for each test.

pub use bukubesar_testkit::redis as test_redis;
pub use bukubesar_testkit::{Account, basic, postgres};

use std::sync::atomic::{AtomicU64, Ordering};

use clap::Parser;
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use transaksi::app::commit_signal::CommitSignal;
use transaksi::config::{Cli, Settings};

pub struct TestApp {
    pub base_url: String,
    pub client: reqwest::Client,
    pub pool: PgPool,
    pub db_name: String,
    pub settings: Settings,
    /// The datastore behind the server.
    pub datastore: Option<transaksi::datastore::Datastore>,
    /// What the server's postings ring, to wake a relay started with [`TestApp::start_relay`].
    pub committed: CommitSignal,
}

/// A response reduced to what tests look at.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text))
    }
    pub fn remark(&self) -> String {
        self.json()["remark"]
            .as_str()
            .unwrap_or_else(|| panic!("no remark in {:?}", self.text))
            .to_owned()
    }
    /// The `saldo` field read from its exact JSON text.
    pub fn saldo(&self) -> Decimal {
        let value = self.json();
        let text = value["saldo"].to_string();
        text.parse()
            .unwrap_or_else(|e| panic!("saldo {text} is not a decimal ({e}): {}", self.text))
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    bukubesar_testkit::trace_ids();
    let server = postgres::server();
    let db_name = fresh_database().await;
    let pool = PgPoolOptions::new()
        .max_connections(24)
        .connect_with(server.options(&db_name))
        .await
        .expect("connect to the test database");
    transaksi::datastore::MIGRATOR
        .run(&pool)
        .await
        .expect("migrations apply");
    // The relay (when a test starts one) publishes to this process's throwaway Redis, on a
    // stream of the test's own.
    let redis_port = test_redis::shared().port().to_string();
    let stream = format!("mutasi-test-{}", uuid::Uuid::new_v4().simple());
    let mut settings = Cli::parse_from([
        "transaksi",
        "--port",
        "0",
        "--redis-port",
        &redis_port,
        "--stream",
        &stream,
        // Tests fire bursts of up to 100 refusals at once, each an argon2 verification (a
        // dummy one when the account is locked): on two busy cores they may queue for more
        // than the default second. The bound itself is tested against the binary.
        "--argon2-queue-timeout-ms",
        "60000",
    ])
    .settings;
    customize(&mut settings);
    let app = TestApp {
        base_url: String::new(),
        client: reqwest::Client::new(),
        pool,
        db_name,
        settings,
        datastore: None,
        committed: CommitSignal::default(),
    };
    app.start_server().await
}

/// Creates an empty database (no tables) on the test server and returns its name.
pub async fn fresh_database() -> String {
    postgres::server().create_database("transaksi_test").await
}

impl TestApp {
    /// Starts (another) server over the same database: a restart, or a second replica.
    /// The new server has its own, empty credential cache.
    pub async fn start_server(mut self) -> TestApp {
        let datastore = transaksi::datastore::Datastore::new(self.pool.clone());
        let router =
            transaksi::application(&self.settings, datastore.clone(), self.committed.clone());
        self.datastore = Some(datastore);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let address = listener.local_addr().expect("bound address");
        tokio::spawn(async move {
            axum::serve(listener, router).await.expect("server runs");
        });
        self.base_url = format!("http://{address}");
        self
    }

    pub async fn replica(&self) -> TestApp {
        TestApp {
            base_url: String::new(),
            client: reqwest::Client::new(),
            pool: self.pool.clone(),
            db_name: self.db_name.clone(),
            settings: self.settings.clone(),
            datastore: None,
            committed: CommitSignal::default(),
        }
        .start_server()
        .await
    }

    /// Starts an outbox relay beside this server; `abort()` the task to stop it.
    pub fn start_relay(&self) -> tokio::task::JoinHandle<()> {
        let datastore = self.datastore.clone().expect("server started");
        transaksi::spawn_relay(&self.settings, datastore, self.committed.clone())
            .expect("relay starts")
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request is answered");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        Reply {
            status,
            headers,
            text,
        }
    }

    pub async fn get(&self, path: &str, authorization: Option<&str>) -> Reply {
        let mut request = self.client.get(format!("{}{path}", self.base_url));
        if let Some(auth) = authorization {
            request = request.header("Authorization", auth);
        }
        self.send(request).await
    }

    /// POSTs a raw JSON text with `Content-Type: application/json`.
    pub async fn post_json(
        &self,
        path: &str,
        authorization: Option<&str>,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base_url))
            .header("Content-Type", "application/json")
            .body(body.to_owned());
        if let Some(auth) = authorization {
            request = request.header("Authorization", auth);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    pub async fn daftar(&self, nama: &str, nik: &str, no_hp: &str, pin: &str) -> Reply {
        let body = serde_json::json!({ "nama": nama, "nik": nik, "no_hp": no_hp, "pin": pin });
        self.post_json("/daftar", None, &body.to_string(), &[])
            .await
    }

    /// Registers a customer with a unique nik and no_hp and the given PIN.
    pub async fn register_with_pin(&self, pin: &str) -> Account {
        let (nik, no_hp) = unique_identity();
        let reply = self.daftar("Budi Santoso", &nik, &no_hp, pin).await;
        assert_eq!(reply.status, 200, "registration: {}", reply.text);
        Account {
            no_rekening: reply.json()["no_rekening"]
                .as_str()
                .expect("no_rekening")
                .to_owned(),
            pin: pin.to_owned(),
        }
    }

    pub async fn register(&self) -> Account {
        self.register_with_pin("123456").await
    }

    /// `/tabung` or `/tarik` for `account`'s own number, `nominal` given as JSON text.
    pub async fn post_money(&self, path: &str, account: &Account, nominal: &str) -> Reply {
        self.post_money_with(path, account, &account.no_rekening, nominal, &[])
            .await
    }

    pub async fn post_money_with(
        &self,
        path: &str,
        account: &Account,
        no_rekening: &str,
        nominal: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        let body = format!(r#"{{"no_rekening":"{no_rekening}","nominal":{nominal}}}"#);
        self.post_json(path, Some(&account.authorization()), &body, headers)
            .await
    }

    pub async fn tabung(&self, account: &Account, nominal: &str) -> Reply {
        self.post_money("/tabung", account, nominal).await
    }

    pub async fn tarik(&self, account: &Account, nominal: &str) -> Reply {
        self.post_money("/tarik", account, nominal).await
    }

    pub async fn saldo(&self, account: &Account) -> Reply {
        self.get(
            &format!("/saldo/{}", account.no_rekening),
            Some(&account.authorization()),
        )
        .await
    }

    /// The balance as stored.
    pub async fn saldo_in_db(&self, no_rekening: &str) -> Decimal {
        sqlx::query_scalar("SELECT saldo FROM rekening WHERE no_rekening = $1")
            .bind(no_rekening)
            .fetch_one(&self.pool)
            .await
            .expect("saldo row")
    }

    pub async fn count(&self, sql: &'static str, no_rekening: &str) -> i64 {
        sqlx::query_scalar(sql)
            .bind(no_rekening)
            .fetch_one(&self.pool)
            .await
            .expect("count query")
    }

    /// `POST /transfer` from `from`'s own account, `nominal` as JSON text.
    pub async fn transfer(&self, from: &Account, to: &str, nominal: &str) -> Reply {
        let body = format!(
            r#"{{"no_rekening_asal":"{}","no_rekening_tujuan":"{to}","nominal":{nominal}}}"#,
            from.no_rekening
        );
        self.post_json("/transfer", Some(&from.authorization()), &body, &[])
            .await
    }

    /// `POST /transfer` with a JSON body as given, as `from`.
    pub async fn transfer_body(
        &self,
        from: &Account,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.post_json(
            "/transfer",
            Some(&from.authorization()),
            &body.to_string(),
            headers,
        )
        .await
    }

    /// The trial balance as stored: the sum of every account's balance (customers and the
    /// bank's own), which double entry keeps at zero; and the number of transactions whose
    /// debits differ from their credits.
    pub async fn trial_balance(&self) -> (Decimal, i64) {
        sqlx::query_as(
            "SELECT (SELECT coalesce(sum(saldo), 0) FROM neraca_saldo),
                    (SELECT count(*) FROM (
                        SELECT transaksi_id FROM jurnal GROUP BY transaksi_id
                        HAVING sum(CASE jenis_transaksi WHEN 'D' THEN nominal ELSE -nominal END)
                               <> 0) AS timpang)",
        )
        .fetch_one(&self.pool)
        .await
        .expect("trial balance")
    }

    /// Asserts the trial balance: zero in sum, every transaction balanced, and every
    /// customer's balance the sum of its legs.
    pub async fn assert_trial_balance(&self) {
        assert_eq!(
            self.trial_balance().await,
            (Decimal::ZERO, 0),
            "all balances sum to zero"
        );
        let drifted: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM rekening AS r
              WHERE r.saldo <> (SELECT coalesce(sum(CASE jenis_transaksi WHEN 'C' THEN nominal
                                                     ELSE -nominal END), 0)
                                  FROM jurnal AS j WHERE j.no_rekening = r.no_rekening)",
        )
        .fetch_one(&self.pool)
        .await
        .expect("drift query");
        assert_eq!(drifted, 0, "every saldo is the sum of its legs");
    }

    pub async fn journal_rows(&self, no_rekening: &str) -> i64 {
        self.count(
            "SELECT count(*) FROM jurnal WHERE no_rekening = $1",
            no_rekening,
        )
        .await
    }

    pub async fn outbox_rows(&self, no_rekening: &str) -> i64 {
        self.count(
            "SELECT count(*) FROM outbox WHERE no_rekening = $1",
            no_rekening,
        )
        .await
    }
}

/// A nik and no_hp not used before in this process (each test has its own database, so
/// uniqueness within the process is enough).
pub fn unique_identity() -> (String, String) {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    (format!("32{n:014}"), format!("0812{n:08}"))
}
