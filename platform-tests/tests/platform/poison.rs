//! Poison entries go to the dead-letter stream with their reason and never block the entries
//! after them.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::support::{redis_connection, spawn_platform, test_redis};

#[tokio::test]
async fn a_poison_entry_is_dead_lettered_and_the_rest_flow_on() {
    let platform = spawn_platform().await;
    let port = test_redis::shared().port();
    let account = platform.register().await;
    assert_eq!(
        platform.post_money("/tabung", &account, "10").await.status,
        200
    );
    platform.wait_for_statement_rows(1).await;

    let mut redis = redis_connection(port).await;
    let poison = [
        vec![("garbage", "not an event")],
        vec![
            ("v", "1"),
            ("event_id", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"),
            ("no_rekening", account.no_rekening.as_str()),
            ("jenis_transaksi", "C"),
            ("nominal", "-5"),
            ("saldo", "5"),
            ("urutan_rekening", "9"),
            ("tanggal_transaksi", "2026-11-21T00:00:00Z"),
        ],
    ];
    for fields in &poison {
        let mut command = redis::cmd("XADD");
        command.arg(platform.stream()).arg("*");
        for (k, v) in fields {
            command.arg(*k).arg(*v);
        }
        let _: String = command.query_async(&mut redis).await.expect("XADD");
    }
    for _ in 0..3 {
        assert_eq!(
            platform.post_money("/tabung", &account, "1").await.status,
            200
        );
    }
    platform.wait_for_statement_rows(4).await;
    platform.assert_statement_equals_journal().await;

    let dead: redis::streams::StreamRangeReply =
        tokio::time::timeout(crate::support::CATCH_UP_TIMEOUT, async {
            loop {
                let dead: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
                    .arg(platform.dead_letter_stream())
                    .arg("-")
                    .arg("+")
                    .query_async(&mut redis)
                    .await
                    .expect("XRANGE");
                if dead.ids.len() >= 2 {
                    return dead;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("both poison entries dead-lettered");
    assert_eq!(dead.ids.len(), 2);
    let reason = |i: usize| -> String { dead.ids[i].get("reason").expect("reason") };
    assert!(reason(0).contains("field v missing"), "{}", reason(0));
    assert!(reason(1).contains("nominal"), "{}", reason(1));
    let copied: String = dead.ids[0]
        .get("entry.garbage")
        .expect("original fields kept");
    assert_eq!(copied, "not an event");
    let source: String = dead.ids[1].get("source_stream").expect("source");
    assert_eq!(source, platform.stream());
    assert_eq!(platform.stats.dead_lettered.load(Ordering::Relaxed), 2);
    assert_eq!(platform.pending(port).await, 0, "poison is acknowledged");
}
