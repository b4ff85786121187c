//! The double-entry journal in the database: the migration that turns a journal written
//! through the old schema (one row per deposit or withdrawal) into balanced transactions
//! without changing a customer's balance or line; the trigger that refuses an unbalanced
//! transaction; the append-only journal; the trial balance.

use bukubesar_common::no_rekening::NoRekening;
use rust_decimal::Decimal;
use sqlx::PgPool;
use transaksi::app::batch::{self, Kind, Posting, TransferOrder};
use transaksi::app::nominal::Nominal;
use transaksi::app::outcome::{Outcome, PostResult};
use transaksi::datastore::{Datastore, MIGRATOR};

use crate::support::{fresh_database, postgres, spawn_app};

/// The last migration before the double-entry journal.
const BEFORE_DOUBLE_ENTRY: i64 = 20261121000002;

fn d(text: &str) -> Decimal {
    text.parse().expect("decimal")
}

/// A customer line as the statement shows it.
type Line = (uuid::Uuid, String, String, Decimal, Decimal, i64);

async fn customer_lines(pool: &PgPool) -> Vec<Line> {
    sqlx::query_as(
        "SELECT id, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening FROM jurnal
          WHERE no_rekening IS NOT NULL ORDER BY no_rekening, urutan_rekening",
    )
    .fetch_all(pool)
    .await
    .expect("lines")
}

async fn balances(pool: &PgPool) -> Vec<(String, Decimal, i64)> {
    sqlx::query_as("SELECT no_rekening, saldo, jumlah_transaksi FROM rekening ORDER BY 1")
        .fetch_all(pool)
        .await
        .expect("balances")
}

/// Fills the old schema the way the old code did: per account, random deposits and
/// withdrawals with the running saldo and numbers, one outbox row each (half published).
async fn fill_through_old_schema(pool: &PgPool, accounts: usize) -> Vec<String> {
    let mut numbers = Vec::new();
    for a in 0..accounts {
        let no = NoRekening::generate().to_string();
        sqlx::query(
            "INSERT INTO nasabah (no_rekening, nama, nik, no_hp, pin_hash)
             VALUES ($1, 'Lama', $2, $3, '$argon2id$v=19$m=19456,t=2,p=1$bGFtYQ$bGFtYQ')",
        )
        .bind(&no)
        .bind(format!("32{a:014}"))
        .bind(format!("0812{a:08}"))
        .execute(pool)
        .await
        .expect("nasabah");
        sqlx::query("INSERT INTO rekening (no_rekening) VALUES ($1)")
            .bind(&no)
            .execute(pool)
            .await
            .expect("rekening");
        let mut saldo = Decimal::ZERO;
        let mut urutan = 0_i64;
        for step in 0..(5 + a * 3) {
            let nominal = Decimal::new(((step * 7919 + a * 104_729) % 50_000 + 1) as i64, 2);
            let jenis = if step % 3 == 2 && nominal <= saldo {
                saldo -= nominal;
                "D"
            } else {
                saldo += nominal;
                "C"
            };
            urutan += 1;
            let id = uuid::Uuid::now_v7();
            sqlx::query(
                "WITH j AS (
                    INSERT INTO jurnal (id, no_rekening, jenis_transaksi, nominal, saldo,
                                        urutan_rekening, tanggal_transaksi)
                    VALUES ($1, $2, $3, $4, $5, $6, now()) RETURNING 1)
                 INSERT INTO outbox (event_id, tanggal_transaksi, no_rekening, jenis_transaksi,
                                     nominal, saldo, urutan_rekening, dipublikasikan_pada)
                 VALUES ($1, now(), $2, $3, $4, $5, $6, CASE WHEN $7 THEN now() END)",
            )
            .bind(id)
            .bind(&no)
            .bind(jenis)
            .bind(nominal)
            .bind(saldo)
            .bind(urutan)
            .bind(step % 2 == 0)
            .execute(pool)
            .await
            .expect("old journal row");
        }
        sqlx::query("UPDATE rekening SET saldo = $2, jumlah_transaksi = $3 WHERE no_rekening = $1")
            .bind(&no)
            .bind(saldo)
            .bind(urutan)
            .execute(pool)
            .await
            .expect("rekening");
        numbers.push(no);
    }
    numbers
}

