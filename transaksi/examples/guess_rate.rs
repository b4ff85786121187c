//! Measures how fast one client address can guess credentials: `--clients` concurrent
//! connections from one address send wrong credentials (random well-formed account numbers,
//! random PINs) to `GET /saldo/{no_rekening}` for `--seconds`, and the answers are counted:
//! a 401 is a guess actually checked, a 429 one refused by the throttle. Not a test; the
//! figures are in docs/threat-model.md.
//!
//!     cargo run --release -p transaksi --example guess_rate -- \
//!         [--url http://127.0.0.1:8080] [--clients 16] [--seconds 10] [--from 127.0.0.2]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use bukubesar_common::no_rekening::NoRekening;

struct Options {
    url: String,
    clients: usize,
    seconds: u64,
    from: Option<IpAddr>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        url: "http://127.0.0.1:8080".into(),
        clients: 16,
        seconds: 10,
        from: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => options.url = value.trim_end_matches('/').to_owned(),
            "--clients" => options.clients = value.parse().map_err(|e| format!("{flag}: {e}"))?,
            "--seconds" => options.seconds = value.parse().map_err(|e| format!("{flag}: {e}"))?,
            "--from" => options.from = Some(value.parse().map_err(|e| format!("{flag}: {e}"))?),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("guess_rate: {error}");
            std::process::exit(2);
        }
    };
    let client = match reqwest::Client::builder()
        .local_address(options.from)
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            eprintln!("guess_rate: {error}");
            std::process::exit(2);
        }
    };
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..options.clients)
        .map(|_| {
            let (client, url) = (client.clone(), options.url.clone());
            tokio::spawn(async move {
                let mut counts = BTreeMap::<String, u64>::new();
                while Instant::now() < deadline {
                    let guess = NoRekening::generate();
                    // Six random digits: the first six of another random account number.
                    let pin = NoRekening::generate().as_str()[..6].to_owned();
                    let status = match client
                        .get(format!("{url}/saldo/{}", guess.as_str()))
                        .header(
                            "Authorization",
                            bukubesar_testkit::basic(guess.as_str(), &pin),
                        )
                        .send()
                        .await
                    {
                        Ok(response) => response.status().as_u16().to_string(),
                        Err(_) => "error".to_owned(),
                    };
                    *counts.entry(status).or_default() += 1;
                }
                counts
            })
        })
        .collect();
    let mut counts = BTreeMap::<String, u64>::new();
    for worker in workers {
        if let Ok(worker_counts) = worker.await {
            for (status, n) in worker_counts {
                *counts.entry(status).or_default() += n;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total: u64 = counts.values().sum();
    let per_sec = |n: u64| n as f64 / elapsed;
    let checked = counts.get("401").copied().unwrap_or(0);
    let throttled = counts.get("429").copied().unwrap_or(0);
    println!(
        "{total} requests in {elapsed:.1} s from {} ({} clients): {:.1}/s answered, \
         {checked} guesses checked (401, {:.1}/s), {throttled} throttled (429, {:.1}/s); all: {counts:?}",
        options
            .from
            .map_or_else(|| "the default address".to_owned(), |a| a.to_string()),
        options.clients,
        per_sec(total),
        per_sec(checked),
        per_sec(throttled),
    );
}
