//! `mutasi migrate` against a real PostgreSQL: the statement table, its unique (transaction,
//! account) (what makes redelivery harmless, whichever event format carried it) and the unique
//! (account, transaction number) index that serves "one account, newest first"; lines stored
//! before transfers existed keep their event id as their transaction id.

use std::time::Duration;

use bukubesar_testkit::postgres;
use tokio::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_mutasi");
const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

fn mutasi(db_name: &str) -> Command {
    let server = postgres::server();
    let mut command = Command::new(BINARY);
    command
        .arg("migrate")
        .args(["--db-host", &server.host()])
        .args(["--db-port", &server.port().to_string()])
        .args(["--db-name", db_name])
        .env("DB_USER", server.user())
        .env_remove("DB_PASSWORD")
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn migrate_creates_the_statement_table_and_is_repeatable() {
    let db_name = postgres::server().create_database("mutasi_test").await;
    for run in 0..2 {
        let output = tokio::time::timeout(PROCESS_TIMEOUT, mutasi(&db_name).output())
            .await
            .expect("exits in time")
            .expect("runs");
        assert!(
            output.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
    let pool = sqlx::PgPool::connect_with(postgres::server().options(&db_name))
        .await
        .expect("connect");
    let event_id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    let insert = "INSERT INTO mutasi (event_id, transaksi_id, tanggal_transaksi, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening)
                  VALUES ($1::uuid, $1::uuid, now(), '1234567897', 'C', 10.50, 10.50, 1)
                  ON CONFLICT (transaksi_id, no_rekening) DO NOTHING";
    let first = sqlx::query(insert)
        .bind(event_id)
        .execute(&pool)
        .await
        .expect("insert");
    let again = sqlx::query(insert)
        .bind(event_id)
        .execute(&pool)
        .await
        .expect("insert");
    assert_eq!(
        (first.rows_affected(), again.rows_affected()),
        (1, 0),
        "a redelivered event adds nothing"
    );
    let bad = sqlx::query(
        "INSERT INTO mutasi (event_id, transaksi_id, tanggal_transaksi, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening)
         VALUES (gen_random_uuid(), gen_random_uuid(), now(), '1234567897', 'X', 1, 1, 2)",
    )
    .execute(&pool)
    .await;
    assert!(bad.is_err(), "jenis_transaksi is C or D");
    let same_number = sqlx::query(
        "INSERT INTO mutasi (event_id, transaksi_id, tanggal_transaksi, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening)
         VALUES (gen_random_uuid(), gen_random_uuid(), now(), '1234567897', 'C', 1, 11.50, 1)",
    )
    .execute(&pool)
    .await;
    assert!(
        same_number.is_err(),
        "two events cannot claim one account's transaction number"
    );
    let index: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_indexes WHERE tablename = 'mutasi' AND indexname = 'mutasi_rekening_urutan_unik'",
    )
    .fetch_one(&pool)
    .await
    .expect("index query");
    assert_eq!(index, 1);
}

/// Lines stored through the schema before transfers become lines of their transaction (the
/// event id was the transaction id); an event of the same transaction and account, in any
/// format, adds nothing; the other party of a transfer gets its own line.
#[tokio::test]
async fn lines_stored_before_transfers_keep_exactly_once() {
    let db_name = postgres::server().create_database("mutasi_test").await;
    let pool = sqlx::PgPool::connect_with(postgres::server().options(&db_name))
        .await
        .expect("connect");
    mutasi::datastore::MIGRATOR
        .run_to(20261121000002, &pool)
        .await
        .expect("the schema before transfers");
    let old_event = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO mutasi (event_id, tanggal_transaksi, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening)
         VALUES ($1, now(), '1234567897', 'C', 10.50, 10.50, 1)",
    )
    .bind(old_event)
    .execute(&pool)
    .await
    .expect("an old line");
    let output = tokio::time::timeout(PROCESS_TIMEOUT, mutasi(&db_name).output())
        .await
        .expect("exits in time")
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let datastore = mutasi::datastore::Datastore::new(pool.clone());
    let fields = |v: &str, event_id: uuid::Uuid, no: &str, urutan: &str| {
        let mut map: std::collections::HashMap<String, String> = [
            ("v", v),
            ("no_rekening", no),
            ("jenis_transaksi", "C"),
            ("nominal", "10.50"),
            ("saldo", "10.50"),
            ("urutan_rekening", urutan),
            ("tanggal_transaksi", "2026-11-21T08:00:00.123456Z"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        map.insert("event_id".into(), event_id.to_string());
        if v == "2" {
            map.insert("transaksi_id".into(), old_event.to_string());
        }
        bukubesar_common::event::MutasiEvent::parse(&map).expect("a valid event")
    };
    // The old event again (format 1), and republished after the upgrade (format 2).
    let again = fields("1", old_event, "1234567897", "1");
    let republished = fields("2", old_event, "1234567897", "1");
    assert_eq!(
        datastore
            .insert_events(&[&again, &republished])
            .await
            .expect("insert"),
        0,
        "the line exists once"
    );
    // The same transaction on another account (a transfer's other party) is a new line.
    let other_party = fields("2", uuid::Uuid::now_v7(), "2345678904", "1");
    assert_eq!(
        datastore
            .insert_events(&[&other_party])
            .await
            .expect("insert"),
        1
    );
    let (lines, linked): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(*) FILTER (WHERE transaksi_id = $1) FROM mutasi")
            .bind(old_event)
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!((lines, linked), (2, 2));
}

#[tokio::test]
async fn a_missing_database_is_a_critical_line_and_exit_1() {
    let output = tokio::time::timeout(PROCESS_TIMEOUT, mutasi("mutasi_does_not_exist").output())
        .await
        .expect("exits in time")
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let critical = stdout
        .lines()
        .filter(|l| l.contains("\"level\":\"CRITICAL\""))
        .count();
    assert_eq!(critical, 1, "{stdout}");
}
