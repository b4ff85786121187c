//! `mutasi migrate` against a real PostgreSQL: the statement table, its unique event id (what
//! makes redelivery harmless) and the unique (account, transaction number) index that serves
//! "one account, newest first".

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
    let insert = "INSERT INTO mutasi (event_id, tanggal_transaksi, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening)
                  VALUES ($1::uuid, now(), '1234567897', 'C', 10.50, 10.50, 1)
                  ON CONFLICT (event_id) DO NOTHING";
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
        "INSERT INTO mutasi (event_id, tanggal_transaksi, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening)
         VALUES (gen_random_uuid(), now(), '1234567897', 'X', 1, 1, 2)",
    )
    .execute(&pool)
    .await;
    assert!(bad.is_err(), "jenis_transaksi is C or D");
    let same_number = sqlx::query(
        "INSERT INTO mutasi (event_id, tanggal_transaksi, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening)
         VALUES (gen_random_uuid(), now(), '1234567897', 'C', 1, 11.50, 1)",
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
