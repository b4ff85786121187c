//! The assessment's four scenarios.

use rust_decimal::Decimal;

use crate::support::spawn_app;

fn d(text: &str) -> Decimal {
    text.parse().expect("decimal")
}

#[tokio::test]
async fn tabung_dengan_rekening_dikenal() {
    let app = spawn_app().await;
    let account = app.register().await;

    let reply = app.tabung(&account, "150000").await;

    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.saldo(), d("150000"));
    assert_eq!(reply.json()["jenis_transaksi"], "C");
    assert_eq!(app.saldo_in_db(&account.no_rekening).await, d("150000"));
    assert_eq!(app.journal_rows(&account.no_rekening).await, 1);
    assert_eq!(app.outbox_rows(&account.no_rekening).await, 1);
}

#[tokio::test]
async fn tabung_dengan_rekening_tidak_dikenal() {
    let app = spawn_app().await;
    let account = app.register().await;

    // Authenticated as a real account, depositing to a number nobody has.
    let reply = app
        .post_money_with("/tabung", &account, "1234567897", "1000", &[])
        .await;

    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.remark(), "nomor rekening tidak dikenali");
    assert_eq!(app.saldo_in_db(&account.no_rekening).await, d("0"));
    let journal: i64 = sqlx::query_scalar("SELECT count(*) FROM jurnal")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(journal, 0, "nothing was posted anywhere");
}

#[tokio::test]
async fn tarik_kurang_dari_saldo() {
    let app = spawn_app().await;
    let account = app.register().await;
    assert_eq!(app.tabung(&account, "100000").await.status, 200);

    let reply = app.tarik(&account, "40000.50").await;

    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.saldo(), d("59999.50"));
    assert_eq!(reply.json()["jenis_transaksi"], "D");
    assert_eq!(app.saldo_in_db(&account.no_rekening).await, d("59999.50"));
    assert_eq!(app.journal_rows(&account.no_rekening).await, 2);
    assert_eq!(app.outbox_rows(&account.no_rekening).await, 2);
}

#[tokio::test]
async fn tarik_lebih_dari_saldo() {
    let app = spawn_app().await;
    let account = app.register().await;
    assert_eq!(app.tabung(&account, "100").await.status, 200);

    let reply = app.tarik(&account, "100.01").await;

    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.remark(), "saldo tidak cukup");
    assert_eq!(app.saldo_in_db(&account.no_rekening).await, d("100"));
    assert_eq!(
        app.journal_rows(&account.no_rekening).await,
        1,
        "only the deposit"
    );
    assert_eq!(
        app.outbox_rows(&account.no_rekening).await,
        1,
        "only the deposit"
    );
}

#[tokio::test]
async fn saldo_reads_the_balance_and_outbox_carries_the_event() {
    let app = spawn_app().await;
    let account = app.register().await;
    let deposit = app.tabung(&account, "250.75").await;
    assert_eq!(deposit.status, 200);

    let reply = app.saldo(&account).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.saldo(), d("250.75"));
    assert_eq!(reply.json()["no_rekening"], account.no_rekening.as_str());

    let (event_id, jenis, nominal, saldo, published): (
        uuid::Uuid,
        String,
        Decimal,
        Decimal,
        Option<chrono::DateTime<chrono::Utc>>,
    ) = sqlx::query_as(
        "SELECT event_id, jenis_transaksi, nominal, saldo, dipublikasikan_pada
               FROM outbox WHERE no_rekening = $1",
    )
    .bind(&account.no_rekening)
    .fetch_one(&app.pool)
    .await
    .expect("outbox row");
    assert_eq!(
        event_id.to_string(),
        deposit.json()["id"].as_str().expect("id")
    );
    assert_eq!(
        (jenis.as_str(), nominal, saldo),
        ("C", d("250.75"), d("250.75"))
    );
    assert!(published.is_none(), "published only by the relay");
}
