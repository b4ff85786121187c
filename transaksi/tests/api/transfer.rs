//! `POST /transfer` and `GET /transaksi/{id}` over HTTP against a real PostgreSQL: the answer,
//! the legs of the double-entry journal, the outbox rows, the refusals (nothing written), the
//! fee, idempotency, and transfers in both directions and in rings at once.

use futures::future::join_all;
use rust_decimal::Decimal;
use serde_json::json;
use transaksi::app::transfer::FeePolicy;

use crate::support::{Account, TestApp, spawn_app, spawn_app_with};

fn d(text: &str) -> Decimal {
    text.parse().expect("decimal")
}

/// The legs of a transaction as stored: (account or system code, jenis, nominal), debits
/// first.
async fn legs(app: &TestApp, id: &str) -> Vec<(String, String, Decimal)> {
    sqlx::query_as(
        "SELECT coalesce(no_rekening, akun_sistem), jenis_transaksi, nominal FROM jurnal
          WHERE transaksi_id = $1::uuid ORDER BY jenis_transaksi DESC, no_rekening NULLS LAST",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .expect("legs")
}

/// An outbox row: (no_rekening, jenis, no_rekening_lawan, referensi, saldo).
type OutboxLine = (String, String, Option<String>, Option<String>, Decimal);

async fn funded(app: &TestApp, saldo: &str) -> Account {
    let account = app.register().await;
    let reply = app.tabung(&account, saldo).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    account
}

async fn total_rows(app: &TestApp) -> (i64, i64) {
    sqlx::query_as("SELECT (SELECT count(*) FROM jurnal), (SELECT count(*) FROM outbox)")
        .fetch_one(&app.pool)
        .await
        .expect("counts")
}

#[tokio::test]
async fn a_transfer_moves_the_money_in_one_balanced_transaction() {
    let app = spawn_app().await;
    let asal = funded(&app, "100000").await;
    let tujuan = app.register().await;

    let body = json!({
        "no_rekening_asal": asal.no_rekening,
        "no_rekening_tujuan": tujuan.no_rekening,
        "nominal": 40000.50,
        "keterangan": "bayar kos Desember",
        "referensi": "INV-2026-0012",
    });
    let reply = app.transfer_body(&asal, &body, &[]).await;

    assert_eq!(reply.status, 200, "{}", reply.text);
    let answer = reply.json();
    assert_eq!(reply.saldo(), d("59999.50"));
    assert_eq!(answer["jenis_transaksi"], "D");
    assert_eq!(answer["no_rekening"], asal.no_rekening.as_str());
    assert_eq!(answer["no_rekening_tujuan"], tujuan.no_rekening.as_str());
    assert!(
        reply.text.contains(r#""nominal":40000.50,"#),
        "{}",
        reply.text
    );
    assert!(reply.text.contains(r#""biaya":0.00,"#), "{}", reply.text);
    assert_eq!(answer["keterangan"], "bayar kos Desember");
    assert_eq!(answer["referensi"], "INV-2026-0012");
    let id = answer["id"].as_str().expect("id").to_owned();
    assert_eq!(app.saldo_in_db(&asal.no_rekening).await, d("59999.50"));
    assert_eq!(app.saldo_in_db(&tujuan.no_rekening).await, d("40000.50"));
    assert_eq!(
        legs(&app, &id).await,
        vec![
            (asal.no_rekening.clone(), "D".into(), d("40000.50")),
            (tujuan.no_rekening.clone(), "C".into(), d("40000.50")),
        ]
    );
    // One outbox row (one statement line) per party, both with the transaction id, each
    // naming the other.
    let outbox: Vec<OutboxLine> = sqlx::query_as(
        "SELECT no_rekening, jenis_transaksi, no_rekening_lawan, referensi, saldo FROM outbox
          WHERE transaksi_id = $1::uuid ORDER BY jenis_transaksi DESC",
    )
    .bind(&id)
    .fetch_all(&app.pool)
    .await
    .expect("outbox");
    assert_eq!(
        outbox,
        vec![
            (
                asal.no_rekening.clone(),
                "D".into(),
                Some(tujuan.no_rekening.clone()),
                Some("INV-2026-0012".into()),
                d("59999.50")
            ),
            (
                tujuan.no_rekening.clone(),
                "C".into(),
                Some(asal.no_rekening.clone()),
                Some("INV-2026-0012".into()),
                d("40000.50")
            ),
        ]
    );
    app.assert_trial_balance().await;
}

#[tokio::test]
async fn refused_transfers_write_nothing() {
    let app = spawn_app().await;
    let asal = funded(&app, "100").await;
    let tujuan = app.register().await;
    let before = total_rows(&app).await;
    let transfer = |to: &str, nominal: &str| {
        json!({
            "no_rekening_asal": asal.no_rekening,
            "no_rekening_tujuan": to,
            "nominal": serde_json::from_str::<serde_json::Value>(nominal).expect("json"),
        })
    };
    // (body, status, field): unknown destination (well formed, then malformed), the source
    // itself, more than the balance, a bad amount, bad texts, an unknown field.
    let mut too_long = transfer(&tujuan.no_rekening, "1");
    too_long["keterangan"] = json!("x".repeat(141));
    let mut control = transfer(&tujuan.no_rekening, "1");
    control["referensi"] = json!("a\u{7}b");
    let mut unknown_field = transfer(&tujuan.no_rekening, "1");
    unknown_field["biaya"] = json!(0);
    let cases = [
        (transfer("1234567897", "1"), 400, "no_rekening_tujuan"),
        (transfer("12345", "1"), 400, "no_rekening_tujuan"),
        (transfer(&asal.no_rekening, "1"), 400, "no_rekening_tujuan"),
        (transfer(&tujuan.no_rekening, "100.01"), 400, "nominal"),
        (transfer(&tujuan.no_rekening, "0"), 400, "nominal"),
        (transfer(&tujuan.no_rekening, "\"10\""), 400, "nominal"),
        (transfer(&tujuan.no_rekening, "1.001"), 400, "nominal"),
        (too_long, 400, "keterangan"),
        (control, 400, "referensi"),
        (unknown_field, 400, "biaya"),
    ];
    for (body, status, field) in cases {
        let reply = app.transfer_body(&asal, &body, &[]).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text);
        assert_eq!(reply.json()["field"], field, "{body}: {}", reply.text);
    }
    let insufficient = app.transfer(&asal, &tujuan.no_rekening, "100.01").await;
    assert_eq!(insufficient.remark(), "saldo tidak cukup");
    assert_eq!(total_rows(&app).await, before, "nothing was written");
    assert_eq!(app.saldo_in_db(&asal.no_rekening).await, d("100"));
    app.assert_trial_balance().await;
}

#[tokio::test]
async fn only_the_holder_transfers_from_an_account() {
    let app = spawn_app().await;
    let victim = funded(&app, "500").await;
    let thief = app.register().await;
    let body = json!({
        "no_rekening_asal": victim.no_rekening,
        "no_rekening_tujuan": thief.no_rekening,
        "nominal": 500,
    });

    let reply = app.transfer_body(&thief, &body, &[]).await;

    assert_eq!(reply.status, 403, "{}", reply.text);
    let unauthenticated = app
        .post_json("/transfer", None, &body.to_string(), &[])
        .await;
    assert_eq!(unauthenticated.status, 401);
    assert_eq!(app.saldo_in_db(&victim.no_rekening).await, d("500"));
    assert_eq!(app.saldo_in_db(&thief.no_rekening).await, d("0"));
}

#[tokio::test]
async fn an_idempotency_key_transfers_once() {
    let app = spawn_app().await;
    let asal = funded(&app, "1000").await;
    let tujuan = app.register().await;
    let body = json!({
        "no_rekening_asal": asal.no_rekening,
        "no_rekening_tujuan": tujuan.no_rekening,
        "nominal": 300,
        "referensi": "R-1",
    });
    let key = [("Idempotency-Key", "transfer-1")];

    let replies = join_all((0..5).map(|_| app.transfer_body(&asal, &body, &key))).await;
    let first = &replies[0];
    assert_eq!(first.status, 200, "{}", first.text);
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.json()["id"], first.json()["id"], "one transfer");
        assert_eq!(reply.saldo(), d("700"));
    }
    let replayed = replies
        .iter()
        .filter(|r| r.headers.get("idempotent-replayed").is_some())
        .count();
    assert_eq!(replayed, 4, "all but one are replays");
    assert_eq!(app.saldo_in_db(&tujuan.no_rekening).await, d("300"));

    // The same key for another request (another referensi; a deposit) is refused.
    let mut other = body.clone();
    other["referensi"] = json!("R-2");
    let reused = app.transfer_body(&asal, &other, &key).await;
    assert_eq!(reused.status, 422, "{}", reused.text);
    let deposit = app
        .post_money_with(
            "/tabung",
            &asal,
            &asal.no_rekening,
            "300",
            &[("Idempotency-Key", "transfer-1")],
        )
        .await;
    assert_eq!(deposit.status, 422, "{}", deposit.text);
    assert_eq!(app.saldo_in_db(&asal.no_rekening).await, d("700"));
    app.assert_trial_balance().await;
}

#[tokio::test]
async fn the_fee_is_a_leg_of_the_same_transaction() {
    let app = spawn_app_with(|settings| {
        let fees = FeePolicy::new(d("2500"), d("0.5")).expect("valid fees");
        settings.transfer_fee_flat = fees.flat;
        settings.transfer_fee_percent = fees.percent;
    })
    .await;
    let asal = funded(&app, "1000000").await;
    let tujuan = app.register().await;

    // 0.5 % of 100000.10 is 500.0005: half up to 500.00; plus 2500 flat.
    let reply = app.transfer(&asal, &tujuan.no_rekening, "100000.10").await;

    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.text.contains(r#""biaya":3000.00,"#), "{}", reply.text);
    assert_eq!(reply.saldo(), d("896999.90"));
    let id = reply.json()["id"].as_str().expect("id").to_owned();
    assert_eq!(
        legs(&app, &id).await,
        vec![
            (asal.no_rekening.clone(), "D".into(), d("103000.10")),
            (tujuan.no_rekening.clone(), "C".into(), d("100000.10")),
            ("PENDAPATAN_BIAYA".into(), "C".into(), d("3000.00")),
        ]
    );
    // Amount + fee must be covered: 893999.90 + its fee is more than what is left.
    let rest = app.transfer(&asal, &tujuan.no_rekening, "893999.90").await;
    assert_eq!(rest.status, 400, "{}", rest.text);
    assert_eq!(rest.remark(), "saldo tidak cukup");
    assert_eq!(app.saldo_in_db(&asal.no_rekening).await, d("896999.90"));
    app.assert_trial_balance().await;
    let income: Decimal =
        sqlx::query_scalar("SELECT saldo FROM neraca_saldo WHERE akun = 'PENDAPATAN_BIAYA'")
            .fetch_one(&app.pool)
            .await
            .expect("fee income");
    assert_eq!(income, d("3000.00"));
}

#[tokio::test]
async fn a_party_reads_the_transaction_and_nobody_else_does() {
    let app = spawn_app_with(|settings| settings.transfer_fee_flat = d("1.50")).await;
    let asal = funded(&app, "100").await;
    let tujuan = app.register().await;
    let stranger = app.register().await;
    let reply = app.transfer(&asal, &tujuan.no_rekening, "10").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let id = reply.json()["id"].as_str().expect("id").to_owned();
    let path = format!("/transaksi/{id}");

    let seen_by_source = app.get(&path, Some(&asal.authorization())).await;
    assert_eq!(seen_by_source.status, 200, "{}", seen_by_source.text);
    let entri = seen_by_source.json()["entri"].clone();
    assert_eq!(entri[0]["akun"], asal.no_rekening.as_str());
    assert_eq!(entri[0]["jenis_transaksi"], "D");
    assert!(
        seen_by_source
            .text
            .contains(r#""jenis_transaksi":"D","nominal":11.50,"saldo":88.50}"#),
        "its own saldo: {}",
        seen_by_source.text
    );
    assert_eq!(entri[1]["akun"], tujuan.no_rekening.as_str());
    assert!(entri[1].get("saldo").is_none(), "never the other's saldo");
    assert_eq!(entri[2]["akun"], "PENDAPATAN_BIAYA");
    assert_eq!(entri[2]["sistem"], true);

    let seen_by_destination = app.get(&path, Some(&tujuan.authorization())).await;
    assert_eq!(seen_by_destination.status, 200);
    let entri = seen_by_destination.json()["entri"].clone();
    assert!(entri[0].get("saldo").is_none());
    assert!(
        seen_by_destination
            .text
            .contains(r#""jenis_transaksi":"C","nominal":10.00,"saldo":10.00}"#),
        "{}",
        seen_by_destination.text
    );

    let stranger_view = app.get(&path, Some(&stranger.authorization())).await;
    assert_eq!(stranger_view.status, 404, "{}", stranger_view.text);
    let missing = app
        .get(
            "/transaksi/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
            Some(&asal.authorization()),
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.remark(), stranger_view.remark(), "nothing revealed");
    let malformed = app
        .get("/transaksi/not-a-uuid", Some(&asal.authorization()))
        .await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.json()["field"], "id");
    // A deposit is a transaction too: its customer leg and the cash leg.
    let deposit = app.tabung(&stranger, "5").await;
    let deposit_id = deposit.json()["id"].as_str().expect("id").to_owned();
    let view = app
        .get(
            &format!("/transaksi/{deposit_id}"),
            Some(&stranger.authorization()),
        )
        .await;
    assert_eq!(view.json()["entri"][1]["akun"], "KAS");
    assert_eq!(view.json()["entri"][1]["jenis_transaksi"], "D");
}

/// A→B and B→A at once, and rings A→B→C→A, many times over: nothing deadlocks (every request
/// is answered 200), no cent is lost, every saldo is where the model puts it.
#[tokio::test]
async fn opposite_directions_and_rings_never_deadlock() {
    let app = spawn_app_with(|settings| {
        settings.batch_max_size = 8;
        settings.batch_workers = 4;
    })
    .await;
    let accounts = [
        funded(&app, "1000").await,
        funded(&app, "1000").await,
        funded(&app, "1000").await,
    ];
    let mut requests = Vec::new();
    for round in 0..40 {
        for (from, to) in [(0, 1), (1, 0), (1, 2), (2, 0)] {
            let nominal = if round % 2 == 0 { "1.25" } else { "3" };
            requests.push(app.transfer(&accounts[from], &accounts[to].no_rekening, nominal));
        }
    }
    let replies = tokio::time::timeout(std::time::Duration::from_secs(60), join_all(requests))
        .await
        .expect("no deadlock: every transfer is answered");
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    // Per round each account sends and receives: 0 sends 1 receives 2 (0→1, 1→0, 2→0: +1);
    // 1 sends 2 receives 1; 2 sends 1 receives 1.
    let moved = d("1.25") * Decimal::from(20) + d("3") * Decimal::from(20);
    let saldo = [
        app.saldo_in_db(&accounts[0].no_rekening).await,
        app.saldo_in_db(&accounts[1].no_rekening).await,
        app.saldo_in_db(&accounts[2].no_rekening).await,
    ];
    assert_eq!(saldo, [d("1000") + moved, d("1000") - moved, d("1000")]);
    assert_eq!(saldo.iter().sum::<Decimal>(), d("3000"));
    app.assert_trial_balance().await;
}
