//! transaksi's own Prometheus metrics (the HTTP and authentication ones are shared, see
//! `bukubesar_common::metrics`); docs/operations.md lists them all, checked against `/metrics`.
//!
//! | name | type | labels |
//! |---|---|---|
//! | `transaksi_postings_total` | counter | `jenis` (`tabung`, `tarik`, `transfer`), `hasil` (`posted`, `refused`, `replayed`) |
//! | `transaksi_posted_amount_rupiah` | histogram | `jenis` (its `_sum` is the money moved) |
//! | `transaksi_registrations_total` | counter | |
//! | `transaksi_posting_batches_total` | counter | `hasil` (`committed`, `rolled_back`) |
//! | `transaksi_posting_batch_size` | histogram | (operations per group-commit transaction) |
//! | `transaksi_posting_batch_duration_seconds` | histogram | (one batch: begin to commit) |
//! | `outbox_backlog` | gauge | (rows committed, not yet published; read at scrape time) |
//! | `outbox_published_total` | counter | |
//! | `outbox_publish_errors_total` | counter | |
//! | `outbox_publish_duration_seconds` | histogram | (one relay round: claim, `XADD`, mark, commit) |

use rust_decimal::prelude::ToPrimitive;

use super::outcome::Outcome;

pub const POSTINGS: &str = "transaksi_postings_total";
pub const POSTED_NOMINAL: &str = "transaksi_posted_amount_rupiah";
pub const PENDAFTARAN: &str = "transaksi_registrations_total";
pub const POSTING_BATCHES: &str = "transaksi_posting_batches_total";
pub const POSTING_BATCH_SIZE: &str = "transaksi_posting_batch_size";
pub const POSTING_BATCH_DURATION: &str = "transaksi_posting_batch_duration_seconds";
pub const OUTBOX_BACKLOG: &str = "outbox_backlog";
pub const OUTBOX_PUBLISHED: &str = "outbox_published_total";
pub const OUTBOX_PUBLISH_ERRORS: &str = "outbox_publish_errors_total";
pub const OUTBOX_PUBLISH_DURATION: &str = "outbox_publish_duration_seconds";

pub fn describe() {
    ::metrics::describe_counter!(POSTINGS, "Deposits and withdrawals answered, by outcome");
    ::metrics::describe_histogram!(
        POSTED_NOMINAL,
        "Amounts of committed deposits and withdrawals in rupiah (replays not counted again)"
    );
    ::metrics::describe_counter!(PENDAFTARAN, "Accounts opened");
    ::metrics::describe_counter!(
        POSTING_BATCHES,
        "Group-commit transactions, committed or rolled back"
    );
    ::metrics::describe_histogram!(
        POSTING_BATCH_SIZE,
        "Deposits and withdrawals per group-commit transaction"
    );
    ::metrics::describe_histogram!(
        POSTING_BATCH_DURATION,
        ::metrics::Unit::Seconds,
        "One group-commit transaction, from begin to commit or rollback"
    );
    ::metrics::describe_gauge!(OUTBOX_BACKLOG, "Committed postings not yet on the stream");
    ::metrics::describe_counter!(OUTBOX_PUBLISHED, "Outbox rows appended to the stream");
    ::metrics::describe_counter!(
        OUTBOX_PUBLISH_ERRORS,
        "Relay rounds that failed (Redis or the database); their rows are retried"
    );
    ::metrics::describe_histogram!(
        OUTBOX_PUBLISH_DURATION,
        ::metrics::Unit::Seconds,
        "One relay round: claim rows, XADD them, mark them published, commit"
    );
    // Every counter is served at 0 from the start, each of its label values too.
    for jenis in ["tabung", "tarik", "transfer"] {
        for hasil in ["posted", "refused", "replayed"] {
            ::metrics::counter!(POSTINGS, "jenis" => jenis, "hasil" => hasil).increment(0);
        }
    }
    for hasil in ["committed", "rolled_back"] {
        ::metrics::counter!(POSTING_BATCHES, "hasil" => hasil).increment(0);
    }
    for counter in [PENDAFTARAN, OUTBOX_PUBLISHED, OUTBOX_PUBLISH_ERRORS] {
        ::metrics::counter!(counter).increment(0);
    }
}

/// One answered deposit, withdrawal or transfer (`jenis`: its `Kind::label`).
pub fn record(jenis: &'static str, outcome: &Outcome, replayed: bool) {
    let hasil = match (outcome, replayed) {
        (_, true) => "replayed",
        (Outcome::Posted(_) | Outcome::Transferred(_), false) => "posted",
        (Outcome::Refused | Outcome::TransferRefused(_), false) => "refused",
    };
    ::metrics::counter!(POSTINGS, "jenis" => jenis, "hasil" => hasil).increment(1);
    let nominal = match (outcome, replayed) {
        (Outcome::Posted(posted), false) => posted.nominal,
        (Outcome::Transferred(transferred), false) => transferred.nominal,
        _ => return,
    };
    // An observation, not money: the float is only ever summed by Prometheus.
    let rupiah = nominal.value().to_f64().unwrap_or(f64::MAX);
    ::metrics::histogram!(POSTED_NOMINAL, "jenis" => jenis).record(rupiah);
}

/// One group-commit batch of `size` operations that committed or rolled back.
pub fn posting_batch(size: usize, took: std::time::Duration, committed: bool) {
    let hasil = if committed {
        "committed"
    } else {
        "rolled_back"
    };
    ::metrics::counter!(POSTING_BATCHES, "hasil" => hasil).increment(1);
    ::metrics::histogram!(POSTING_BATCH_SIZE).record(size as f64);
    ::metrics::histogram!(POSTING_BATCH_DURATION).record(took.as_secs_f64());
}

pub fn registered() {
    ::metrics::counter!(PENDAFTARAN).increment(1);
}

/// One relay round that published `rows` rows (0 included) or failed (`None`).
pub fn relay_round(rows: Option<usize>, took: std::time::Duration) {
    match rows {
        Some(rows) => {
            ::metrics::counter!(OUTBOX_PUBLISHED).increment(rows as u64);
            if rows > 0 {
                ::metrics::histogram!(OUTBOX_PUBLISH_DURATION).record(took.as_secs_f64());
            }
        }
        None => ::metrics::counter!(OUTBOX_PUBLISH_ERRORS).increment(1),
    }
}

pub fn outbox_backlog(rows: i64) {
    ::metrics::gauge!(OUTBOX_BACKLOG).set(rows as f64);
}
