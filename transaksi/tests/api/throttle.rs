//! Issue 20 against the real binary (its accept loop hands each request its peer address):
//! a refusal takes the same time whether the account exists, is locked or the PIN is wrong;
//! failed authentications are throttled per client address and across the service while a
//! customer keeps being served; argon2 work is bounded. Other clients speak from other
//! loopback addresses (Linux routes all of 127.0.0.0/8 to `lo`).

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bukubesar_common::no_rekening::NoRekening;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

use crate::binary::{register, transaksi, wait_for_address};
use crate::support::{basic, fresh_database, postgres};

const WRONG: &str = "nomor rekening atau PIN salah";
const LOCKED: &str = "rekening terkunci karena terlalu banyak PIN salah; coba lagi nanti";
const THROTTLED: &str = "terlalu banyak percobaan autentikasi gagal; coba lagi nanti";

/// A running binary, its log lines collected as they come.
struct Running {
    child: Child,
    base: String,
    db_name: String,
    log: Arc<Mutex<Vec<Value>>>,
}

impl Running {
    async fn start(extra: &[&str]) -> Running {
        let db_name = fresh_database().await;
        let mut child = transaksi(&db_name, extra).spawn().expect("spawn transaksi");
        let mut seen = Vec::new();
        let address = wait_for_address(&mut child, &mut seen).await;
        let log = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        tokio::spawn({
            let log = log.clone();
            async move {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let value: Value = serde_json::from_str(&line).expect("JSON line");
                    log.lock().expect("log").push(value);
                }
            }
        });
        Running {
            child,
            base: format!("http://{address}"),
            db_name,
            log,
        }
    }

    fn lines_with_message(&self, message: &str) -> Vec<Value> {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|line| line["message"] == message)
            .cloned()
            .collect()
    }
}

/// A client whose connections come from `address`.
fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().expect("address"))
        .build()
        .expect("client")
}

/// One answer reduced to what the tests look at.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: Value,
    took: Duration,
}

async fn saldo(client: &reqwest::Client, base: &str, no_rekening: &str, pin: &str) -> Answer {
    let started = Instant::now();
    let response = client
        .get(format!("{base}/saldo/{no_rekening}"))
        .header("Authorization", basic(no_rekening, pin))
        .send()
        .await
        .expect("answered");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        retry_after,
        body,
        took: started.elapsed(),
    }
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn assert_throttled(answer: &Answer) {
    assert_eq!(answer.status, 429, "{answer:?}");
    assert_eq!(answer.body["remark"], THROTTLED, "{answer:?}");
    assert_eq!(answer.body["field"], "Authorization", "{answer:?}");
    assert!(answer.retry_after.is_some_and(|s| s >= 1), "{answer:?}");
}

