//! Property tests of deposits, withdrawals and transfers mixed, among a few accounts, with a
//! random fee, on the real posting statements (PostgreSQL), against a model: run one after
//! another or all in one group-commit batch, every answer is the model's (the saldo after it,
//! or a refusal exactly when the model refuses); run all at once through the group-commit
//! queue, no balance is ever negative, no money is created or lost (customers' balances + fee
//! income = deposits - withdrawals), and the trial balance stays zero.

use bukubesar_common::no_rekening::NoRekening;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::time::Duration;
use transaksi::app::batch::{self, Kind, Posting, TransferOrder};
use transaksi::app::commit_signal::CommitSignal;
use transaksi::app::group_commit::GroupCommit;
use transaksi::app::nominal::Nominal;
use transaksi::app::outcome::Outcome;
use transaksi::app::transfer::FeePolicy;
use transaksi::datastore::Datastore;

use bukubesar_common::batching::BatchSettings;

use crate::properties::{account, check_stored, fresh, runtime};
use crate::support::{TestApp, spawn_app};

/// Accounts per case.
const ACCOUNTS: usize = 3;

#[derive(Clone, Copy, Debug)]
enum Op {
    Tabung(usize, i64),
    Tarik(usize, i64),
    /// From, to (possibly the same: refused), cents.
    Transfer(usize, usize, i64),
    /// A transfer of about the whole balance: the source's saldo at that point (in the
    /// sequential model) plus this many cents, so that amount + fee lands on either side of
    /// what is covered. Made concrete by [`concrete`] before anything runs.
    Drain(usize, usize, i64),
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..ACCOUNTS;
    let cents = 1_i64..=40_000;
    prop_oneof![
        1 => (who.clone(), cents.clone()).prop_map(|(a, c)| Op::Tabung(a, c)),
        1 => (who.clone(), cents.clone()).prop_map(|(a, c)| Op::Tarik(a, c)),
        3 => (who.clone(), who.clone(), cents).prop_map(|(a, b, c)| Op::Transfer(a, b, c)),
        1 => (who.clone(), who, -400_i64..=20).prop_map(|(a, b, c)| Op::Drain(a, b, c)),
    ]
}

/// The operations with every [`Op::Drain`] turned into the transfer it stands for.
fn concrete(operations: &[Op], fees: &FeePolicy) -> Vec<Op> {
    let mut model = Model::default();
    operations
        .iter()
        .map(|op| {
            let op = match *op {
                Op::Drain(a, b, offset) => {
                    let cents = (model.saldo[a] * Decimal::ONE_HUNDRED)
                        .trunc()
                        .mantissa()
                        .saturating_add(i128::from(offset));
                    Op::Transfer(a, b, i64::try_from(cents.max(1)).unwrap_or(1))
                }
                other => other,
            };
            model.apply(fees, op);
            op
        })
        .collect()
}

fn fees() -> impl Strategy<Value = FeePolicy> {
    let percent = prop::sample::select(vec!["0", "0.5", "1", "2.5"]);
    (0_i64..=150, percent).prop_map(|(flat, percent)| {
        FeePolicy::new(Decimal::new(flat, 2), percent.parse().expect("decimal")).expect("valid")
    })
}

fn nominal(cents: i64) -> Nominal {
    Nominal::new(Decimal::new(cents, 2)).expect("valid amount")
}

fn posting(accounts: &[String], fees: &FeePolicy, op: Op) -> Posting {
    let no = |i: usize| NoRekening::parse(&accounts[i]).expect("well formed");
    let (kind, from, cents) = match op {
        Op::Tabung(a, c) => (Kind::Tabung, a, c),
        Op::Tarik(a, c) => (Kind::Tarik, a, c),
        Op::Drain(..) => unreachable!("made concrete first"),
        Op::Transfer(a, b, c) => {
            let order = TransferOrder {
                tujuan: no(b),
                biaya: fees.fee(nominal(c)),
                keterangan: Some(format!("properti {a}→{b}")),
                referensi: None,
            };
            (Kind::Transfer(order), a, c)
        }
    };
    Posting {
        kind,
        no_rekening: no(from),
        nominal: nominal(cents),
        idempotency: None,
        traceparent: None,
    }
}

