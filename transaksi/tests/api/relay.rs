//! The outbox relay: every committed posting reaches the Redis Stream once, with its fields
//! and trace context; replicas never publish a row twice; Redis being down never fails a
//! posting, and the backlog drains when it returns. The published-up-to watermark: a row
//! numbered early but committed late is still published; relays of several replicas take
//! turns and publish everything; a crash between `XADD` and the watermark sends again, never
//! skips; the migration keeps what was published published.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bukubesar_common::event::MutasiEvent;
use futures::future::join_all;
use redis::AsyncCommands;
use rust_decimal::Decimal;
use uuid::Uuid;

use transaksi::datastore::Datastore;

use transaksi::datastore::MIGRATOR;
use transaksi::datastore::outbox::OutboxClaim;
use transaksi::datastore::stream::StreamPublisher;

use crate::support::{TestApp, fresh_database, postgres, spawn_app, spawn_app_with, test_redis};

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
    datastore(app).outbox_backlog().await.expect("count")
}

fn datastore(app: &TestApp) -> &Datastore {
    app.datastore.as_ref().expect("server started")
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

/// A transfer's commit wakes the relay like a deposit's: with the poll set to a minute, its
/// two events still reach the stream at once (a relay left to its poll would not publish them
/// within the bound).
#[tokio::test]
async fn a_committed_transfer_wakes_the_relay() {
    let app = spawn_app_with(|settings| settings.relay_poll_ms = 60_000).await;
    let relay = app.start_relay();
    let (asal, tujuan) = (app.register().await, app.register().await);
    assert_eq!(app.tabung(&asal, "100").await.status, 200);
    wait_until_drained(&app).await;
    // The relay now waits for the next ring (or its one-minute poll).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let reply = app.transfer(&asal, &tujuan.no_rekening, "40").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let published = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let events = entries(test_redis::shared().port(), &app.settings.redis.stream).await;
            if events.len() == 3 {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the transfer's events are published without waiting for the poll");
    let accounts: Vec<&str> = published[1..]
        .iter()
        .map(|e| e.no_rekening.as_str())
        .collect();
    assert!(
        accounts.contains(&asal.no_rekening.as_str()),
        "{accounts:?}"
    );
    assert!(
        accounts.contains(&tujuan.no_rekening.as_str()),
        "{accounts:?}"
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

/// Waits until the stream holds every event of `wanted` (at least once); returns the stream.
async fn wait_for_events(app: &TestApp, wanted: &HashSet<Uuid>) -> Vec<MutasiEvent> {
    tokio::time::timeout(DRAIN_TIMEOUT, async {
        loop {
            let published = entries(test_redis::shared().port(), &app.settings.redis.stream).await;
            let ids: HashSet<Uuid> = published.iter().map(|e| e.event_id).collect();
            if wanted.is_subset(&ids) {
                return published;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("every event reaches the stream")
}

/// Claims exactly `rows` rows, retrying while fewer are ready: a row is claimed only once every
/// transaction older than its writer has ended, and the other tests' transactions on the same
/// server count too.
async fn claim_exactly(datastore: &Datastore, rows: usize) -> OutboxClaim {
    tokio::time::timeout(DRAIN_TIMEOUT, async {
        loop {
            match datastore
                .claim_unpublished(rows as i64)
                .await
                .expect("claim")
            {
                Some(claim) if claim.events.len() == rows => return claim,
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    })
    .await
    .expect("the rows become ready")
}

/// The event ids of every outbox row.
async fn outbox_ids(app: &TestApp) -> HashSet<Uuid> {
    sqlx::query_scalar::<_, Uuid>("SELECT event_id FROM outbox")
        .fetch_all(&app.pool)
        .await
        .expect("outbox")
        .into_iter()
        .collect()
}

/// Writes an outbox row numbered `urutan` in `tx` (as a posting would, without the journal).
async fn insert_outbox_row(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    urutan: i64,
    no_rekening: &str,
) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO outbox (urutan, event_id, transaksi_id, tanggal_transaksi, no_rekening,
                             jenis_transaksi, nominal, saldo, urutan_rekening)
         OVERRIDING SYSTEM VALUE
         VALUES ($1, $2, $2, now(), $3, 'C', 1, 1, 1000)",
    )
    .bind(urutan)
    .bind(id)
    .bind(no_rekening)
    .execute(&mut **tx)
    .await
    .expect("outbox row");
    id
}

#[tokio::test]
async fn a_row_numbered_before_published_rows_but_committed_after_them_is_still_published() {
    let app = spawn_app().await;
    let relay = app.start_relay();
    let account = app.register().await;
    // A transaction takes its row's number first (the sequence hands numbers out at insert)...
    let early: i64 =
        sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('outbox', 'urutan'))")
            .fetch_one(&app.pool)
            .await
            .expect("a number");
    // ...higher-numbered postings commit and are published...
    for _ in 0..5 {
        assert_eq!(app.tabung(&account, "1").await.status, 200);
    }
    wait_for_events(&app, &outbox_ids(&app).await).await;
    // ...then it writes its row and stays open while more postings commit after it...
    let mut late = app.pool.begin().await.expect("begin");
    let late_id = insert_outbox_row(&mut late, early, &account.no_rekening).await;
    for _ in 0..3 {
        assert_eq!(app.tabung(&account, "1").await.status, 200);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    late.commit().await.expect("commit");
    // ...and its row is published all the same, with every other.
    let all = outbox_ids(&app).await;
    assert!(all.contains(&late_id));
    let published = wait_for_events(&app, &all).await;
    assert_eq!(published.len(), 9, "each row once: {published:?}");
    wait_until_drained(&app).await;
    relay.abort();
}

#[tokio::test]
async fn relays_of_four_replicas_in_small_batches_publish_every_row() {
    let first = spawn_app_with(|settings| settings.relay_batch_size = 7).await;
    let mut replicas = vec![
        first.replica().await,
        first.replica().await,
        first.replica().await,
    ];
    let mut relays = vec![first.start_relay()];
    relays.extend(replicas.iter().map(TestApp::start_relay));
    replicas.push(first);
    let accounts = join_all((0..8).map(|_| replicas[0].register())).await;
    let postings = (0..400).map(|i| {
        let app = &replicas[i % replicas.len()];
        let account = &accounts[i % accounts.len()];
        async move { app.tabung(account, "0.10").await.status }
    });
    let statuses = join_all(postings).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let all = outbox_ids(&replicas[0]).await;
    assert_eq!(all.len(), 400);
    let published = wait_for_events(&replicas[0], &all).await;
    assert_eq!(published.len(), 400, "relays take turns: no row twice");
    wait_until_drained(&replicas[0]).await;
    for relay in relays {
        relay.abort();
    }
}

#[tokio::test]
async fn a_relay_waiting_for_another_goes_on_where_it_stopped() {
    let app = spawn_app().await;
    let account = app.register().await;
    for _ in 0..6 {
        assert_eq!(app.tabung(&account, "1").await.status, 200);
    }
    let first = claim_exactly(datastore(&app), 4).await;
    let other = datastore(&app).clone();
    let second = tokio::spawn(async move { other.claim_unpublished(100).await.expect("claim") });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "one relay at a time");
    let mut published: Vec<Uuid> = first.events.iter().map(|e| e.event_id).collect();
    first.mark_published().await.expect("mark");
    // The waiting relay starts after the watermark the first one committed.
    let mut next = second.await.expect("task");
    while let Some(claim) = next {
        published.extend(claim.events.iter().map(|e| e.event_id));
        claim.mark_published().await.expect("mark");
        next = datastore(&app).claim_unpublished(100).await.expect("claim");
        if next.is_none() && backlog(&app).await > 0 {
            next = Some(claim_exactly(datastore(&app), 1).await);
        }
    }
    assert_eq!(published.len(), 6, "no row twice: {published:?}");
    let together: HashSet<Uuid> = published.into_iter().collect();
    assert_eq!(together, outbox_ids(&app).await);
    assert_eq!(backlog(&app).await, 0);
}

#[tokio::test]
async fn a_crash_between_xadd_and_the_watermark_sends_the_rows_again() {
    let app = spawn_app().await;
    let account = app.register().await;
    for _ in 0..5 {
        assert_eq!(app.tabung(&account, "1").await.status, 200);
    }
    let claim = claim_exactly(datastore(&app), 3).await;
    let connection = app.settings.redis.connect_lazy(None).expect("redis");
    let publisher = StreamPublisher::new(connection, app.settings.redis.stream.clone());
    publisher.publish(&claim.events).await.expect("XADD");
    let sent_once: HashSet<Uuid> = claim.events.iter().map(|e| e.event_id).collect();
    drop(claim); // the relay dies before moving the watermark
    assert_eq!(backlog(&app).await, 5, "the watermark did not move");

    let relay = app.start_relay();
    wait_until_drained(&app).await;
    let published = entries(test_redis::shared().port(), &app.settings.redis.stream).await;
    let mut counts: HashMap<Uuid, usize> = HashMap::new();
    for event in &published {
        *counts.entry(event.event_id).or_default() += 1;
    }
    assert_eq!(
        counts.keys().copied().collect::<HashSet<_>>(),
        outbox_ids(&app).await
    );
    for (id, count) in counts {
        let expected = if sent_once.contains(&id) { 2 } else { 1 };
        assert_eq!(count, expected, "sent again, never skipped");
    }
    relay.abort();
}

#[tokio::test]
async fn the_watermark_migration_keeps_published_rows_published() {
    let db_name = fresh_database().await;
    let pool = sqlx::PgPool::connect_with(postgres::server().options(&db_name))
        .await
        .expect("connect");
    MIGRATOR
        .run_to(20261130000001, &pool)
        .await
        .expect("old schema");
    let mut unpublished = Vec::new();
    for i in 0..10_i64 {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO outbox (event_id, transaksi_id, tanggal_transaksi, no_rekening,
                                 jenis_transaksi, nominal, saldo, urutan_rekening,
                                 dipublikasikan_pada)
             VALUES ($1, $1, now(), '4821937465', 'C', 1, $2, $2, CASE WHEN $3 THEN now() END)",
        )
        .bind(id)
        .bind(i + 1)
        .bind(i % 3 != 1)
        .execute(&pool)
        .await
        .expect("old outbox row");
        if i % 3 == 1 {
            unpublished.push(id);
        }
    }
    MIGRATOR.run(&pool).await.expect("the new migrations apply");

    let datastore = Datastore::new(pool.clone());
    assert_eq!(datastore.outbox_backlog().await.expect("backlog"), 3);
    let claim = claim_exactly(&datastore, 3).await;
    let claimed: Vec<Uuid> = claim.events.iter().map(|e| e.event_id).collect();
    assert_eq!(claimed, unpublished, "only those, in their old order");
    claim.mark_published().await.expect("mark");
    assert_eq!(datastore.outbox_backlog().await.expect("backlog"), 0);
    assert!(
        datastore
            .claim_unpublished(100)
            .await
            .expect("claim")
            .is_none()
    );
}

#[tokio::test]
async fn the_sweep_deletes_only_published_rows_in_bounded_batches() {
    let app = spawn_app().await;
    let account = app.register().await;
    for _ in 0..5 {
        assert_eq!(app.tabung(&account, "1").await.status, 200);
    }
    let claim = claim_exactly(datastore(&app), 3).await;
    claim.mark_published().await.expect("mark");
    let before = datastore(&app)
        .sweep_published_outbox(1, 100)
        .await
        .expect("sweep");
    assert_eq!(before, 0, "rows younger than the retention stay");
    let sweep = |max_rows| datastore(&app).sweep_published_outbox(0, max_rows);
    assert_eq!(sweep(2).await.expect("sweep"), 2, "bounded");
    assert_eq!(sweep(100).await.expect("sweep"), 1, "only published rows");
    assert_eq!(sweep(100).await.expect("sweep"), 0);
    assert_eq!(outbox_ids(&app).await.len(), 2);
    assert_eq!(backlog(&app).await, 2, "unpublished rows stay");
}
