//! Group commit: many operations in one transaction, each with its own answer; a batch that
//! cannot commit writes nothing and every operation in it gets an error.

use bukubesar_common::event::Jenis;
use bukubesar_common::no_rekening::NoRekening;
use futures::future::join_all;
use rust_decimal::Decimal;
use std::str::FromStr;
use transaksi::app::batch::{self, Idempotency, Kind, Posting};
use transaksi::app::idempotency::{Key, request_fingerprint};
use transaksi::app::nominal::Nominal;
use transaksi::app::outcome::{Outcome, PostResult, Posted};

use crate::support::{TestApp, spawn_app, spawn_app_with};

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).expect("decimal")
}

fn op(jenis: Jenis, no: &str, nominal: &str, key: Option<&str>) -> Posting {
    let nominal = Nominal::new(d(nominal)).expect("valid amount");
    let no = NoRekening::parse(no).expect("well formed");
    Posting {
        kind: match jenis {
            Jenis::Tabung => Kind::Tabung,
            Jenis::Tarik => Kind::Tarik,
        },
        idempotency: key.map(|key| Idempotency {
            key: Key::parse(key.as_bytes()).expect("valid key"),
            fingerprint: request_fingerprint(jenis, &no, nominal),
        }),
        no_rekening: no,
        nominal,
        traceparent: None,
    }
}

fn posted(result: &PostResult) -> &Posted {
    match result {
        PostResult::Fresh(Outcome::Posted(posted)) => posted,
        other => panic!("expected a fresh posting, got {other:?}"),
    }
}

fn refused(result: &PostResult) -> bool {
    matches!(result, PostResult::Fresh(Outcome::Refused))
}

/// Rows of the whole database: (rekening saldo sum, customer journal legs, outbox rows, keys).
async fn totals(app: &TestApp) -> (Decimal, i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT coalesce(sum(saldo), 0) FROM rekening),
                (SELECT count(*) FROM jurnal WHERE no_rekening IS NOT NULL),
                (SELECT count(*) FROM outbox),
                (SELECT count(*) FROM idempotensi)",
    )
    .fetch_one(&app.pool)
    .await
    .expect("totals")
}