/// The sequential model: balances, posted legs per account, fee income.
#[derive(Clone, Debug, Default)]
struct Model {
    saldo: [Decimal; ACCOUNTS],
    lines: [usize; ACCOUNTS],
    fee_income: Decimal,
}

/// What the model answers: the saldo after it of the account(s) it posts to, or refused.
#[derive(Debug, PartialEq, Eq)]
enum Expected {
    Posted(Decimal),
    Transferred(Decimal, Decimal),
    Refused,
}

impl Model {
    fn apply(&mut self, fees: &FeePolicy, op: Op) -> Expected {
        match op {
            Op::Tabung(a, c) => {
                self.saldo[a] += Decimal::new(c, 2);
                self.lines[a] += 1;
                Expected::Posted(self.saldo[a])
            }
            Op::Tarik(a, c) if Decimal::new(c, 2) <= self.saldo[a] => {
                self.saldo[a] -= Decimal::new(c, 2);
                self.lines[a] += 1;
                Expected::Posted(self.saldo[a])
            }
            Op::Transfer(a, b, c) if a != b => {
                let fee = fees.fee(nominal(c));
                let debit = Decimal::new(c, 2) + fee;
                if debit > self.saldo[a] {
                    return Expected::Refused;
                }
                self.saldo[a] -= debit;
                self.saldo[b] += Decimal::new(c, 2);
                self.lines[a] += 1;
                self.lines[b] += 1;
                self.fee_income += fee;
                Expected::Transferred(self.saldo[a], self.saldo[b])
            }
            Op::Tarik(..) | Op::Transfer(..) => Expected::Refused,
            Op::Drain(..) => unreachable!("made concrete first"),
        }
    }
}

fn got(outcome: &Outcome) -> Expected {
    match outcome {
        Outcome::Posted(posted) => Expected::Posted(posted.saldo),
        Outcome::Transferred(t) => Expected::Transferred(t.asal.saldo, t.tujuan.saldo),
        Outcome::Refused | Outcome::TransferRefused(_) => Expected::Refused,
    }
}

/// Fee income booked in the transactions of `accounts`.
async fn fee_income(app: &TestApp, accounts: &[String]) -> Decimal {
    sqlx::query_scalar(
        "SELECT coalesce(sum(nominal), 0) FROM jurnal
          WHERE akun_sistem = 'PENDAPATAN_BIAYA'
            AND transaksi_id IN (SELECT transaksi_id FROM jurnal WHERE no_rekening = ANY($1))",
    )
    .bind(accounts)
    .fetch_one(&app.pool)
    .await
    .expect("fee income")
}

async fn accounts(datastore: &Datastore, case: u64) -> Vec<String> {
    let mut accounts = Vec::new();
    for i in 0..ACCOUNTS as u64 {
        accounts.push(account(datastore, case * ACCOUNTS as u64 + i).await);
    }
    accounts
}

/// The stored state equals the model's: balances, lines, fee income, the trial balance.
async fn check_model(app: &TestApp, accounts: &[String], model: &Model) {
    for (i, no) in accounts.iter().enumerate() {
        check_stored(app, no, model.saldo[i], model.lines[i]).await;
    }
    assert_eq!(fee_income(app, accounts).await, model.fee_income);
    app.assert_trial_balance().await;
}

