//! No double spend, no lost update, under real concurrency.

use futures::future::join_all;
use rust_decimal::Decimal;

use crate::support::spawn_app;

#[tokio::test]
async fn two_hundred_concurrent_withdrawals_of_ten_from_a_thousand() {
    let app = spawn_app().await;
    let account = app.register().await;
    assert_eq!(app.tabung(&account, "1000").await.status, 200);

    let replies = join_all((0..200).map(|_| app.tarik(&account, "10"))).await;

    let succeeded = replies.iter().filter(|r| r.status == 200).count();
    let refused = replies
        .iter()
        .filter(|r| r.status == 400 && r.remark() == "saldo tidak cukup")
        .count();
    assert_eq!(succeeded, 100, "exactly the balance was spent");
    assert_eq!(
        refused, 100,
        "every other one was refused for lack of funds"
    );
    assert_eq!(app.saldo_in_db(&account.no_rekening).await, Decimal::ZERO);
    let debits = app
        .count(
            "SELECT count(*) FROM jurnal WHERE no_rekening = $1 AND jenis_transaksi = 'D'",
            &account.no_rekening,
        )
        .await;
    let debit_events = app
        .count(
            "SELECT count(*) FROM outbox WHERE no_rekening = $1 AND jenis_transaksi = 'D'",
            &account.no_rekening,
        )
        .await;
    assert_eq!((debits, debit_events), (100, 100));
    // Every reported balance is distinct: each success saw the effect of all before it.
    let mut balances: Vec<Decimal> = replies
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.saldo())
        .collect();
    balances.sort();
    balances.dedup();
    assert_eq!(balances.len(), 100);
}

#[tokio::test]
async fn mixed_concurrent_deposits_and_withdrawals_balance_out() {
    let app = spawn_app().await;
    let account = app.register().await;
    assert_eq!(app.tabung(&account, "500").await.status, 200);

    let operations: Vec<(&str, Decimal)> = (0..150)
        .map(|i| {
            let amount = Decimal::new(1_000 + (i * 37 % 900), 2); // 10.00 .. 18.99
            if i % 3 == 0 {
                ("/tabung", amount)
            } else {
                ("/tarik", amount)
            }
        })
        .collect();
    let amounts: Vec<String> = operations.iter().map(|(_, a)| a.to_string()).collect();
    let replies = join_all(
        operations
            .iter()
            .zip(&amounts)
            .map(|((path, _), amount)| app.post_money(path, &account, amount)),
    )
    .await;

    let mut expected = Decimal::from(500);
    for ((path, amount), reply) in operations.iter().zip(&replies) {
        match (reply.status, *path) {
            (200, "/tabung") => expected += amount,
            (200, _) => expected -= amount,
            (400, "/tarik") => assert_eq!(reply.remark(), "saldo tidak cukup"),
            other => panic!("unexpected {other:?}: {}", reply.text),
        }
    }
    assert_eq!(app.saldo_in_db(&account.no_rekening).await, expected);
    let successes = replies.iter().filter(|r| r.status == 200).count() as i64;
    assert_eq!(app.journal_rows(&account.no_rekening).await, successes + 1);
    assert_eq!(app.outbox_rows(&account.no_rekening).await, successes + 1);
    // The journal alone explains the balance: credits minus debits.
    let journal_sum: Decimal = sqlx::query_scalar(
        "SELECT sum(CASE jenis_transaksi WHEN 'C' THEN nominal ELSE -nominal END)
           FROM jurnal WHERE no_rekening = $1",
    )
    .bind(&account.no_rekening)
    .fetch_one(&app.pool)
    .await
    .expect("journal sum");
    assert_eq!(journal_sum, expected);
}

#[tokio::test]
async fn concurrent_registrations_with_one_nik_admit_one() {
    let app = spawn_app().await;
    let phones: Vec<String> = (0..10).map(|i| format!("08130000{i:04}")).collect();
    let replies = join_all(
        phones
            .iter()
            .map(|no_hp| app.daftar("Siti", "3201010101010101", no_hp, "123456")),
    )
    .await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1);
    for reply in replies.iter().filter(|r| r.status != 200) {
        assert_eq!(reply.status, 400);
        assert_eq!(reply.json()["field"], "nik");
    }
}
