//! Authentication, authorization and brute-force lockout.

use futures::future::join_all;

use crate::support::{basic, spawn_app, spawn_app_with};

const LOCKED: &str = "rekening terkunci karena terlalu banyak PIN salah; coba lagi nanti";
const WRONG: &str = "nomor rekening atau PIN salah";

#[tokio::test]
async fn requests_without_valid_credentials_are_401() {
    let app = spawn_app().await;
    let account = app.register().await;
    let path = format!("/saldo/{}", account.no_rekening);

    let missing = app.get(&path, None).await;
    assert_eq!(missing.status, 401);
    assert!(
        missing.remark().contains("Authorization"),
        "{}",
        missing.text
    );
    assert!(missing.headers.contains_key("www-authenticate"));

    for header in [
        "Bearer abc".to_owned(),
        "Basic".to_owned(),
        "Basic %%%notbase64%%%".to_owned(),
        format!("Basic {}", "QUFB".repeat(200)),
        basic(&account.no_rekening, "654321"),
        basic(&account.no_rekening, "1234567"),
        basic(&account.no_rekening, "12345a"),
        basic(&account.no_rekening, ""),
        basic("1234567897", "123456"),
        basic("not-a-number", "123456"),
        basic(
            &format!("{}'; DROP TABLE nasabah; --", account.no_rekening),
            "123456",
        ),
    ] {
        let reply = app.get(&path, Some(&header)).await;
        assert_eq!(reply.status, 401, "{header}: {}", reply.text);
        assert!(!reply.remark().is_empty());
    }
    // Money routes are protected the same way, and nothing is posted.
    let reply = app
        .post_json(
            "/tabung",
            Some(&basic(&account.no_rekening, "000000")),
            &format!(
                r#"{{"no_rekening":"{}","nominal":10}}"#,
                account.no_rekening
            ),
            &[],
        )
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(app.journal_rows(&account.no_rekening).await, 0);
    assert_eq!(
        app.saldo(&account).await.status,
        200,
        "the table is still there"
    );
}

#[tokio::test]
async fn another_customers_account_is_403_and_an_unknown_one_is_400() {
    let app = spawn_app().await;
    let alice = app.register().await;
    let bob = app.register_with_pin("654321").await;
    assert_eq!(app.tabung(&bob, "500").await.status, 200);

    for path in ["/tabung", "/tarik"] {
        let reply = app
            .post_money_with(path, &alice, &bob.no_rekening, "10", &[])
            .await;
        assert_eq!(reply.status, 403, "{path}: {}", reply.text);
        assert!(!reply.remark().is_empty());
        let unknown = app
            .post_money_with(path, &alice, "9999999995", "10", &[])
            .await;
        assert_eq!(unknown.status, 400, "{path}: {}", unknown.text);
        assert_eq!(unknown.remark(), "nomor rekening tidak dikenali");
    }
    let reply = app
        .get(
            &format!("/saldo/{}", bob.no_rekening),
            Some(&alice.authorization()),
        )
        .await;
    assert_eq!(reply.status, 403);
    let reply = app
        .get("/saldo/0000000000", Some(&alice.authorization()))
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.remark(), "nomor rekening tidak dikenali");
    assert_eq!(
        app.saldo_in_db(&bob.no_rekening).await,
        "500".parse().expect("d")
    );
}

async fn gagal_pin(app: &crate::support::TestApp, no_rekening: &str) -> i32 {
    sqlx::query_scalar("SELECT gagal_pin FROM nasabah WHERE no_rekening = $1")
        .bind(no_rekening)
        .fetch_one(&app.pool)
        .await
        .expect("row")
}