#[test]
fn mixed_sequences_follow_the_model_one_batch_each_or_all_in_one() {
    let runtime = runtime();
    let app = runtime.block_on(spawn_app());
    let datastore = Datastore::new(app.pool.clone());
    let cases = std::sync::atomic::AtomicU64::new(20_000);
    let config = ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    };
    proptest!(config, |(operations in prop::collection::vec(op(), 1..48), fees in fees())| {
        let case = cases.fetch_add(2, std::sync::atomic::Ordering::Relaxed);
        let operations = concrete(&operations, &fees);
        runtime.block_on(async {
            // One batch per operation.
            let one_by_one = accounts(&datastore, case).await;
            let mut model = Model::default();
            for (k, op) in operations.iter().enumerate() {
                let expected = model.apply(&fees, *op);
                let mut results = batch::execute(&datastore, &[posting(&one_by_one, &fees, *op)])
                    .await
                    .expect("posted or refused");
                let outcome = fresh(results.remove(0));
                assert_eq!(got(&outcome), expected, "operation {k}: {op:?}");
                // After every commit, not only at the end.
                assert_eq!(app.trial_balance().await, (Decimal::ZERO, 0), "after {k}");
            }
            check_model(&app, &one_by_one, &model).await;
            // The same operations in one batch: the same answers, in arrival order.
            let together = accounts(&datastore, case + 1).await;
            let postings: Vec<Posting> =
                operations.iter().map(|op| posting(&together, &fees, *op)).collect();
            let results = batch::execute(&datastore, &postings).await.expect("batch");
            let mut model = Model::default();
            for (k, (op, result)) in operations.iter().zip(results).enumerate() {
                let expected = model.apply(&fees, *op);
                assert_eq!(got(&fresh(result)), expected, "operation {k} in one batch: {op:?}");
            }
            check_model(&app, &together, &model).await;
        });
    });
}

#[test]
fn concurrent_mixed_batches_conserve_money() {
    let runtime = runtime();
    let app = runtime.block_on(spawn_app());
    let datastore = Datastore::new(app.pool.clone());
    // Small batches and three workers: the operations land in several concurrent batches,
    // their transfers running in every direction.
    let group_commit = runtime.block_on(async {
        GroupCommit::start(
            datastore.clone(),
            BatchSettings {
                max_batch_size: 6,
                max_wait: Duration::from_micros(200),
                workers: 3,
            },
            CommitSignal::default(),
        )
    });
    let cases = std::sync::atomic::AtomicU64::new(40_000);
    let config = ProptestConfig {
        cases: 16,
        ..ProptestConfig::default()
    };
    proptest!(config, |(operations in prop::collection::vec(op(), 1..64), fees in fees(),
                        funding in prop::collection::vec(1_i64..=100_000, ACCOUNTS))| {
        let case = cases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let funded: Vec<Op> = funding.iter().enumerate().map(|(i, c)| Op::Tabung(i, (*c).max(1))).collect();
        let operations = concrete(&[funded.clone(), operations].concat(), &fees)
            .split_off(funded.len());
        runtime.block_on(async {
            let accounts = accounts(&datastore, case).await;
            let mut model = Model::default();
            for op in funded.iter().copied() {
                model.apply(&fees, op);
                let results = batch::execute(&datastore, &[posting(&accounts, &fees, op)])
                    .await
                    .expect("funded");
                assert!(matches!(fresh(results[0].clone()), Outcome::Posted(_)));
            }
            let outcomes = futures::future::join_all(operations.iter().map(|op| async {
                fresh(group_commit.post(posting(&accounts, &fees, *op)).await.expect("answered"))
            }))
            .await;
            // Replay what posted, in any order: addition commutes, so the final state is
            // determined; the model's own refusals do not apply (the order is not known).
            for (op, outcome) in operations.iter().zip(&outcomes) {
                match (op, outcome) {
                    (Op::Tabung(a, c), Outcome::Posted(_)) => {
                        model.saldo[*a] += Decimal::new(*c, 2);
                        model.lines[*a] += 1;
                    }
                    (Op::Tarik(a, c), Outcome::Posted(_)) => {
                        model.saldo[*a] -= Decimal::new(*c, 2);
                        model.lines[*a] += 1;
                    }
                    (Op::Transfer(a, b, _), Outcome::Transferred(t)) => {
                        assert_ne!(a, b, "never to itself");
                        model.saldo[*a] -= t.debit();
                        model.saldo[*b] += t.nominal.value();
                        model.lines[*a] += 1;
                        model.lines[*b] += 1;
                        model.fee_income += t.biaya;
                    }
                    (Op::Tabung(..), refused) => panic!("a deposit refused: {refused:?}"),
                    (_, Outcome::Refused | Outcome::TransferRefused(_)) => {}
                    (op, other) => panic!("{op:?} came to {other:?}"),
                }
            }
            for saldo in &model.saldo {
                assert!(*saldo >= Decimal::ZERO, "never negative");
            }
            check_model(&app, &accounts, &model).await;
        });
    });
}