#[tokio::test]
async fn one_batch_gives_each_operation_its_own_answer_in_arrival_order() {
    let app = spawn_app().await;
    let datastore = app.datastore.clone().expect("server started");
    let a = app.register().await;
    let b = app.register().await;
    assert_eq!(app.tabung(&a, "100").await.status, 200);
    // A key used in an earlier batch.
    let earlier = batch::execute(
        &datastore,
        &[op(Jenis::Tabung, &a.no_rekening, "1", Some("k0"))],
    )
    .await
    .expect("earlier batch");
    assert_eq!(posted(&earlier[0]).saldo, d("101"));
    let (a_no, b_no) = (a.no_rekening.as_str(), b.no_rekening.as_str());

    let batch_ops = [
        op(Jenis::Tarik, a_no, "30", None),         // 0: 101 -> 71
        op(Jenis::Tarik, b_no, "10", None),         // 1: refused, B has 0
        op(Jenis::Tabung, b_no, "25", None),        // 2: B 25
        op(Jenis::Tarik, b_no, "10", None),         // 3: covered by 2: B 15
        op(Jenis::Tarik, a_no, "80", None),         // 4: refused alone (71 < 80)
        op(Jenis::Tabung, a_no, "5", Some("k1")),   // 5: A 76, key k1 claimed
        op(Jenis::Tabung, a_no, "5", Some("k1")),   // 6: a retry of 5 in the same batch
        op(Jenis::Tabung, a_no, "6", Some("k1")),   // 7: k1 for a different request
        op(Jenis::Tabung, a_no, "1", Some("k0")),   // 8: a retry of the earlier batch
        op(Jenis::Tarik, a_no, "76", None),         // 9: A 0 exactly
        op(Jenis::Tabung, "0000000000", "1", None), // 10: no such account
    ];
    let before = totals(&app).await;
    let results = batch::execute(&datastore, &batch_ops).await.expect("batch");
    assert_eq!(results.len(), batch_ops.len());

    assert_eq!(posted(&results[0]).saldo, d("71"));
    assert!(refused(&results[1]));
    assert_eq!(posted(&results[2]).saldo, d("25"));
    assert_eq!(posted(&results[3]).saldo, d("15"));
    assert!(refused(&results[4]));
    assert_eq!(posted(&results[5]).saldo, d("76"));
    assert_eq!(
        results[6],
        PostResult::Replayed(Outcome::Posted(posted(&results[5]).clone())),
        "a duplicate key in the batch behaves like a retry"
    );
    assert_eq!(results[7], PostResult::KeyReused);
    assert_eq!(
        results[8],
        PostResult::Replayed(Outcome::Posted(posted(&earlier[0]).clone()))
    );
    assert_eq!(posted(&results[9]).saldo, Decimal::ZERO);
    assert!(refused(&results[10]));

    // Per-account numbers continue in arrival order; one timestamp for the whole batch.
    let a_numbers: Vec<i64> = [0, 5, 9]
        .iter()
        .map(|&i| posted(&results[i]).urutan_rekening)
        .collect();
    assert_eq!(a_numbers, vec![3, 4, 5], "after funding (1) and k0 (2)");
    assert_eq!(
        (
            posted(&results[2]).urutan_rekening,
            posted(&results[3]).urutan_rekening
        ),
        (1, 2)
    );
    let stamps: std::collections::HashSet<_> = [0, 2, 3, 5, 9]
        .iter()
        .map(|&i| posted(&results[i]).tanggal_transaksi)
        .collect();
    assert_eq!(stamps.len(), 1);

    // Exactly what was answered is stored.
    assert_eq!(app.saldo_in_db(a_no).await, Decimal::ZERO);
    assert_eq!(app.saldo_in_db(b_no).await, d("15"));
    let after = totals(&app).await;
    assert_eq!(
        after,
        (
            before.0 - d("101") + d("15"),
            before.1 + 5,
            before.2 + 5,
            before.3 + 1
        )
    );
    for i in [0, 2, 3, 5, 9] {
        let p = posted(&results[i]);
        let row: (String, String, Decimal, Decimal, i64, bool) = sqlx::query_as(
            "SELECT j.no_rekening, j.jenis_transaksi, j.nominal, j.saldo, j.urutan_rekening,
                    o.event_id IS NOT NULL AND o.saldo = j.saldo
                      AND o.urutan_rekening = j.urutan_rekening
               FROM jurnal j LEFT JOIN outbox o ON o.event_id = j.id
              WHERE j.id = $1",
        )
        .bind(p.id)
        .fetch_one(&app.pool)
        .await
        .expect("journal row of an answered posting");
        assert_eq!(
            row,
            (
                p.no_rekening.to_string(),
                p.jenis.code().to_owned(),
                p.nominal.value(),
                p.saldo,
                p.urutan_rekening,
                true
            )
        );
    }
    let stored: String =
        sqlx::query_scalar("SELECT hasil FROM idempotensi WHERE no_rekening = $1 AND kunci = 'k1'")
            .bind(a_no)
            .fetch_one(&app.pool)
            .await
            .expect("k1 stored");
    let stored: Outcome = serde_json::from_str(&stored).expect("outcome JSON");
    assert_eq!(stored, Outcome::Posted(posted(&results[5]).clone()));
}

/// Makes every commit that includes a journal row of 13.13 fail (as a full disk would): the
/// deferred trigger runs at COMMIT, after every statement of the batch succeeded.
async fn fail_commits_with_13_13(app: &TestApp) {
    for statement in [
        "CREATE FUNCTION uji_gagal_commit() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             RAISE EXCEPTION 'disk penuh (simulasi)' USING ERRCODE = '53100';
         END $$",
        "CREATE CONSTRAINT TRIGGER uji_gagal_commit AFTER INSERT ON jurnal
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
             WHEN (NEW.nominal = 13.13) EXECUTE FUNCTION uji_gagal_commit()",
    ] {
        sqlx::query(statement)
            .execute(&app.pool)
            .await
            .expect("install the failing trigger");
    }
}

