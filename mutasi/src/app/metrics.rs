//! mutasi's own Prometheus metrics (the HTTP and authentication ones are shared, see
//! `bukubesar_common::metrics`). The consumer's counters are the [`ConsumerStats`] it keeps
//! anyway, copied at scrape time; lag and pending are asked of Redis at scrape time
//! (`super::health::scrape`).
//!
//! | name | type | meaning |
//! |---|---|---|
//! | `mutasi_stream_entries_read_total` | counter | entries read (new, own pending, claimed) |
//! | `mutasi_statement_rows_inserted_total` | counter | statement rows written |
//! | `mutasi_stream_duplicates_total` | counter | redelivered events already in the statement |
//! | `mutasi_stream_claimed_total` | counter | entries taken over from a dead consumer |
//! | `mutasi_dead_lettered_total` | counter | poison entries moved to the dead-letter stream |
//! | `mutasi_stream_trimmed_total` | counter | acknowledged entries trimmed from the stream |
//! | `mutasi_consumer_lag` | gauge | entries not yet delivered to the group |
//! | `mutasi_consumer_pending` | gauge | entries delivered to the group, not yet acknowledged |
//! | `mutasi_statement_insert_duration_seconds` | histogram | one batch insert (one statement) |
//! | `mutasi_statement_insert_batch_size` | histogram | events offered per batch insert |

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::stats::ConsumerStats;
use crate::datastore::stream::GroupInfo;

pub const READ: &str = "mutasi_stream_entries_read_total";
pub const INSERTED: &str = "mutasi_statement_rows_inserted_total";
pub const DUPLICATES: &str = "mutasi_stream_duplicates_total";
pub const CLAIMED: &str = "mutasi_stream_claimed_total";
pub const DEAD_LETTERED: &str = "mutasi_dead_lettered_total";
pub const TRIMMED: &str = "mutasi_stream_trimmed_total";
pub const LAG: &str = "mutasi_consumer_lag";
pub const PENDING: &str = "mutasi_consumer_pending";
pub const INSERT_DURATION: &str = "mutasi_statement_insert_duration_seconds";
pub const INSERT_BATCH: &str = "mutasi_statement_insert_batch_size";

pub fn describe() {
    ::metrics::describe_counter!(READ, "Stream entries read (new, own pending, or claimed)");
    ::metrics::describe_counter!(INSERTED, "Statement rows written");
    ::metrics::describe_counter!(
        DUPLICATES,
        "Redelivered events that were already in the statement"
    );
    ::metrics::describe_counter!(CLAIMED, "Entries taken over from a consumer that stopped");
    ::metrics::describe_counter!(
        DEAD_LETTERED,
        "Poison entries moved to the dead-letter stream"
    );
    ::metrics::describe_counter!(TRIMMED, "Acknowledged entries trimmed from the stream");
    ::metrics::describe_gauge!(
        LAG,
        "Stream entries not yet delivered to this consumer group"
    );
    ::metrics::describe_gauge!(
        PENDING,
        "Entries delivered to this consumer group and not yet acknowledged"
    );
    ::metrics::describe_histogram!(
        INSERT_DURATION,
        ::metrics::Unit::Seconds,
        "One batch insert into the statement (one statement, one commit)"
    );
    ::metrics::describe_histogram!(INSERT_BATCH, "Events offered per batch insert");
}

/// One batch insert of `events` events that took `took`.
pub fn batch_inserted(events: usize, took: Duration) {
    ::metrics::histogram!(INSERT_DURATION).record(took.as_secs_f64());
    ::metrics::histogram!(INSERT_BATCH).record(events as f64);
}

/// Before rendering `/metrics`: the consumer's counters, and the group's lag and pending
/// count when Redis answered.
pub fn scrape(stats: &ConsumerStats, group: Option<&GroupInfo>) {
    for (name, counter) in [
        (READ, &stats.read),
        (INSERTED, &stats.inserted),
        (DUPLICATES, &stats.duplicates),
        (CLAIMED, &stats.claimed),
        (DEAD_LETTERED, &stats.dead_lettered),
        (TRIMMED, &stats.trimmed),
    ] {
        ::metrics::counter!(name).absolute(counter.load(Ordering::Relaxed));
    }
    if let Some(group) = group {
        ::metrics::gauge!(PENDING).set(group.pending as f64);
        if let Some(lag) = group.lag {
            ::metrics::gauge!(LAG).set(lag as f64);
        }
    }
}