#[tokio::test]
async fn five_wrong_pins_lock_the_account_even_for_the_right_pin_and_across_restarts() {
    let app = spawn_app().await;
    let account = app.register().await;
    let wrong = basic(&account.no_rekening, "999999");
    let path = format!("/saldo/{}", account.no_rekening);

    for attempt in 1..=4 {
        let reply = app.get(&path, Some(&wrong)).await;
        assert_eq!(reply.status, 401);
        assert_eq!(reply.remark(), WRONG, "attempt {attempt}");
    }
    let fifth = app.get(&path, Some(&wrong)).await;
    assert_eq!(fifth.status, 401);
    assert_eq!(fifth.remark(), LOCKED, "the fifth wrong PIN locks");

    let right = app.saldo(&account).await;
    assert_eq!(right.status, 401, "locked even with the right PIN");
    assert_eq!(right.remark(), LOCKED);

    // A restarted (or another) replica with an empty cache sees the same lock.
    let restarted = app.replica().await;
    let reply = restarted.saldo(&account).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.remark(), LOCKED);

    // When the lock expires, the right PIN works again and the counter starts over.
    sqlx::query(
        "UPDATE nasabah SET terkunci_sampai = now() - interval '1 second' WHERE no_rekening = $1",
    )
    .bind(&account.no_rekening)
    .execute(&app.pool)
    .await
    .expect("expire the lock");
    let reply = restarted.saldo(&account).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(gagal_pin(&app, &account.no_rekening).await, 0);
}

#[tokio::test]
async fn a_right_pin_resets_the_count_of_wrong_ones() {
    let app = spawn_app().await;
    let account = app.register().await;
    let wrong = basic(&account.no_rekening, "111111");
    let path = format!("/saldo/{}", account.no_rekening);
    for _ in 0..4 {
        assert_eq!(app.get(&path, Some(&wrong)).await.remark(), WRONG);
    }
    assert_eq!(app.saldo(&account).await.status, 200);
    assert_eq!(gagal_pin(&app, &account.no_rekening).await, 0);
    for _ in 0..4 {
        assert_eq!(app.get(&path, Some(&wrong)).await.remark(), WRONG);
    }
    assert_eq!(
        app.saldo(&account).await.status,
        200,
        "8 wrong in total, never 5 in a row"
    );
}

#[tokio::test]
async fn a_cached_credential_does_not_bypass_a_lock_set_elsewhere() {
    let app = spawn_app().await;
    let account = app.register().await;
    assert_eq!(app.saldo(&account).await.status, 200, "now cached on `app`");

    let other = app.replica().await;
    let wrong = basic(&account.no_rekening, "222222");
    for _ in 0..5 {
        assert_eq!(
            other
                .get(&format!("/saldo/{}", account.no_rekening), Some(&wrong))
                .await
                .status,
            401
        );
    }
    let reply = app.saldo(&account).await;
    assert_eq!(
        reply.status, 401,
        "the lock applies at once on the replica with the cache"
    );
    assert_eq!(reply.remark(), LOCKED);
}

#[tokio::test]
async fn parallel_brute_force_verifies_at_most_five_wrong_pins() {
    // Every refusal costs an argon2 verification (a dummy one once the slots are taken, so
    // that its time says nothing): 100 of them on two busy cores may outlast the default
    // 15 s request limit.
    let app = spawn_app_with(|settings| settings.serve.request_timeout_ms = 120_000).await;
    let account = app.register_with_pin("424242").await;
    let path = format!("/saldo/{}", account.no_rekening);
    let guesses: Vec<String> = (0..100).map(|i| format!("{:06}", 100_000 + i)).collect();

    let headers: Vec<String> = guesses
        .iter()
        .map(|pin| basic(&account.no_rekening, pin))
        .collect();
    let replies = join_all(headers.iter().map(|h| app.get(&path, Some(h)))).await;

    assert!(replies.iter().all(|r| r.status == 401));
    let verified_wrong = replies.iter().filter(|r| r.remark() == WRONG).count();
    assert!(
        verified_wrong <= 4,
        "{verified_wrong} wrong PINs answered as merely wrong"
    );
    assert!(
        gagal_pin(&app, &account.no_rekening).await <= 5,
        "never more than five attempts counted"
    );
    let locked: bool =
        sqlx::query_scalar("SELECT terkunci_sampai > now() FROM nasabah WHERE no_rekening = $1")
            .bind(&account.no_rekening)
            .fetch_one(&app.pool)
            .await
            .expect("row");
    assert!(locked);
    assert_eq!(app.saldo(&account).await.remark(), LOCKED);
}

#[tokio::test]
async fn a_burst_from_one_customer_is_served() {
    // 50 concurrent requests with the right PIN and a cold cache: all succeed (they share one
    // argon2 verification instead of exhausting the attempt slots).
    let app = spawn_app().await;
    let account = app.register().await;
    let replies = join_all((0..50).map(|_| app.saldo(&account))).await;
    for reply in replies {
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    assert_eq!(gagal_pin(&app, &account.no_rekening).await, 0);
}
