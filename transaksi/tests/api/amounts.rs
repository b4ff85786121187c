//! `nominal` rules and exact decimal arithmetic.

use rust_decimal::Decimal;

use crate::support::spawn_app;

fn d(text: &str) -> Decimal {
    text.parse().expect("decimal")
}

#[tokio::test]
async fn point_one_plus_point_two_is_point_three() {
    let app = spawn_app().await;
    let account = app.register().await;
    assert_eq!(app.tabung(&account, "0.1").await.status, 200);
    let reply = app.tabung(&account, "0.2").await;
    assert_eq!(reply.saldo(), d("0.3"));
    assert!(reply.text.contains("\"saldo\":0.30"), "{}", reply.text);
}

#[tokio::test]
async fn large_amounts_round_trip_exactly() {
    let app = spawn_app().await;
    let account = app.register().await;
    let reply = app.tabung(&account, "12345678901234567.89").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(
        reply.text.contains("\"saldo\":12345678901234567.89"),
        "{}",
        reply.text
    );
    assert!(
        reply.text.contains("\"nominal\":12345678901234567.89"),
        "{}",
        reply.text
    );
    let saldo = app.saldo(&account).await;
    assert!(
        saldo.text.contains("12345678901234567.89"),
        "{}",
        saldo.text
    );
    assert_eq!(
        app.saldo_in_db(&account.no_rekening).await,
        d("12345678901234567.89")
    );
}

#[tokio::test]
async fn balance_cannot_pass_eighteen_integer_digits() {
    let app = spawn_app().await;
    let account = app.register().await;
    assert_eq!(
        app.tabung(&account, "999999999999999999.99").await.status,
        200
    );
    let reply = app.tabung(&account, "0.01").await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.remark(), "saldo akan melebihi batas maksimum");
    assert_eq!(
        app.saldo_in_db(&account.no_rekening).await,
        d("999999999999999999.99")
    );
    assert_eq!(app.journal_rows(&account.no_rekening).await, 1);
}

#[tokio::test]
async fn invalid_nominals_are_400_and_write_nothing() {
    let app = spawn_app().await;
    let account = app.register().await;
    assert_eq!(app.tabung(&account, "100").await.status, 200);
    for path in ["/tabung", "/tarik"] {
        for nominal in [
            "\"10\"",
            "-5",
            "0",
            "0.00",
            "10.123",
            "1000000000000000000",
            "null",
            "true",
            "[1]",
            "{\"v\":1}",
            "NaN",
            "Infinity",
            "1e400",
        ] {
            let reply = app.post_money(path, &account, nominal).await;
            assert_eq!(reply.status, 400, "{path} {nominal}: {}", reply.text);
            assert!(!reply.remark().is_empty());
        }
    }
    assert_eq!(app.saldo_in_db(&account.no_rekening).await, d("100"));
    assert_eq!(app.journal_rows(&account.no_rekening).await, 1);
    assert_eq!(app.outbox_rows(&account.no_rekening).await, 1);
}

#[tokio::test]
async fn malformed_bodies_get_honest_4xx() {
    let app = spawn_app().await;
    let account = app.register().await;
    let auth = account.authorization();
    let no = &account.no_rekening;

    let missing = app
        .post_json(
            "/tabung",
            Some(&auth),
            &format!(r#"{{"no_rekening":"{no}"}}"#),
            &[],
        )
        .await;
    assert_eq!(missing.status, 400);
    assert!(missing.remark().contains("nominal"), "{}", missing.text);

    let wrong_type = app
        .post_json(
            "/tabung",
            Some(&auth),
            r#"{"no_rekening":1234567897,"nominal":1}"#,
            &[],
        )
        .await;
    assert_eq!(wrong_type.status, 400);
    assert!(
        wrong_type.remark().contains("no_rekening"),
        "{}",
        wrong_type.text
    );

    let broken = app
        .post_json("/tabung", Some(&auth), r#"{"no_rekening":"#, &[])
        .await;
    assert_eq!(broken.status, 400, "{}", broken.text);

    let not_json = app
        .send(
            app.client
                .post(format!("{}/tabung", app.base_url))
                .header("Authorization", &auth)
                .header("Content-Type", "text/plain")
                .body(format!(r#"{{"no_rekening":"{no}","nominal":1}}"#)),
        )
        .await;
    assert_eq!(not_json.status, 415, "{}", not_json.text);
    assert!(!not_json.remark().is_empty());

    let huge = format!(
        r#"{{"no_rekening":"{no}","nominal":1,"pad":"{}"}}"#,
        "x".repeat(17 * 1024)
    );
    let too_large = app.post_json("/tabung", Some(&auth), &huge, &[]).await;
    assert_eq!(too_large.status, 413, "{}", too_large.text);
    assert!(!too_large.remark().is_empty());

    assert_eq!(app.journal_rows(no).await, 0);
}
