//! The assessment's four scenarios, and the transfer seed scenarios (bank run, payment with a
//! 1 % fee, circular transfers).

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

    let (event_id, jenis, nominal, saldo, unpublished): (
        uuid::Uuid,
        String,
        Decimal,
        Decimal,
        bool,
    ) = sqlx::query_as(
        "SELECT event_id, jenis_transaksi, nominal, saldo,
                    (o.writer_xid, o.urutan) > (w.writer_xid, w.urutan)
               FROM outbox AS o, relay_watermark AS w WHERE no_rekening = $1",
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
    assert!(unpublished, "published only by the relay");
}

// The transfer seed scenarios.

/// The balance the bank's own account `akun` holds (credit-positive), from its legs.
async fn system_saldo(app: &crate::support::TestApp, akun: &str) -> Decimal {
    sqlx::query_scalar("SELECT saldo FROM neraca_saldo WHERE akun = $1")
        .bind(akun)
        .fetch_one(&app.pool)
        .await
        .expect("system account")
}

/// A bank run: 75 withdrawals and 75 transfers of 10 at once out of an account holding 1000.
/// Exactly 100 succeed, the other 50 are refused, the account ends at 0, never below it, and
/// every rupiah is either in a recipient's account or paid out in cash.
#[tokio::test]
async fn bank_run() {
    let app = crate::support::spawn_app_with(|settings| settings.batch_workers = 4).await;
    let bank = app.register().await;
    let recipients = futures::future::join_all((0..5).map(|_| app.register())).await;
    assert_eq!(app.tabung(&bank, "1000").await.status, 200);

    let withdrawals = (0..75).map(|_| app.tarik(&bank, "10"));
    let transfers = (0..75).map(|i| app.transfer(&bank, &recipients[i % 5].no_rekening, "10"));
    let (withdrawn, transferred) = futures::future::join(
        futures::future::join_all(withdrawals),
        futures::future::join_all(transfers),
    )
    .await;

    let ok = |replies: &[crate::support::Reply]| replies.iter().filter(|r| r.status == 200).count();
    for reply in withdrawn.iter().chain(&transferred) {
        assert!(
            reply.status == 200 || reply.remark() == "saldo tidak cukup",
            "{}",
            reply.text
        );
        if reply.status == 200 {
            assert!(reply.saldo() >= Decimal::ZERO);
        }
    }
    let (withdrawn, transferred) = (ok(&withdrawn), ok(&transferred));
    assert_eq!(
        withdrawn + transferred,
        100,
        "exactly the balance was spent"
    );
    assert_eq!(app.saldo_in_db(&bank.no_rekening).await, Decimal::ZERO);
    let mut received = Decimal::ZERO;
    for recipient in &recipients {
        received += app.saldo_in_db(&recipient.no_rekening).await;
    }
    assert_eq!(received, d("10") * Decimal::from(transferred as u64));
    // Cash: 1000 in, 10 out per withdrawal.
    let cash_out = d("10") * Decimal::from(withdrawn as u64);
    assert_eq!(system_saldo(&app, "KAS").await, cash_out - d("1000"));
    app.assert_trial_balance().await;
}

/// A payment with a 1 % fee: customer → merchant, the fee to the bank's fee income, in one
/// transaction; money is conserved (customer + merchant + fee income is what was deposited),
/// also when many customers pay at once.
#[tokio::test]
async fn payment_with_a_1_percent_fee() {
    let app =
        crate::support::spawn_app_with(|settings| settings.transfer_fee_percent = d("1")).await;
    let merchant = app.register().await;
    let customers = futures::future::join_all((0..8).map(|_| app.register())).await;
    for customer in &customers {
        assert_eq!(app.tabung(customer, "1000").await.status, 200);
    }

    let first = app
        .transfer(&customers[0], &merchant.no_rekening, "250")
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert!(first.text.contains(r#""biaya":2.50,"#), "{}", first.text);
    assert_eq!(first.saldo(), d("747.50"));
    // The rest pay 99.99 each at once (fee 0.9999 → 1.00 half up), some twice.
    let payments = customers
        .iter()
        .skip(1)
        .chain(customers.iter().skip(5))
        .map(|customer| app.transfer(customer, &merchant.no_rekening, "99.99"));
    let replies = futures::future::join_all(payments).await;
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert!(reply.text.contains(r#""biaya":1.00,"#), "{}", reply.text);
    }
    let paid = replies.len() as u64;

    let merchant_saldo = app.saldo_in_db(&merchant.no_rekening).await;
    assert_eq!(merchant_saldo, d("250") + d("99.99") * Decimal::from(paid));
    let fees = system_saldo(&app, "PENDAPATAN_BIAYA").await;
    assert_eq!(fees, d("2.50") + d("1.00") * Decimal::from(paid));
    let mut customers_saldo = Decimal::ZERO;
    for customer in &customers {
        customers_saldo += app.saldo_in_db(&customer.no_rekening).await;
    }
    assert_eq!(
        customers_saldo + merchant_saldo + fees,
        d("8000"),
        "conservation: nothing created, nothing lost"
    );
    app.assert_trial_balance().await;
}

/// Circular transfers: five accounts each pass 7.77 to the next, A→B→C→D→E→A, twenty times
/// over, all at once. Nothing deadlocks, every transfer posts, every account ends where it
/// began, and the total never changes.
#[tokio::test]
async fn circular_transfers() {
    let app = crate::support::spawn_app_with(|settings| {
        settings.batch_workers = 4;
        settings.batch_max_size = 4;
    })
    .await;
    let ring = futures::future::join_all((0..5).map(|_| app.register())).await;
    for account in &ring {
        assert_eq!(app.tabung(account, "200").await.status, 200);
    }
    let transfers = (0..20).flat_map(|_| {
        (0..5).map(|i| app.transfer(&ring[i], &ring[(i + 1) % 5].no_rekening, "7.77"))
    });
    let replies = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        futures::future::join_all(transfers),
    )
    .await
    .expect("no deadlock: every transfer is answered");
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    for account in &ring {
        assert_eq!(app.saldo_in_db(&account.no_rekening).await, d("200"));
        assert_eq!(app.journal_rows(&account.no_rekening).await, 1 + 40);
    }
    app.assert_trial_balance().await;
}
