//! Normal operation: the statement equals the successful operations, in order, with the
//! running saldo; redelivery adds nothing; trimming keeps what a group has not acknowledged.

use futures::future::join_all;
use rust_decimal::Decimal;

use crate::support::{Account, Platform, redis_connection, spawn_platform, test_redis};

/// One account's operations, applied one after another; returns the expected statement
/// (oldest first) as (jenis, nominal, saldo) of the operations that succeeded.
async fn run_account(
    platform: &Platform,
    account: &Account,
    seed: u64,
) -> Vec<(String, Decimal, Decimal)> {
    let mut expected = Vec::new();
    let mut saldo = Decimal::ZERO;
    let mut state = seed;
    for step in 0..30_u64 {
        // A small deterministic generator: every run exercises the same mix.
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let cents = i64::try_from((state >> 33) % 20_000 + 1).unwrap_or(1);
        let nominal = Decimal::new(cents, 2);
        let (path, jenis) = if step % 3 == 2 {
            ("/tarik", "D")
        } else {
            ("/tabung", "C")
        };
        let reply = platform
            .post_money(path, account, &nominal.to_string())
            .await;
        let would_overdraw = jenis == "D" && nominal > saldo;
        if would_overdraw {
            assert_eq!(reply.status, 400, "{}", reply.body);
            assert_eq!(reply.remark(), "saldo tidak cukup");
            continue;
        }
        assert_eq!(reply.status, 200, "{}", reply.body);
        saldo = if jenis == "C" {
            saldo + nominal
        } else {
            saldo - nominal
        };
        assert_eq!(reply.decimal("saldo"), saldo);
        expected.push((jenis.to_owned(), nominal, saldo));
    }
    expected
}

#[tokio::test]
async fn the_statement_is_exactly_the_successful_operations_newest_first() {
    let platform = spawn_platform().await;
    let accounts = join_all((0..4).map(|_| platform.register())).await;
    let expected: Vec<_> = join_all(
        accounts
            .iter()
            .enumerate()
            .map(|(i, a)| run_account(&platform, a, i as u64 + 7)),
    )
    .await;
    let total: usize = expected.iter().map(Vec::len).sum();
    assert!(
        expected.iter().any(|e| e.len() < 30),
        "the mix includes refused withdrawals"
    );
    platform.wait_for_statement_rows(total as i64).await;
    platform.assert_statement_equals_journal().await;

    for (account, expected) in accounts.iter().zip(&expected) {
        let lines = platform.full_statement(account, 7).await;
        let served: Vec<(String, Decimal, Decimal)> = lines
            .iter()
            .map(|line| {
                assert_eq!(line["no_rekening"], account.no_rekening.as_str());
                assert!(
                    line["tanggal_transaksi"]
                        .as_str()
                        .is_some_and(|t| t.ends_with('Z'))
                );
                (
                    line["jenis_transaksi"].as_str().expect("jenis").to_owned(),
                    line["nominal"].to_string().parse().expect("nominal"),
                    line["saldo"].to_string().parse().expect("saldo"),
                )
            })
            .collect();
        let newest_first: Vec<_> = expected.iter().rev().cloned().collect();
        assert_eq!(served, newest_first, "account {}", account.no_rekening);
    }
}

