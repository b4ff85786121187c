//! The outbox relay: every committed posting reaches the Redis Stream once, with its fields
//! and trace context; replicas never publish a row twice; Redis being down never fails a
//! posting, and the backlog drains when it returns.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bukubesar_common::event::MutasiEvent;
use futures::future::join_all;
use redis::AsyncCommands;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::support::{TestApp, spawn_app, spawn_app_with, test_redis};

/// Bound on how long the relay may take to drain in these tests (it normally takes
/// milliseconds; the bound only keeps a broken relay from hanging the suite).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

async fn connection(port: u16) -> redis::aio::MultiplexedConnection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to the test Redis")
}

/// Every entry of the stream, parsed.
async fn entries(port: u16, stream: &str) -> Vec<MutasiEvent> {
    let mut redis = connection(port).await;
    let reply: redis::streams::StreamRangeReply = redis.xrange_all(stream).await.expect("XRANGE");
    reply
        .ids
        .iter()
        .map(|entry| {
            let fields: HashMap<String, String> = entry
                .map
                .iter()
                .map(|(k, v)| {
                    let text: String = redis::from_redis_value_ref(v).expect("text field");
                    (k.clone(), text)
                })
                .collect();
            MutasiEvent::parse(&fields).expect("a well-formed entry")
        })
        .collect()
}

async fn backlog(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE dipublikasikan_pada IS NULL")
        .fetch_one(&app.pool)
        .await
        .expect("count")
}

async fn wait_until_drained(app: &TestApp) {
    tokio::time::timeout(DRAIN_TIMEOUT, async {
        while backlog(app).await > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the relay drains the outbox");
}

#[tokio::test]
async fn each_posting_is_published_with_its_journal_fields_and_trace() {
    let app = spawn_app().await;
    let relay = app.start_relay();
    let account = app.register().await;
    assert_eq!(app.tabung(&account, "100.50").await.status, 200);
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let reply = app
        .post_money_with(
            "/tarik",
            &account,
            &account.no_rekening,
            "0.50",
            &[("traceparent", traceparent)],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(app.tarik(&account, "1000").await.status, 400);
    wait_until_drained(&app).await;

    let published = entries(test_redis::shared().port(), &app.settings.redis.stream).await;
    let journal: Vec<(Uuid, String, Decimal, Decimal, i64)> = sqlx::query_as(
        "SELECT id, jenis_transaksi, nominal, saldo, urutan_rekening FROM jurnal
          WHERE no_rekening = $1 ORDER BY urutan_rekening",
    )
    .bind(&account.no_rekening)
    .fetch_all(&app.pool)
    .await
    .expect("journal");
    assert_eq!(published.len(), 2, "the refused withdrawal is not an event");
    for (event, (id, jenis, nominal, saldo, urutan)) in published.iter().zip(&journal) {
        assert_eq!(event.event_id, *id);
        assert_eq!(event.no_rekening, account.no_rekening);
        assert_eq!(event.jenis.code(), jenis);
        assert_eq!((event.nominal, event.saldo), (*nominal, *saldo));
        assert_eq!(event.urutan_rekening, *urutan);
    }
    assert_eq!(
        journal.iter().map(|row| row.4).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(published[1].saldo, Decimal::new(10000, 2));
    let carried = published[1].traceparent.expect("trace context carried");
    assert_eq!(
        carried.trace_id_hex(),
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "the request's trace continues"
    );
    assert!(
        published[0].traceparent.is_some(),
        "a request without a traceparent starts a trace"
    );
    relay.abort();
}

#[tokio::test]
async fn two_replicas_relaying_at_once_publish_every_row_exactly_once() {
    let first = spawn_app().await;
    let second = first.replica().await;
    let relays = [first.start_relay(), second.start_relay()];
    let accounts = join_all((0..10).map(|_| first.register())).await;
    let postings = (0..300).map(|i| {
        let app = if i % 2 == 0 { &first } else { &second };
        let account = &accounts[i % accounts.len()];
        async move { app.tabung(account, "1.25").await.status }
    });
    let statuses = join_all(postings).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    wait_until_drained(&first).await;

    let published = entries(test_redis::shared().port(), &first.settings.redis.stream).await;
    let ids: HashSet<Uuid> = published.iter().map(|e| e.event_id).collect();
    assert_eq!(published.len(), 300, "no row published twice");
    assert_eq!(ids.len(), 300);
    for relay in relays {
        relay.abort();
    }
}

#[tokio::test]
async fn postings_commit_while_redis_is_down_and_the_backlog_drains_after() {
    let private = test_redis::RedisServer::start();
    let port = private.port();
    let app = spawn_app_with(|settings| settings.redis.port = port).await;
    let relay = app.start_relay();
    let account = app.register().await;
    assert_eq!(app.tabung(&account, "10").await.status, 200);
    wait_until_drained(&app).await;

    private.kill();
    for _ in 0..20 {
        let reply = app.tabung(&account, "1").await;
        assert_eq!(reply.status, 200, "Redis down must not fail a posting");
    }
    assert_eq!(
        backlog(&app).await,
        20,
        "committed postings wait in the outbox"
    );

    private.resume();
    wait_until_drained(&app).await;
    let published = entries(port, &app.settings.redis.stream).await;
    assert_eq!(
        published.len(),
        21,
        "the one before the crash survived (AOF) plus the backlog"
    );
    let numbers: Vec<i64> = published.iter().map(|e| e.urutan_rekening).collect();
    assert_eq!(numbers, (1..=21).collect::<Vec<_>>());
    relay.abort();
}
