//! Crashes and outages: a consumer killed with entries pending, Redis killed while customers
//! keep transacting. Every committed transaction reaches the statement exactly once.

use std::time::Duration;

use futures::future::join_all;

use crate::support::{Options, redis_connection, spawn_platform_with, test_redis};

#[tokio::test]
async fn a_consumer_killed_with_entries_pending_loses_nothing() {
    let mut platform = spawn_platform_with(Options {
        consumer: false,
        ..Options::default()
    })
    .await;
    let port = test_redis::shared().port();
    let account = platform.register().await;
    for _ in 0..40 {
        assert_eq!(
            platform.post_money("/tabung", &account, "3").await.status,
            200
        );
    }
    // Wait until the relay has published all 40.
    let mut redis = redis_connection(port).await;
    tokio::time::timeout(crate::support::CATCH_UP_TIMEOUT, async {
        loop {
            let len: i64 = redis::cmd("XLEN")
                .arg(platform.stream())
                .query_async(&mut redis)
                .await
                .expect("XLEN");
            if len == 40 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("published");

    // A consumer that read 25 entries and died before storing or acknowledging them.
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(platform.stream())
        .arg("mutasi")
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut redis)
        .await
        .expect("group");
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("mutasi")
        .arg("crashed-replica")
        .arg("COUNT")
        .arg(25)
        .arg("STREAMS")
        .arg(platform.stream())
        .arg(">")
        .query_async(&mut redis)
        .await
        .expect("XREADGROUP");
    assert_eq!(platform.pending(port).await, 25);

    // A real consumer killed mid-flight, too.
    platform.start_consumer("killed-replica");
    tokio::time::sleep(Duration::from_millis(30)).await;
    platform.kill_consumers();

    // The survivor takes everything over once it has been idle for claim_idle (1 s here).
    platform.start_consumer("survivor");
    platform.wait_for_statement_rows(40).await;
    tokio::time::timeout(crate::support::CATCH_UP_TIMEOUT, async {
        while platform.pending(port).await > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("nothing stays pending");
    platform.assert_statement_equals_journal().await;
    assert!(
        platform
            .stats
            .claimed
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 25,
        "the crashed replica's entries were taken over"
    );
}

#[tokio::test]
async fn redis_outage_fails_no_transaction_and_loses_no_event() {
    let redis_server = test_redis::RedisServer::start();
    let port = redis_server.port();
    let platform = spawn_platform_with(Options {
        redis_port: Some(port),
        ..Options::default()
    })
    .await;
    let accounts = join_all((0..3).map(|_| platform.register())).await;
    let transact = |round: usize| {
        let platform = &platform;
        let accounts = &accounts;
        async move {
            let replies = join_all(accounts.iter().map(|a| async move {
                let mut statuses = Vec::new();
                for i in 0..5 {
                    let path = if (round + i) % 4 == 3 {
                        "/tarik"
                    } else {
                        "/tabung"
                    };
                    statuses.push(platform.post_money(path, a, "1.10").await.status);
                }
                statuses
            }))
            .await;
            replies.into_iter().flatten().collect::<Vec<u16>>()
        }
    };
    let before = transact(0).await;
    assert!(before.iter().all(|s| *s == 200), "{before:?}");

    redis_server.kill();
    let mut during = Vec::new();
    for round in 1..=4 {
        during.extend(transact(round).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        during.iter().all(|s| *s == 200),
        "no deposit or withdrawal failed because Redis was down: {during:?}"
    );
    redis_server.resume();
    let after = transact(5).await;
    assert!(after.iter().all(|s| *s == 200), "{after:?}");

    let journal = platform.journal_rows().await;
    assert_eq!(journal, 15 * 6);
    platform.wait_for_statement_rows(journal).await;
    platform.assert_statement_equals_journal().await;
}
