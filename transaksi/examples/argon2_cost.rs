//! Measures what one PIN verification costs with the parameters transaksi uses (argon2id,
//! the crate's defaults: 19 MiB, 2 passes, 1 lane), so the credential cache's value can be
//! stated in numbers. Not a test: it asserts nothing about time.
//!
//!     cargo run --release -p transaksi --example argon2_cost -- [ROUNDS]

use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(50);
    let hash = match Argon2::default().hash_password(b"123456") {
        Ok(hash) => hash.to_string(),
        Err(error) => {
            eprintln!("hashing failed: {error}");
            std::process::exit(1);
        }
    };
    let mut samples: Vec<Duration> = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        let verified = Argon2::default().verify_password(b"123456", hash.as_str());
        samples.push(started.elapsed());
        if verified.is_err() {
            eprintln!("verification of the right PIN failed");
            std::process::exit(1);
        }
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = samples.iter().map(|d| ms(*d)).sum::<f64>() / rounds as f64;
    let p50 = samples[rounds / 2];
    let p99 = samples[(rounds * 99 / 100).min(rounds - 1)];
    println!(
        "hash: {}",
        hash.split('$').take(4).collect::<Vec<_>>().join("$")
    );
    println!(
        "argon2id verify over {rounds} rounds: mean {mean:.1} ms, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms => at most {:.0} verifications/s per core",
        ms(p50),
        ms(p99),
        ms(samples[rounds - 1]),
        1000.0 / mean
    );
}
