//! `Idempotency-Key` on /tabung and /tarik.

use futures::future::join_all;

use crate::support::spawn_app;

#[tokio::test]
async fn a_retry_with_the_same_key_replays_and_posts_nothing_new() {
    let app = spawn_app().await;
    let account = app.register().await;
    let key = [("Idempotency-Key", "order-7f9c2ba4")];

    let first = app
        .post_money_with("/tabung", &account, &account.no_rekening, "100", &key)
        .await;
    let retry = app
        .post_money_with("/tabung", &account, &account.no_rekening, "100.00", &key)
        .await;

    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(retry.status, first.status);
    assert_eq!(retry.json(), first.json(), "same body, same transaction id");
    assert_eq!(
        retry
            .headers
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(
        app.saldo_in_db(&account.no_rekening).await,
        "100".parse().expect("d")
    );
    assert_eq!(app.journal_rows(&account.no_rekening).await, 1);
    assert_eq!(app.outbox_rows(&account.no_rekening).await, 1);
}

#[tokio::test]
async fn a_refusal_is_replayed_too() {
    let app = spawn_app().await;
    let account = app.register().await;
    let key = [("Idempotency-Key", "tarik-1")];
    let first = app
        .post_money_with("/tarik", &account, &account.no_rekening, "50", &key)
        .await;
    assert_eq!(first.status, 400);
    assert_eq!(app.tabung(&account, "100").await.status, 200);
    let retry = app
        .post_money_with("/tarik", &account, &account.no_rekening, "50", &key)
        .await;
    assert_eq!(retry.status, 400, "the stored answer, not a new withdrawal");
    assert_eq!(retry.json(), first.json());
    assert_eq!(
        app.saldo_in_db(&account.no_rekening).await,
        "100".parse().expect("d")
    );
}

#[tokio::test]
async fn the_same_key_with_a_different_request_is_422() {
    let app = spawn_app().await;
    let account = app.register().await;
    let key = [("Idempotency-Key", "k-1")];
    assert_eq!(
        app.post_money_with("/tabung", &account, &account.no_rekening, "100", &key)
            .await
            .status,
        200
    );
    for (path, nominal) in [("/tabung", "101"), ("/tarik", "100")] {
        let reply = app
            .post_money_with(path, &account, &account.no_rekening, nominal, &key)
            .await;
        assert_eq!(reply.status, 422, "{path} {nominal}: {}", reply.text);
        assert!(reply.remark().contains("Idempotency-Key"));
    }
    assert_eq!(app.journal_rows(&account.no_rekening).await, 1);
}

#[tokio::test]
async fn keys_are_scoped_to_the_account() {
    let app = spawn_app().await;
    let alice = app.register().await;
    let bob = app.register().await;
    let key = [("Idempotency-Key", "shared-key")];
    let a = app
        .post_money_with("/tabung", &alice, &alice.no_rekening, "10", &key)
        .await;
    let b = app
        .post_money_with("/tabung", &bob, &bob.no_rekening, "20", &key)
        .await;
    assert_eq!((a.status, b.status), (200, 200), "{} {}", a.text, b.text);
    assert_ne!(a.json()["id"], b.json()["id"]);
    assert_eq!(
        app.saldo_in_db(&bob.no_rekening).await,
        "20".parse().expect("d")
    );
}

#[tokio::test]
async fn invalid_keys_are_400() {
    let app = spawn_app().await;
    let account = app.register().await;
    let long = "k".repeat(256);
    for key in ["", "with space", long.as_str()] {
        let reply = app
            .post_money_with(
                "/tabung",
                &account,
                &account.no_rekening,
                "10",
                &[("Idempotency-Key", key)],
            )
            .await;
        assert_eq!(reply.status, 400, "{key:?}: {}", reply.text);
    }
    assert_eq!(app.journal_rows(&account.no_rekening).await, 0);
}

#[tokio::test]
async fn concurrent_retries_with_one_key_post_once() {
    let app = spawn_app().await;
    let account = app.register().await;
    assert_eq!(app.tabung(&account, "1000").await.status, 200);
    let key = [("Idempotency-Key", "burst")];

    let replies = join_all(
        (0..20).map(|_| app.post_money_with("/tarik", &account, &account.no_rekening, "10", &key)),
    )
    .await;

    let ids: std::collections::HashSet<String> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, 200, "{}", r.text);
            r.json()["id"].as_str().expect("id").to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "every retry got the one transaction");
    assert_eq!(
        app.saldo_in_db(&account.no_rekening).await,
        "990".parse().expect("d")
    );
    assert_eq!(app.journal_rows(&account.no_rekening).await, 2);
}

#[tokio::test]
async fn keys_younger_than_the_retention_survive_the_sweep() {
    let app = spawn_app().await;
    let account = app.register().await;
    let key = [("Idempotency-Key", "old")];
    assert_eq!(
        app.post_money_with("/tabung", &account, &account.no_rekening, "10", &key)
            .await
            .status,
        200
    );
    let datastore = transaksi::datastore::Datastore::new(app.pool.clone());
    assert_eq!(
        datastore.sweep_idempotency_keys(24).await.expect("sweep"),
        0
    );
    sqlx::query("UPDATE idempotensi SET dibuat_pada = now() - interval '25 hours'")
        .execute(&app.pool)
        .await
        .expect("age the key");
    assert_eq!(
        datastore.sweep_idempotency_keys(24).await.expect("sweep"),
        1
    );
}