#[tokio::test]
async fn the_old_journal_becomes_double_entry_without_changing_a_line() {
    let db_name = fresh_database().await;
    let pool = PgPool::connect_with(postgres::server().options(&db_name))
        .await
        .expect("connect");
    MIGRATOR
        .run_to(BEFORE_DOUBLE_ENTRY, &pool)
        .await
        .expect("old schema");
    let accounts = fill_through_old_schema(&pool, 6).await;
    let lines_before = customer_lines(&pool).await;
    let balances_before = balances(&pool).await;
    let total: Decimal = balances_before.iter().map(|b| b.1).sum();
    assert!(total > Decimal::ZERO);

    MIGRATOR.run(&pool).await.expect("the new migrations apply");

    assert_eq!(customer_lines(&pool).await, lines_before, "no line changed");
    assert_eq!(balances(&pool).await, balances_before, "no balance changed");
    let (sum, unbalanced, kas): (Decimal, i64, Decimal) = sqlx::query_as(
        "SELECT (SELECT sum(saldo) FROM neraca_saldo),
                (SELECT count(*) FROM (SELECT transaksi_id FROM jurnal GROUP BY transaksi_id
                  HAVING sum(CASE jenis_transaksi WHEN 'D' THEN nominal ELSE -nominal END) <> 0
                      OR count(*) <> 2) AS t),
                (SELECT saldo FROM neraca_saldo WHERE akun = 'KAS')",
    )
    .fetch_one(&pool)
    .await
    .expect("trial balance");
    assert_eq!(sum, Decimal::ZERO, "the trial balance sums to zero");
    assert_eq!(unbalanced, 0, "every old posting is two balanced legs");
    assert_eq!(
        kas, -total,
        "the cash the bank holds is what its customers deposited"
    );
    let unlinked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox AS o
          WHERE o.transaksi_id <> o.event_id
             OR NOT EXISTS (SELECT 1 FROM jurnal AS j WHERE j.id = o.event_id)",
    )
    .fetch_one(&pool)
    .await
    .expect("outbox");
    assert_eq!(
        unlinked, 0,
        "old events keep their id as the transaction id"
    );

    // The new code continues where the old left off: numbers, balances, the trial balance.
    let datastore = Datastore::new(pool.clone());
    let (asal, tujuan) = (&accounts[5], &accounts[0]);
    let saldo_asal = balances_before[..]
        .iter()
        .find(|b| &b.0 == asal)
        .expect("asal")
        .clone();
    let posting = Posting {
        kind: Kind::Transfer(TransferOrder {
            tujuan: NoRekening::parse(tujuan).expect("well formed"),
            biaya: d("0.10"),
            keterangan: None,
            referensi: None,
        }),
        no_rekening: NoRekening::parse(asal).expect("well formed"),
        nominal: Nominal::new(d("0.01")).expect("valid"),
        idempotency: None,
        traceparent: None,
    };
    let results = batch::execute(&datastore, &[posting])
        .await
        .expect("posted");
    let PostResult::Fresh(Outcome::Transferred(transferred)) = &results[0] else {
        panic!("transferred: {results:?}");
    };
    assert_eq!(transferred.asal.urutan_rekening, saldo_asal.2 + 1);
    assert_eq!(transferred.asal.saldo, saldo_asal.1 - d("0.11"));
    let sum: Decimal = sqlx::query_scalar("SELECT sum(saldo) FROM neraca_saldo")
        .fetch_one(&pool)
        .await
        .expect("sum");
    assert_eq!(sum, Decimal::ZERO);
}

#[tokio::test]
async fn an_unbalanced_transaction_and_a_changed_leg_are_refused() {
    let app = spawn_app().await;
    let account = app.register().await;
    assert_eq!(app.tabung(&account, "100").await.status, 200);

    let unbalanced = sqlx::query(
        "INSERT INTO jurnal (id, transaksi_id, no_rekening, akun_sistem, jenis_transaksi,
                             nominal, saldo, urutan_rekening, tanggal_transaksi)
         VALUES (gen_random_uuid(), '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', NULL, 'KAS', 'D',
                 5, NULL, NULL, now()),
                (gen_random_uuid(), '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', NULL,
                 'PENDAPATAN_BIAYA', 'C', 4, NULL, NULL, now())",
    )
    .execute(&app.pool)
    .await;
    let error = unbalanced
        .expect_err("debits must equal credits")
        .to_string();
    assert!(error.contains("tidak seimbang"), "{error}");
    for change in [
        "UPDATE jurnal SET nominal = nominal + 1",
        "DELETE FROM jurnal",
    ] {
        let refused = sqlx::query(change).execute(&app.pool).await;
        assert!(refused.is_err(), "{change} must be refused");
    }
    let without_account = sqlx::query(
        "INSERT INTO jurnal (id, transaksi_id, jenis_transaksi, nominal, tanggal_transaksi)
         VALUES (gen_random_uuid(), gen_random_uuid(), 'D', 1, now())",
    )
    .execute(&app.pool)
    .await;
    assert!(without_account.is_err(), "a leg is on exactly one account");
    app.assert_trial_balance().await;
}