#[tokio::test]
async fn a_batch_whose_commit_fails_writes_nothing_and_fails_every_operation() {
    let app = spawn_app().await;
    let datastore = app.datastore.clone().expect("server started");
    let a = app.register().await;
    let b = app.register().await;
    assert_eq!(app.tabung(&a, "100").await.status, 200);
    fail_commits_with_13_13(&app).await;
    let (a_no, b_no) = (a.no_rekening.as_str(), b.no_rekening.as_str());
    let before = totals(&app).await;

    let error = batch::execute(
        &datastore,
        &[
            op(Jenis::Tarik, a_no, "30", Some("x1")),
            op(Jenis::Tabung, b_no, "13.13", None),
            op(Jenis::Tabung, b_no, "7", Some("x2")),
            op(Jenis::Tarik, a_no, "500", None),
        ],
    )
    .await
    .expect_err("the commit fails");
    assert!(
        bukubesar_common::db::is_unavailable(&error),
        "a resource failure: {error}"
    );
    assert_eq!(totals(&app).await, before, "nothing of the batch is stored");
    assert_eq!(app.saldo_in_db(a_no).await, d("100"));
    assert_eq!(app.saldo_in_db(b_no).await, Decimal::ZERO);

    // The keys were not kept: the same operations post normally in a batch that commits.
    let results = batch::execute(
        &datastore,
        &[
            op(Jenis::Tarik, a_no, "30", Some("x1")),
            op(Jenis::Tabung, b_no, "7", Some("x2")),
        ],
    )
    .await
    .expect("commits");
    assert_eq!(posted(&results[0]).saldo, d("70"));
    assert_eq!(posted(&results[1]).saldo, d("7"));
}

#[tokio::test]
async fn over_http_every_request_of_a_failed_batch_gets_503_and_nothing_is_written() {
    // Batches of exactly four, collected for up to 100 ms: the four requests below share one.
    let app = spawn_app_with(|settings| {
        settings.batch_max_size = 4;
        settings.batch_max_wait_us = 100_000;
        settings.batch_workers = 1;
    })
    .await;
    let accounts = [app.register().await, app.register().await];
    for account in &accounts {
        assert_eq!(app.tabung(account, "50").await.status, 200);
    }
    fail_commits_with_13_13(&app).await;
    let before = totals(&app).await;

    type Request<'a> = (&'a str, usize, &'a str, &'a [(&'a str, &'a str)]);
    let requests: [Request<'_>; 4] = [
        ("/tarik", 0, "10", &[("Idempotency-Key", "h1")]),
        ("/tabung", 1, "13.13", &[]),
        ("/tabung", 0, "1", &[]),
        ("/tarik", 1, "2", &[]),
    ];
    let replies = join_all(requests.iter().map(|(path, who, nominal, headers)| {
        let account = &accounts[*who];
        app.post_money_with(path, account, &account.no_rekening, nominal, headers)
    }))
    .await;
    for reply in &replies {
        assert_eq!(reply.status, 503, "{}", reply.text);
        assert_eq!(reply.remark(), "layanan sedang tidak tersedia; coba lagi");
    }
    assert_eq!(totals(&app).await, before, "nothing of the batch is stored");

    // The retry with the same key posts once.
    let retry = app
        .post_money_with(
            "/tarik",
            &accounts[0],
            &accounts[0].no_rekening,
            "10",
            &[("Idempotency-Key", "h1")],
        )
        .await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(retry.saldo(), d("40"));
    assert!(retry.headers.get("Idempotent-Replayed").is_none());
}

#[tokio::test]
async fn batches_of_one_behave_like_one_transaction_per_request() {
    let app = spawn_app_with(|settings| settings.batch_max_size = 1).await;
    let account = app.register().await;
    assert_eq!(app.tabung(&account, "100").await.status, 200);
    let replies = join_all((0..40).map(|_| app.tarik(&account, "5"))).await;
    assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 20);
    assert_eq!(
        replies
            .iter()
            .filter(|r| r.status == 400 && r.remark() == "saldo tidak cukup")
            .count(),
        20
    );
    assert_eq!(app.saldo_in_db(&account.no_rekening).await, Decimal::ZERO);
    assert_eq!(app.journal_rows(&account.no_rekening).await, 21);
}
