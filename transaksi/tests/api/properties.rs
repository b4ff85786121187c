//! Property tests of the money rules on the real posting statements (PostgreSQL): for any
//! sequence of deposits and withdrawals, run one after another, all in one group-commit batch,
//! or all at once through the group-commit queue, no balance is ever negative, no money is
//! created or lost (saldo = posted deposits - posted withdrawals = the journal's sum), a
//! refused withdrawal is exactly one that the balance did not cover, and the journal's running
//! saldo and per-account numbers are consistent.

use bukubesar_common::no_rekening::NoRekening;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::time::Duration;
use transaksi::datastore::Datastore;
use transaksi::datastore::nasabah::{InsertNasabahError, NewNasabah};

use bukubesar_common::batching::BatchSettings;
use transaksi::app::batch::{self, Kind, Posting};
use transaksi::app::commit_signal::CommitSignal;
use transaksi::app::group_commit::GroupCommit;
use transaksi::app::nominal::Nominal;
use transaksi::app::outcome::{Outcome, PostResult};

use crate::support::{TestApp, spawn_app};

/// One operation: deposit (`true`) or withdrawal, of this many cents.
type Op = (bool, i64);

fn ops(max_len: usize) -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec((any::<bool>(), 1_i64..=50_000), 1..=max_len)
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A fresh account straight in the database (no PIN is ever checked here).
pub(crate) async fn account(datastore: &Datastore, case: u64) -> String {
    loop {
        let no = NoRekening::generate();
        let nik = format!(
            "{:016}",
            3_200_000_000_000_000_u64 + case * 1_000 + rand_suffix()
        );
        let no_hp = format!("08{:010}", case * 1_000 + rand_suffix());
        let nasabah = NewNasabah {
            no_rekening: &no,
            nama: "Properti",
            nik: &nik,
            no_hp: &no_hp,
            // Shaped like a hash (the table checks the prefix); never verified here.
            pin_hash: "$argon2id$v=19$m=19456,t=2,p=1$cHJvcGVydGllcw$bm90LWEtcmVhbC1oYXNo",
        };
        match datastore.insert_nasabah(&nasabah).await {
            Ok(()) => return no.to_string(),
            Err(InsertNasabahError::Database(error)) => panic!("insert nasabah: {error}"),
            Err(_) => continue,
        }
    }
}

fn rand_suffix() -> u64 {
    u64::from(uuid::Uuid::new_v4().as_u128() as u16 % 1_000)
}

fn posting(no: &str, (deposit, cents): Op) -> Posting {
    Posting {
        kind: if deposit { Kind::Tabung } else { Kind::Tarik },
        no_rekening: NoRekening::parse(no).expect("well formed"),
        nominal: Nominal::new(Decimal::new(cents, 2)).expect("valid amount"),
        idempotency: None,
        traceparent: None,
    }
}

pub(crate) fn fresh(result: PostResult) -> Outcome {
    match result {
        PostResult::Fresh(outcome) => outcome,
        other => panic!("no key, so always fresh: {other:?}"),
    }
}

/// One operation in a batch of its own.
async fn post(datastore: &Datastore, no: &str, op: Op) -> Outcome {
    let mut results = batch::execute(datastore, &[posting(no, op)])
        .await
        .expect("posted or refused");
    assert_eq!(results.len(), 1);
    fresh(results.remove(0))
}

/// One operation through the group-commit queue, batched with whatever runs beside it.
async fn post_queued(group_commit: &GroupCommit, no: &str, op: Op) -> Outcome {
    fresh(
        group_commit
            .post(posting(no, op))
            .await
            .expect("posted or refused"),
    )
}

/// Sequential model of `operations` from a zero balance: each one's outcome (the saldo after
/// it, or `None` when refused).
fn model(operations: &[Op]) -> Vec<Option<Decimal>> {
    let mut saldo = Decimal::ZERO;
    operations
        .iter()
        .map(|&(deposit, cents)| {
            let nominal = Decimal::new(cents, 2);
            if deposit {
                saldo += nominal;
            } else if nominal <= saldo {
                saldo -= nominal;
            } else {
                return None;
            }
            Some(saldo)
        })
        .collect()
}

/// Saldo, journal sum and journal invariants of `no` as stored.
pub(crate) async fn check_stored(app: &TestApp, no: &str, expected_saldo: Decimal, posted: usize) {
    let saldo: Decimal = sqlx::query_scalar("SELECT saldo FROM rekening WHERE no_rekening = $1")
        .bind(no)
        .fetch_one(&app.pool)
        .await
        .expect("saldo");
    let rows: Vec<(String, Decimal, Decimal, i64)> = sqlx::query_as(
        "SELECT jenis_transaksi, nominal, saldo, urutan_rekening FROM jurnal
          WHERE no_rekening = $1 ORDER BY urutan_rekening",
    )
    .bind(no)
    .fetch_all(&app.pool)
    .await
    .expect("journal");
    assert_eq!(saldo, expected_saldo, "stored saldo");
    assert_eq!(rows.len(), posted, "one journal row per posted operation");
    let mut running = Decimal::ZERO;
    for (i, (jenis, nominal, after, urutan)) in rows.iter().enumerate() {
        running += if jenis == "C" { *nominal } else { -*nominal };
        assert!(running >= Decimal::ZERO, "never negative");
        assert_eq!(*after, running, "the journal's running saldo");
        assert_eq!(*urutan, i as i64 + 1, "per-account numbers 1, 2, 3, ...");
    }
    assert_eq!(
        running, saldo,
        "saldo = the journal's sum: no money created or lost"
    );
}

