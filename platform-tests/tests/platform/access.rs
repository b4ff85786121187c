//! Who may read a statement: the same Basic authentication, rules and remarks as transaksi,
//! one lockout shared by both services, no call to transaksi, and a database role that can
//! read only what authentication needs.

use std::sync::Arc;

use sqlx::postgres::PgPoolOptions;

use crate::support::{Platform, basic, postgres, spawn_platform};

async fn saldo_reply(platform: &Platform, authorization: &str, no_rekening: &str) -> (u16, String) {
    let response = platform
        .client
        .get(format!("{}/saldo/{no_rekening}", platform.transaksi_url))
        .header("Authorization", authorization)
        .send()
        .await
        .expect("answered");
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.expect("JSON");
    (status, body["remark"].as_str().unwrap_or("").to_owned())
}

#[tokio::test]
async fn same_answers_as_transaksi_for_every_refusal() {
    let platform = spawn_platform().await;
    let owner = platform.register().await;
    let other = platform.register().await;
    let cases = [
        (
            "wrong PIN",
            basic(&owner.no_rekening, "000000"),
            owner.no_rekening.clone(),
            401,
        ),
        (
            "malformed header",
            "Basic !!!".to_owned(),
            owner.no_rekening.clone(),
            401,
        ),
        (
            "another account",
            owner.authorization(),
            other.no_rekening.clone(),
            403,
        ),
        (
            "unregistered account",
            owner.authorization(),
            "1234567897".to_owned(),
            400,
        ),
        (
            "malformed account",
            owner.authorization(),
            "12345".to_owned(),
            400,
        ),
        (
            "non-UTF-8 path segment",
            owner.authorization(),
            "%ff%fe".to_owned(),
            400,
        ),
        (
            "SQL in the path",
            owner.authorization(),
            "1'%20OR%20'1'='1".to_owned(),
            400,
        ),
    ];
    for (case, authorization, path_account, status) in cases {
        let mutasi = platform.statement(&authorization, &path_account, "").await;
        let transaksi = saldo_reply(&platform, &authorization, &path_account).await;
        assert_eq!(mutasi.status, status, "{case}: {}", mutasi.body);
        assert_eq!(
            (mutasi.status, mutasi.remark().to_owned()),
            transaksi,
            "{case}"
        );
    }
    let missing = platform
        .client
        .get(format!(
            "{}/mutasi/{}",
            platform.mutasi_url, owner.no_rekening
        ))
        .send()
        .await
        .expect("answered");
    assert_eq!(missing.status().as_u16(), 401);
    assert!(missing.headers().contains_key("www-authenticate"));
}

#[tokio::test]
async fn wrong_pins_at_either_service_count_toward_one_lock() {
    let platform = spawn_platform().await;
    let account = platform.register().await;
    let wrong = basic(&account.no_rekening, "999999");
    for _ in 0..3 {
        assert_eq!(
            platform
                .statement(&wrong, &account.no_rekening, "")
                .await
                .status,
            401
        );
    }
    for _ in 0..2 {
        assert_eq!(
            saldo_reply(&platform, &wrong, &account.no_rekening).await.0,
            401
        );
    }
    // Five wrong PINs across both services: the right PIN is refused by both now.
    let locked = "rekening terkunci karena terlalu banyak PIN salah; coba lagi nanti";
    let at_mutasi = platform
        .statement(&account.authorization(), &account.no_rekening, "")
        .await;
    assert_eq!((at_mutasi.status, at_mutasi.remark()), (401, locked));
    let at_transaksi = saldo_reply(&platform, &account.authorization(), &account.no_rekening).await;
    assert_eq!(at_transaksi, (401, locked.to_owned()));
}

#[tokio::test]
async fn statements_are_served_while_transaksi_is_down() {
    let platform = spawn_platform().await;
    let account = platform.register().await;
    assert_eq!(
        platform.post_money("/tabung", &account, "5").await.status,
        200
    );
    platform.wait_for_statement_rows(1).await;
    platform.transaksi_server.abort();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(
        platform
            .client
            .get(format!("{}/healthz", platform.transaksi_url))
            .send()
            .await
            .is_err(),
        "transaksi is down"
    );
    let reply = platform
        .statement(&account.authorization(), &account.no_rekening, "")
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["mutasi"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn the_credential_role_reads_only_what_authentication_needs() {
    let platform = spawn_platform().await;
    let account = platform.register().await;
    let server = postgres::server();
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(server.options(&platform.transaksi_db))
        .await
        .expect("admin");
    let role = format!("mutasi_{}", uuid::Uuid::new_v4().simple());
    for statement in [
        format!("CREATE ROLE {role} LOGIN"),
        format!("GRANT bukubesar_autentikasi TO {role}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
            .execute(&admin)
            .await
            .expect(&statement);
    }
    let restricted = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(server.options(&platform.transaksi_db).username(&role))
        .await
        .expect("the role connects to transaksi's database");

    // mutasi's HTTP API on that role.
    let router = mutasi::application(
        &platform.mutasi_settings,
        mutasi::datastore::Datastore::new(platform.mutasi_pool.clone()),
        restricted.clone(),
        Arc::new(mutasi::app::stats::ConsumerStats::default()),
    )
    .expect("application");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serves") });
    let get = |authorization: String| {
        let client = platform.client.clone();
        let url = format!("{url}/mutasi/{}", account.no_rekening);
        async move {
            client
                .get(url)
                .header("Authorization", authorization)
                .send()
                .await
                .expect("answered")
                .status()
                .as_u16()
        }
    };
    assert_eq!(get(account.authorization()).await, 200);
    assert_eq!(get(basic(&account.no_rekening, "111111")).await, 401);
    let failures: i32 = sqlx::query_scalar("SELECT gagal_pin FROM nasabah WHERE no_rekening = $1")
        .bind(&account.no_rekening)
        .fetch_one(&admin)
        .await
        .expect("gagal_pin");
    assert_eq!(failures, 1, "the role may record a wrong PIN");

    for forbidden in [
        "SELECT saldo FROM rekening LIMIT 1",
        "SELECT nik FROM nasabah LIMIT 1",
        "SELECT count(*) FROM jurnal",
        "UPDATE nasabah SET pin_hash = pin_hash",
        "UPDATE rekening SET saldo = saldo + 1",
    ] {
        let result = sqlx::query(forbidden).execute(&restricted).await;
        let denied = matches!(&result, Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("42501"));
        assert!(denied, "{forbidden}: {result:?}");
    }
}