#[tokio::test]
async fn limit_and_cursor_page_through_the_statement() {
    let platform = spawn_platform().await;
    let account = platform.register().await;
    for i in 1..=5 {
        assert_eq!(
            platform
                .post_money("/tabung", &account, &i.to_string())
                .await
                .status,
            200
        );
    }
    platform.wait_for_statement_rows(5).await;
    let auth = account.authorization();
    let first = platform
        .statement(&auth, &account.no_rekening, "?limit=2")
        .await;
    assert_eq!(first.status, 200);
    let nominals = |body: &serde_json::Value| -> Vec<String> {
        body["mutasi"]
            .as_array()
            .expect("array")
            .iter()
            .map(|l| {
                l["nominal"]
                    .to_string()
                    .parse::<Decimal>()
                    .expect("decimal")
                    .normalize()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(nominals(&first.body), ["5", "4"]);
    assert!(
        first.text.contains(r#""nominal":5.00"#),
        "amounts are exact JSON numbers with two decimals: {}",
        first.text
    );
    let cursor = first.body["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second = platform
        .statement(
            &auth,
            &account.no_rekening,
            &format!("?limit=2&cursor={cursor}"),
        )
        .await;
    assert_eq!(nominals(&second.body), ["3", "2"]);
    let all = platform.statement(&auth, &account.no_rekening, "").await;
    assert_eq!(
        all.body["mutasi"].as_array().map(Vec::len),
        Some(5),
        "default limit is 100"
    );
    assert!(all.body["next_cursor"].is_null());
    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?limit=abc", "limit"),
        ("?cursor=x", "cursor"),
        ("?limit=1&limit=2", "limit"),
    ] {
        let reply = platform.statement(&auth, &account.no_rekening, query).await;
        assert_eq!(reply.status, 400, "{query}: {}", reply.body);
        assert_eq!(reply.body["field"], field, "{query}");
        assert!(!reply.remark().is_empty());
    }
}

#[tokio::test]
async fn a_redelivered_event_adds_no_row() {
    let platform = spawn_platform().await;
    let account = platform.register().await;
    for _ in 0..10 {
        assert_eq!(
            platform
                .post_money("/tabung", &account, "2.50")
                .await
                .status,
            200
        );
    }
    platform.wait_for_statement_rows(10).await;

    // The same entry twice more, byte for byte (a relay that crashed before marking its
    // batch, twice): copy the stream's entries and append them again.
    let mut redis = redis_connection(test_redis::shared().port()).await;
    let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(platform.stream())
        .arg("-")
        .arg("+")
        .query_async(&mut redis)
        .await
        .expect("XRANGE");
    assert_eq!(entries.ids.len(), 10);
    for _ in 0..2 {
        for entry in &entries.ids {
            let mut command = redis::cmd("XADD");
            command.arg(platform.stream()).arg("*");
            for (field, value) in &entry.map {
                let value: String = redis::from_redis_value_ref(value).expect("text");
                command.arg(field).arg(value);
            }
            let _: String = command.query_async(&mut redis).await.expect("XADD");
        }
    }
    // And the whole outbox republished by the relay itself.
    sqlx::query("UPDATE relay_watermark SET writer_xid = '0', urutan = 0")
        .execute(&platform.transaksi_pool)
        .await
        .expect("unmark");
    assert_eq!(
        platform.post_money("/tabung", &account, "1").await.status,
        200
    );
    platform.wait_for_statement_rows(11).await;
    let read_everything = tokio::time::timeout(crate::support::CATCH_UP_TIMEOUT, async {
        while platform.pending(test_redis::shared().port()).await > 0
            || platform
                .stats
                .read
                .load(std::sync::atomic::Ordering::Relaxed)
                < 10 + 20 + 11
        {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(read_everything.is_ok(), "the consumer read every copy");
    assert_eq!(platform.statement_rows().await, 11, "copies add no row");
    assert!(
        platform
            .stats
            .duplicates
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 30
    );
    platform.assert_statement_equals_journal().await;
}

#[tokio::test]
async fn trimming_never_removes_what_a_group_has_not_acknowledged() {
    let mut platform = spawn_platform().await;
    let port = test_redis::shared().port();
    let mut redis = redis_connection(port).await;
    // A second group (another reader of the stream) that reads nothing yet.
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(platform.stream())
        .arg("audit")
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut redis)
        .await
        .expect("second group");
    let account = platform.register().await;
    for _ in 0..5 {
        assert_eq!(
            platform.post_money("/tabung", &account, "1").await.status,
            200
        );
    }
    platform.wait_for_statement_rows(5).await;
    platform.kill_consumers();

    let consumer = mutasi::datastore::stream::StreamConsumer::new(
        platform_connection(port),
        platform.stream().to_owned(),
        "mutasi".to_owned(),
        "trimmer".to_owned(),
        platform.dead_letter_stream(),
    );
    let zero = std::time::Duration::ZERO;
    assert_eq!(
        consumer.trim_acknowledged(zero).await.expect("trim"),
        0,
        "audit has read nothing"
    );
    assert_eq!(consumer.len(platform.stream()).await.expect("XLEN"), 5);

    // audit reads everything and acknowledges the first three only.
    let read: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("audit")
        .arg("a1")
        .arg("COUNT")
        .arg(10)
        .arg("STREAMS")
        .arg(platform.stream())
        .arg(">")
        .query_async(&mut redis)
        .await
        .expect("XREADGROUP");
    let ids: Vec<String> = read.keys[0].ids.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), 5);
    let _: i64 = redis::cmd("XACK")
        .arg(platform.stream())
        .arg("audit")
        .arg(&ids[..3])
        .query_async(&mut redis)
        .await
        .expect("XACK");
    consumer.trim_acknowledged(zero).await.expect("trim");
    let left: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(platform.stream())
        .arg("-")
        .arg("+")
        .query_async(&mut redis)
        .await
        .expect("XRANGE");
    let left: Vec<String> = left.ids.into_iter().map(|e| e.id).collect();
    assert_eq!(
        left,
        ids[3..].to_vec(),
        "only entries every group acknowledged are gone"
    );

    // A retention window keeps even acknowledged entries.
    let _: i64 = redis::cmd("XACK")
        .arg(platform.stream())
        .arg("audit")
        .arg(&ids[3..])
        .query_async(&mut redis)
        .await
        .expect("XACK");
    let hour = std::time::Duration::from_secs(3600);
    assert_eq!(consumer.trim_acknowledged(hour).await.expect("trim"), 0);
    assert_eq!(
        consumer.trim_acknowledged(zero).await.expect("trim"),
        1,
        "the newest stays as the group's position"
    );
}

fn platform_connection(port: u16) -> redis::aio::ConnectionManager {
    let args = bukubesar_common::stream::RedisArgs {
        host: "127.0.0.1".into(),
        port,
        stream: "unused".into(),
    };
    args.connect_lazy(None).expect("connection")
}