#[test]
fn sequential_postings_follow_the_model_exactly() {
    let runtime = runtime();
    let app = runtime.block_on(spawn_app());
    let datastore = Datastore::new(app.pool.clone());
    let cases = std::sync::atomic::AtomicU64::new(0);
    let config = ProptestConfig {
        cases: 32,
        ..ProptestConfig::default()
    };
    proptest!(config, |(operations in ops(40))| {
        let case = cases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        runtime.block_on(async {
            let no = account(&datastore, case).await;
            let mut model = Decimal::ZERO;
            let mut posted = 0;
            for op in &operations {
                let nominal = Decimal::new(op.1, 2);
                match post(&datastore, &no, *op).await {
                    Outcome::Posted(p) => {
                        model += if op.0 { nominal } else { -nominal };
                        posted += 1;
                        assert_eq!(p.saldo, model, "answered saldo follows the model");
                        assert_eq!(p.urutan_rekening, posted as i64);
                    }
                    Outcome::Refused => {
                        assert!(!op.0, "deposits within the limit are never refused");
                        assert!(nominal > model, "only an uncovered withdrawal is refused");
                    }
                    other => panic!("not a transfer: {other:?}"),
                }
            }
            check_stored(&app, &no, model, posted).await;
        });
    });
}

#[test]
fn one_batch_follows_the_sequential_model_exactly() {
    let runtime = runtime();
    let app = runtime.block_on(spawn_app());
    let datastore = Datastore::new(app.pool.clone());
    let cases = std::sync::atomic::AtomicU64::new(5_000);
    let config = ProptestConfig {
        cases: 32,
        ..ProptestConfig::default()
    };
    proptest!(config, |(operations in ops(64), split in 0_usize..64)| {
        let case = cases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        runtime.block_on(async {
            // Two accounts interleaved in one batch: each follows its own model.
            let first = account(&datastore, case * 2).await;
            let second = account(&datastore, case * 2 + 1).await;
            let split = split.min(operations.len());
            let owner = |i: usize| if i < split { &first } else { &second };
            let mut order: Vec<usize> = (0..operations.len()).collect();
            order.sort_by_key(|&i| (i * 7919) % operations.len().max(1));
            let batch_postings: Vec<Posting> =
                order.iter().map(|&i| posting(owner(i), operations[i])).collect();
            let results = batch::execute(&datastore, &batch_postings).await.expect("batch");
            assert_eq!(results.len(), operations.len());
            for no in [&first, &second] {
                let mine: Vec<usize> =
                    (0..order.len()).filter(|&k| owner(order[k]) == no).collect();
                let ops_in_order: Vec<Op> = mine.iter().map(|&k| operations[order[k]]).collect();
                let expected = model(&ops_in_order);
                let mut posted = 0;
                for (&k, expected) in mine.iter().zip(&expected) {
                    match (fresh(results[k].clone()), expected) {
                        (Outcome::Posted(p), Some(saldo)) => {
                            posted += 1;
                            assert_eq!(p.saldo, *saldo, "answered saldo follows the model");
                            assert_eq!(p.urutan_rekening, posted as i64);
                            assert_eq!(&p.no_rekening, no);
                        }
                        (Outcome::Refused, None) => {}
                        (got, want) => panic!("operation {k}: got {got:?}, model {want:?}"),
                    }
                }
                let saldo = expected.iter().rev().flatten().next().copied().unwrap_or_default();
                check_stored(&app, no, saldo, posted).await;
            }
        });
    });
}

#[test]
fn concurrent_postings_never_overdraw_or_create_money() {
    let runtime = runtime();
    let app = runtime.block_on(spawn_app());
    let datastore = Datastore::new(app.pool.clone());
    // Small batches and two workers: the operations below land in several concurrent batches.
    let group_commit = runtime.block_on(async {
        GroupCommit::start(
            datastore.clone(),
            BatchSettings {
                max_batch_size: 8,
                max_wait: Duration::from_micros(200),
                workers: 2,
            },
            CommitSignal::default(),
        )
    });
    let cases = std::sync::atomic::AtomicU64::new(10_000);
    let config = ProptestConfig {
        cases: 16,
        ..ProptestConfig::default()
    };
    proptest!(config, |(operations in ops(48), funding in 0_i64..=200_000)| {
        let case = cases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        runtime.block_on(async {
            let no = account(&datastore, case).await;
            if funding > 0 {
                assert!(matches!(post(&datastore, &no, (true, funding)).await, Outcome::Posted(_)));
            }
            let outcomes = futures::future::join_all(
                operations.iter().map(|op| post_queued(&group_commit, &no, *op)),
            )
            .await;
            let mut saldo = Decimal::new(funding, 2);
            let mut posted = usize::from(funding > 0);
            for (op, outcome) in operations.iter().zip(&outcomes) {
                if let Outcome::Posted(_) = outcome {
                    saldo += if op.0 { Decimal::new(op.1, 2) } else { -Decimal::new(op.1, 2) };
                    posted += 1;
                } else {
                    assert!(!op.0, "deposits within the limit are never refused");
                }
            }
            assert!(saldo >= Decimal::ZERO);
            check_stored(&app, &no, saldo, posted).await;
        });
    });
}