#[tokio::test]
async fn a_refusal_takes_as_long_for_an_unknown_or_locked_account_as_for_a_wrong_pin() {
    // The throttle off and a high lockout threshold, so that neither interferes: every
    // "wrong PIN" sample stays a wrong PIN on an unlocked account.
    const SAMPLES: usize = 45;
    const WARM_UP: usize = 3;
    let mut server = Running::start(&[
        "--auth-fail-per-client-per-min",
        "0",
        "--auth-fail-service-per-sec",
        "0",
        "--auth-max-failures",
        "100",
    ])
    .await;
    let client = reqwest::Client::new();
    let base = server.base.clone();
    let existing = register(&client, &base, "3201010101011001", "081310001001", "123456").await;
    let locked = register(&client, &base, "3201010101011002", "081310001002", "123456").await;
    let pool = sqlx::PgPool::connect_with(postgres::server().options(&server.db_name))
        .await
        .expect("connect");
    sqlx::query(
        "UPDATE nasabah SET terkunci_sampai = now() + interval '1 hour' WHERE no_rekening = $1",
    )
    .bind(&locked)
    .execute(&pool)
    .await
    .expect("lock");

    // Interleaved, in a rotating order, so drift in the machine's load hits all three alike.
    let mut times: [Vec<Duration>; 3] = Default::default();
    for round in 0..WARM_UP + SAMPLES {
        for k in 0..3 {
            let kind = (round + k) % 3;
            let answer = match kind {
                0 => saldo(&client, &base, &existing, "654321").await,
                1 => saldo(&client, &base, NoRekening::generate().as_str(), "654321").await,
                _ => saldo(&client, &base, &locked, "654321").await,
            };
            assert_eq!(answer.status, 401, "kind {kind}: {answer:?}");
            let remark = if kind == 2 { LOCKED } else { WRONG };
            assert_eq!(answer.body["remark"], remark, "kind {kind}");
            if round >= WARM_UP {
                times[kind].push(answer.took);
            }
        }
    }
    let [wrong_pin, unknown, locked_account] = times.map(|mut t| median(&mut t));
    eprintln!(
        "median refusal: wrong PIN {wrong_pin:?}, unknown account {unknown:?}, locked account {locked_account:?}"
    );
    for (case, other) in [("unknown", unknown), ("locked", locked_account)] {
        let ratio = other.as_secs_f64() / wrong_pin.as_secs_f64();
        assert!(
            (0.67..=1.5).contains(&ratio),
            "{case} account / wrong PIN = {ratio:.2} ({other:?} vs {wrong_pin:?})"
        );
    }
    let _ = server.child.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sprayer_is_throttled_while_a_customer_keeps_its_latency() {
    // Default limits: 20 failures per client address, then one per 3 s. The burst costs 20
    // argon2 verifications like any failures; then the customer's latency is compared while
    // the throttled sprayer keeps going and while it pauses, in alternation (other tests may
    // load the machine meanwhile: interleaving spreads that over both).
    const SPRAYERS: usize = 2;
    const ROUNDS: usize = 8;
    const SAMPLES_PER_ROUND: usize = 5;
    const SPRAY: usize = 300;
    // The argon2 queue timeout out of the way (a loaded machine would turn waits into 503s;
    // that bound has its own test).
    let mut server = Running::start(&["--argon2-queue-timeout-ms", "60000"]).await;
    let base = server.base.clone();
    let customer = client_from("127.0.0.1");
    let pin = "135790";
    let no_rekening = register(&customer, &base, "3201010101012001", "081320002001", pin).await;
    assert_eq!(saldo(&customer, &base, &no_rekening, pin).await.status, 200);

    let sprayer = client_from("127.0.0.2");
    let stop = Arc::new(AtomicBool::new(false));
    let paused = Arc::new(AtomicBool::new(false));
    let throttled_seen = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let spray: Vec<_> = (0..SPRAYERS)
        .map(|_| {
            let (sprayer, base) = (sprayer.clone(), base.clone());
            let (stop, paused) = (stop.clone(), paused.clone());
            let throttled_seen = throttled_seen.clone();
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    if paused.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        continue;
                    }
                    let guess = NoRekening::generate();
                    let answer = saldo(&sprayer, &base, guess.as_str(), "123456").await;
                    if answer.status == 429 {
                        throttled_seen.fetch_add(1, Ordering::Relaxed);
                    }
                    answers.push(answer);
                    // Up to ~400 guesses/s in all: a spray of wrong credentials, not a flood
                    // of requests (which no failure throttle is about: every request costs
                    // the same HTTP work whatever its answer).
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                answers
            })
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(60), async {
        while throttled_seen.load(Ordering::Relaxed) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the sprayer is throttled");
    // A throttled address is refused even with the right PIN (or the credential cache would
    // answer its guesses for free).
    let right_pin_from_the_sprayer = saldo(&sprayer, &base, &no_rekening, pin).await;
    let (mut before, mut during) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        for (spraying, samples) in [(false, &mut before), (true, &mut during)] {
            paused.store(!spraying, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(20)).await;
            for _ in 0..SAMPLES_PER_ROUND {
                let answer = saldo(&customer, &base, &no_rekening, pin).await;
                assert_eq!(answer.status, 200, "the customer is served: {answer:?}");
                samples.push(answer.took);
            }
        }
    }
    paused.store(false, Ordering::Relaxed);
    tokio::time::timeout(Duration::from_secs(60), async {
        while throttled_seen.load(Ordering::Relaxed) < SPRAY {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("a few hundred sprayed");
    stop.store(true, Ordering::Relaxed);
    let mut answers = Vec::new();
    for task in spray {
        answers.extend(task.await.expect("sprayer"));
    }
    let spray_secs = started.elapsed().as_secs() + 1;

    let refused: Vec<&Answer> = answers.iter().filter(|a| a.status == 401).collect();
    let throttled: Vec<&Answer> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!(
        refused.len() + throttled.len(),
        answers.len(),
        "only 401 and 429, no 5xx: {:?}",
        answers.iter().find(|a| a.status != 401 && a.status != 429)
    );
    assert!(
        throttled.len() >= 100,
        "a few hundred sprayed: {}",
        answers.len()
    );
    // The burst, plus one per 3 s of spraying.
    let allowed = 20 + spray_secs as usize / 3 + 1;
    assert!(
        refused.len() <= allowed,
        "{} guesses answered in {spray_secs} s (at most {allowed})",
        refused.len()
    );
    for answer in &throttled {
        assert_throttled(answer);
    }
    assert_throttled(&right_pin_from_the_sprayer);

    let (before, during) = (median(&mut before), median(&mut during));
    eprintln!(
        "customer median: {before:?} while the sprayer pauses, {during:?} while it sprays ({} answered 401, {} 429)",
        refused.len(),
        throttled.len()
    );
    assert!(
        during.as_secs_f64() <= 2.0 * before.as_secs_f64(),
        "the customer's median went from {before:?} to {during:?}"
    );

    // One WARNING per throttling episode, not one per refused request.
    let warnings = server.lines_with_message("failed authentications throttled");
    assert!(!warnings.is_empty());
    assert!(
        warnings.len() <= 1 + spray_secs as usize / 3 + 1,
        "{warnings:?}"
    );
    for warning in &warnings {
        assert_eq!(warning["level"], "WARNING");
        assert_eq!(warning["client"], "127.0.0.2");
        assert_eq!(warning["scope"], "client");
    }
    let _ = server.child.kill().await;
}

#[tokio::test]
async fn an_empty_service_bucket_stops_new_verifications_but_not_cached_customers() {
    // 20 failures across the service, then one per second; sprayers on four addresses keep
    // taking each token as it comes back.
    let mut server = Running::start(&[
        "--auth-fail-service-per-sec",
        "1",
        "--auth-fail-service-burst",
        "20",
        "--argon2-queue-timeout-ms",
        "60000",
    ])
    .await;
    let base = server.base.clone();
    let local = client_from("127.0.0.1");
    let cached = register(&local, &base, "3201010101013001", "081330003001", "246802").await;
    assert_eq!(saldo(&local, &base, &cached, "246802").await.status, 200);
    let mut fresh = Vec::new();
    for n in 0..3 {
        let nik = format!("32010101010131{n:02}");
        let no_hp = format!("0813300031{n:02}");
        fresh.push(register(&local, &base, &nik, &no_hp, "975310").await);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let service_refusals = Arc::new(AtomicUsize::new(0));
    let sprayers: Vec<_> = (3..=6)
        .map(|host| {
            let sprayer = client_from(&format!("127.0.0.{host}"));
            let (base, stop, refusals) = (base.clone(), stop.clone(), service_refusals.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let guess = NoRekening::generate();
                    let answer = saldo(&sprayer, &base, guess.as_str(), "123456").await;
                    if answer.status == 429 {
                        refusals.fetch_add(1, Ordering::Relaxed);
                    }
                    answers.push(answer);
                }
                answers
            })
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(60), async {
        while service_refusals.load(Ordering::Relaxed) < 20 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the sprayers empty the service bucket");

    for _ in 0..10 {
        let answer = saldo(&local, &base, &cached, "246802").await;
        assert_eq!(
            answer.status, 200,
            "a cached customer still passes: {answer:?}"
        );
    }
    let mut fresh_answers = Vec::new();
    for no_rekening in &fresh {
        fresh_answers.push(saldo(&local, &base, no_rekening, "975310").await);
    }
    stop.store(true, Ordering::Relaxed);
    let throttled: Vec<&Answer> = fresh_answers.iter().filter(|a| a.status == 429).collect();
    assert!(
        throttled.len() >= 2,
        "a login that needs argon2 is refused: {fresh_answers:?}"
    );
    for answer in throttled {
        assert_throttled(answer);
    }
    for sprayer in sprayers {
        for answer in sprayer.await.expect("sprayer") {
            assert!(
                answer.status == 401 || answer.status == 429,
                "no 5xx: {answer:?}"
            );
        }
    }
    let warnings = server.lines_with_message("failed authentications throttled");
    assert!(
        warnings.iter().any(|w| w["scope"] == "service"),
        "{warnings:?}"
    );
    let _ = server.child.kill().await;
}

#[tokio::test]
async fn verifications_beyond_the_argon2_slots_are_refused_503_not_queued() {
    let mut server = Running::start(&[
        "--argon2-max-concurrency",
        "1",
        "--argon2-queue-timeout-ms",
        "1",
        "--auth-fail-per-client-per-min",
        "0",
        "--auth-fail-service-per-sec",
        "0",
    ])
    .await;
    let client = reqwest::Client::new();
    let base = server.base.clone();
    let answers = futures::future::join_all((0..40).map(|_| {
        let guess = NoRekening::generate();
        let (client, base) = (&client, &base);
        async move { saldo(client, base, guess.as_str(), "123456").await }
    }))
    .await;
    let busy: Vec<&Answer> = answers.iter().filter(|a| a.status == 503).collect();
    assert!(!busy.is_empty(), "{answers:?}");
    for answer in &answers {
        assert!(answer.status == 401 || answer.status == 503, "{answer:?}");
    }
    for answer in busy {
        assert!(answer.retry_after.is_some_and(|s| s >= 1), "{answer:?}");
        assert_eq!(
            answer.body["remark"],
            "layanan sedang sibuk memeriksa PIN; coba lagi sebentar lagi"
        );
    }
    let _ = server.child.kill().await;
}
