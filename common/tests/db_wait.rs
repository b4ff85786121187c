//! Start-up waits for a PostgreSQL that is not up yet (`--db-wait-secs`), and gives up when it
//! stays down: what a service needs when its database pod is still initialising.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bukubesar_common::db::{DbArgs, DbCredentials};
use bukubesar_testkit::postgres::{Durability, PgServer, throwaway_with};
use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    db: DbArgs,
}

fn args(server: &PgServer, wait_secs: u64) -> DbArgs {
    let port = server.port().to_string();
    let wait = wait_secs.to_string();
    let host = server.host();
    Cli::parse_from([
        "test",
        "--db-host",
        host.as_str(),
        "--db-port",
        port.as_str(),
        "--db-sslmode",
        "disable",
        "--db-wait-secs",
        wait.as_str(),
    ])
    .db
}

fn credentials(server: &PgServer) -> DbCredentials {
    DbCredentials::new(server.user(), None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_waits_for_a_database_that_comes_up_late() {
    let server = throwaway_with(Durability::Fast);
    let credentials = credentials(&server);
    server.crash();
    let db = args(&server, 60);
    let start_requested = Arc::new(AtomicBool::new(false));
    let requested = start_requested.clone();
    let starter = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        tokio::task::spawn_blocking(move || {
            requested.store(true, Ordering::SeqCst);
            server.start();
            server
        })
        .await
        .expect("the server starts")
    });
    let pool = db
        .connect_when_up("postgres", &credentials, "db-wait-test")
        .await
        .expect("connected once the server came up");
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&pool)
        .await
        .expect("the pool works");
    assert_eq!(one, 1);
    assert!(
        start_requested.load(Ordering::SeqCst),
        "connected only once the server was being started"
    );
    drop(starter.await);
}

#[tokio::test]
async fn start_up_gives_up_when_the_database_stays_down() {
    let server = throwaway_with(Durability::Fast);
    let credentials = credentials(&server);
    server.crash();
    let db = args(&server, 1);
    let error = db
        .connect_when_up("postgres", &credentials, "db-wait-test")
        .await
        .expect_err("nothing listens: the wait ends with an error");
    assert!(
        matches!(error, sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut),
        "an unreachable server, not {error}"
    );
}

#[tokio::test]
async fn a_wrong_database_is_not_waited_for() {
    let server = throwaway_with(Durability::Fast);
    let credentials = credentials(&server);
    let db = args(&server, 600);
    let error = db
        .connect_when_up("no_such_database", &credentials, "db-wait-test")
        .await
        .expect_err("a missing database is an error at once");
    let code = match &error {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    };
    assert_eq!(code.as_deref(), Some("3D000"), "{error}");
}
