//! Transfers through the whole pipeline: both parties get a statement line carrying the
//! transaction id, the counterparty, the description and the running saldo; the statement's
//! filters; exactly one line per (transaction, account) whichever event format (1, before
//! transfers, or 2) delivers it and however often.

use chrono::Utc;
use rust_decimal::Decimal;

use crate::support::{redis_connection, spawn_platform, test_redis};

fn d(text: &str) -> Decimal {
    text.parse().expect("decimal")
}

#[tokio::test]
async fn both_parties_get_a_line_and_copies_in_any_format_add_none() {
    let platform = spawn_platform().await;
    let asal = platform.register().await;
    let tujuan = platform.register().await;
    assert_eq!(
        platform.post_money("/tabung", &asal, "100").await.status,
        200
    );
    assert_eq!(
        platform.post_money("/tabung", &tujuan, "5").await.status,
        200
    );
    let reply = platform
        .transfer(&asal, &tujuan.no_rekening, "40.25", "sewa Desember")
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.decimal("saldo"), d("59.75"));
    let id = reply.body["id"].as_str().expect("id").to_owned();
    platform.wait_for_statement_rows(4).await;

    let source = platform.full_statement(&asal, 10).await;
    assert_eq!(source.len(), 2);
    assert_eq!(source[0]["id"], id.as_str());
    assert_eq!(source[0]["jenis_transaksi"], "D");
    assert_eq!(source[0]["no_rekening_lawan"], tujuan.no_rekening.as_str());
    assert_eq!(source[0]["keterangan"], "sewa Desember");
    assert_eq!(
        source[0]["saldo"].to_string().parse::<Decimal>().ok(),
        Some(d("59.75"))
    );
    assert!(
        source[1].get("no_rekening_lawan").is_none(),
        "a deposit has none"
    );
    let destination = platform.full_statement(&tujuan, 10).await;
    assert_eq!(destination[0]["id"], id.as_str());
    assert_eq!(destination[0]["jenis_transaksi"], "C");
    assert_eq!(
        destination[0]["no_rekening_lawan"],
        asal.no_rekening.as_str()
    );
    assert_eq!(
        destination[0]["saldo"].to_string().parse::<Decimal>().ok(),
        Some(d("45.25"))
    );

    // Filters: only debits; today (UTC; the run may straddle midnight, so yesterday too);
    // a range without lines; bad values are 400 naming the parameter.
    let today = Utc::now().date_naive();
    let yesterday = today.pred_opt().expect("a day before");
    for (query, lines) in [
        ("?jenis_transaksi=D".to_owned(), 1),
        ("?jenis_transaksi=C".to_owned(), 1),
        (
            format!(
                "?dari={yesterday}&sampai={}",
                today.succ_opt().expect("next")
            ),
            2,
        ),
        ("?dari=2000-01-01&sampai=2000-01-31".to_owned(), 0),
    ] {
        let page = platform
            .statement(&asal.authorization(), &asal.no_rekening, &query)
            .await;
        assert_eq!(page.status, 200, "{query}: {}", page.text);
        let served = page.body["mutasi"].as_array().expect("lines").len();
        assert_eq!(served, lines, "{query}");
    }
    for (query, field) in [
        ("?jenis_transaksi=X", "jenis_transaksi"),
        ("?dari=2026-02-30", "dari"),
        ("?dari=2026-02-02&sampai=2026-02-01", "sampai"),
    ] {
        let page = platform
            .statement(&asal.authorization(), &asal.no_rekening, query)
            .await;
        assert_eq!(page.status, 400, "{query}: {}", page.text);
        assert_eq!(page.body["field"], field);
    }

    // Every entry again as written (format 2), and the deposits once more as a relay before
    // transfers wrote them (format 1: no transaksi_id, the event id standing for it; a
    // transfer's legs never existed in that format).
    let mut redis = redis_connection(test_redis::shared().port()).await;
    let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(platform.stream())
        .arg("-")
        .arg("+")
        .query_async(&mut redis)
        .await
        .expect("XRANGE");
    assert_eq!(entries.ids.len(), 4);
    for format in ["2", "1"] {
        for entry in &entries.ids {
            if format == "1" && entry.map.contains_key("no_rekening_lawan") {
                continue;
            }
            let mut command = redis::cmd("XADD");
            command.arg(platform.stream()).arg("*");
            for (field, value) in &entry.map {
                let value: String = redis::from_redis_value_ref(value).expect("text");
                match (format, field.as_str()) {
                    ("1", "v") => command.arg(field).arg("1"),
                    ("1", "transaksi_id") => continue,
                    _ => command.arg(field).arg(value),
                };
            }
            let _: String = command.query_async(&mut redis).await.expect("XADD");
        }
    }
    let read_everything = tokio::time::timeout(crate::support::CATCH_UP_TIMEOUT, async {
        while platform.pending(test_redis::shared().port()).await > 0
            || platform
                .stats
                .read
                .load(std::sync::atomic::Ordering::Relaxed)
                < 4 + 4 + 2
        {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(read_everything.is_ok(), "the consumer read every copy");
    assert_eq!(platform.statement_rows().await, 4, "copies add no line");
    platform.assert_statement_equals_journal().await;
}
