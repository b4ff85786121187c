//! The consumer side of the Redis Stream: the consumer group, reading new and pending
//! entries, taking over entries of a dead consumer, acknowledging, dead-lettering and trimming.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::Value;
use redis::aio::ConnectionManager;

/// One stream entry as read. `fields` is `None` when the entry was deleted from the stream
/// while it was pending (Redis then returns the id alone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub fields: Option<Vec<(String, Vec<u8>)>>,
}

/// What XAUTOCLAIM returned: the entries now ours, and where the next scan starts.
#[derive(Debug)]
pub struct Claimed {
    pub entries: Vec<Entry>,
    pub next_cursor: String,
}

#[derive(Clone)]
pub struct StreamConsumer {
    connection: ConnectionManager,
    pub stream: String,
    pub group: String,
    pub consumer: String,
    pub dead_letter_stream: String,
}

fn malformed(what: &str) -> redis::RedisError {
    redis::RedisError::from((
        redis::ErrorKind::Parse,
        "unexpected reply shape",
        what.to_owned(),
    ))
}

impl StreamConsumer {
    pub fn new(
        connection: ConnectionManager,
        stream: String,
        group: String,
        consumer: String,
        dead_letter_stream: String,
    ) -> Self {
        StreamConsumer {
            connection,
            stream,
            group,
            consumer,
            dead_letter_stream,
        }
    }

    /// Creates the group (reading from the start of the stream, creating the stream if need
    /// be) unless it exists.
    pub async fn ensure_group(&self) -> redis::RedisResult<()> {
        let result: redis::RedisResult<Value> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.stream)
            .arg(&self.group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut self.connection.clone())
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some("BUSYGROUP") => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Entries never delivered to this group, waiting up to `block` for the first.
    pub async fn read_new(&self, count: usize, block: Duration) -> redis::RedisResult<Vec<Entry>> {
        self.read_group(count, Some(block), ">").await
    }

    /// Entries never delivered to this group that are already there (no waiting): the read
    /// ahead while the previous batch is being stored.
    pub async fn read_new_now(&self, count: usize) -> redis::RedisResult<Vec<Entry>> {
        self.read_group(count, None, ">").await
    }

    /// Entries delivered to this consumer and not yet acknowledged (after a restart or a
    /// failed round), oldest first, from `after` (exclusive; `0` for all).
    pub async fn read_own_pending(
        &self,
        count: usize,
        after: &str,
    ) -> redis::RedisResult<Vec<Entry>> {
        self.read_group(count, None, after).await
    }

    /// `XREADGROUP ... STREAMS <stream> <from>`: `>` for new entries, an id for our pending ones.
    async fn read_group(
        &self,
        count: usize,
        block: Option<Duration>,
        from: &str,
    ) -> redis::RedisResult<Vec<Entry>> {
        let mut command = redis::cmd("XREADGROUP");
        command
            .arg("GROUP")
            .arg(&self.group)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(count);
        if let Some(block) = block {
            command.arg("BLOCK").arg(block.as_millis() as u64);
        }
        let reply: Value = command
            .arg("STREAMS")
            .arg(&self.stream)
            .arg(from)
            .query_async(&mut self.connection.clone())
            .await?;
        read_reply_entries(reply)
    }

    /// Takes over entries pending with any consumer for at least `min_idle` (a consumer that
    /// died or hangs), scanning from `cursor`.
    pub async fn autoclaim(
        &self,
        min_idle: Duration,
        cursor: &str,
        count: usize,
    ) -> redis::RedisResult<Claimed> {
        let reply: Value = redis::cmd("XAUTOCLAIM")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(&self.consumer)
            .arg(min_idle.as_millis() as u64)
            .arg(cursor)
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.connection.clone())
            .await?;
        let Value::Array(parts) = reply else {
            return Err(malformed("XAUTOCLAIM reply"));
        };
        let mut parts = parts.into_iter();
        let next_cursor = parts
            .next()
            .and_then(text)
            .ok_or_else(|| malformed("XAUTOCLAIM cursor"))?;
        let entries = match parts.next() {
            Some(Value::Array(items)) => items
                .into_iter()
                .filter(|item| !matches!(item, Value::Nil))
                .map(entry)
                .collect::<Result<_, _>>()?,
            _ => return Err(malformed("XAUTOCLAIM entries")),
        };
        Ok(Claimed {
            entries,
            next_cursor,
        })
    }

    /// How often each of `ids` (pending with this consumer) has been delivered.
    pub async fn delivery_counts(&self, ids: &[&str]) -> redis::RedisResult<HashMap<String, u64>> {
        let (Some(first), Some(last)) = (
            ids.iter().min_by(|a, b| cmp_ids(a, b)),
            ids.iter().max_by(|a, b| cmp_ids(a, b)),
        ) else {
            return Ok(HashMap::new());
        };
        let reply: Value = redis::cmd("XPENDING")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(*first)
            .arg(*last)
            .arg(ids.len().max(1) * 4)
            .arg(&self.consumer)
            .query_async(&mut self.connection.clone())
            .await?;
        let Value::Array(items) = reply else {
            return Err(malformed("XPENDING reply"));
        };
        let mut counts = HashMap::with_capacity(items.len());
        for item in items {
            let Value::Array(fields) = item else {
                return Err(malformed("XPENDING item"));
            };
            let mut fields = fields.into_iter();
            let id = fields.next().and_then(text);
            let count = fields.nth(2).and_then(|v| match v {
                Value::Int(n) => u64::try_from(n).ok(),
                _ => None,
            });
            if let (Some(id), Some(count)) = (id, count) {
                counts.insert(id, count);
            }
        }
        Ok(counts)
    }

    /// Acknowledges `ids` (after their rows are committed, or they were dead-lettered).
    pub async fn ack(&self, ids: &[&str]) -> redis::RedisResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let _: i64 = redis::cmd("XACK")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(ids)
            .query_async(&mut self.connection.clone())
            .await?;
        Ok(())
    }

    /// Copies a poison entry to the dead-letter stream with the reason; the caller then
    /// acknowledges it.
    pub async fn dead_letter(&self, poison: &Entry, reason: &str) -> redis::RedisResult<()> {
        let mut command = redis::cmd("XADD");
        command
            .arg(&self.dead_letter_stream)
            .arg("*")
            .arg("reason")
            .arg(reason)
            .arg("source_stream")
            .arg(&self.stream)
            .arg("source_id")
            .arg(&poison.id)
            .arg("group")
            .arg(&self.group)
            .arg("consumer")
            .arg(&self.consumer);
        for (field, value) in poison.fields.iter().flatten() {
            command.arg(format!("entry.{field}")).arg(value.as_slice());
        }
        let _: String = command.query_async(&mut self.connection.clone()).await?;
        Ok(())
    }

    /// Removes entries that every consumer group has acknowledged and that are older than
    /// `retention`. Never removes an entry a group has not read or has pending; with no group
    /// at all, removes nothing. Returns how many entries were removed.
    pub async fn trim_acknowledged(&self, retention: Duration) -> redis::RedisResult<u64> {
        let mut connection = self.connection.clone();
        let groups = groups(&mut connection, &self.stream).await?;
        if groups.is_empty() {
            return Ok(0);
        }
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut keep_from = format!("{}-0", now_ms.saturating_sub(retention.as_millis() as u64));
        for GroupInfo {
            name,
            last_delivered,
            pending,
            ..
        } in groups
        {
            let mut group_floor = last_delivered;
            if pending > 0 {
                let summary: Value = redis::cmd("XPENDING")
                    .arg(&self.stream)
                    .arg(&name)
                    .query_async(&mut connection)
                    .await?;
                let Value::Array(summary) = summary else {
                    return Err(malformed("XPENDING summary"));
                };
                let oldest = summary
                    .into_iter()
                    .nth(1)
                    .and_then(text)
                    .ok_or_else(|| malformed("XPENDING oldest id"))?;
                if cmp_ids(&oldest, &group_floor).is_lt() {
                    group_floor = oldest;
                }
            }
            if cmp_ids(&group_floor, &keep_from).is_lt() {
                keep_from = group_floor;
            }
        }
        if keep_from == "0-0" {
            return Ok(0);
        }
        redis::cmd("XTRIM")
            .arg(&self.stream)
            .arg("MINID")
            .arg(&keep_from)
            .query_async(&mut connection)
            .await
    }

    /// Entries in the stream, for tests and logs.
    pub async fn len(&self, stream: &str) -> redis::RedisResult<u64> {
        redis::cmd("XLEN")
            .arg(stream)
            .query_async(&mut self.connection.clone())
            .await
    }
}

/// The stream seen from the side, for `/readyz` and `/metrics`: a connection of its own (the
/// consumer's may be blocked in `XREADGROUP`).
#[derive(Clone)]
pub struct StreamMonitor {
    connection: ConnectionManager,
    stream: String,
}

impl StreamMonitor {
    pub fn new(connection: ConnectionManager, stream: String) -> Self {
        StreamMonitor { connection, stream }
    }

    /// `PING`.
    pub async fn ping(&self) -> redis::RedisResult<()> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.connection.clone())
            .await
            .map(|_| ())
    }

    /// The consumer group `name` of the stream, if it exists.
    pub async fn group(&self, name: &str) -> redis::RedisResult<Option<GroupInfo>> {
        let groups = groups(&mut self.connection.clone(), &self.stream).await?;
        Ok(groups.into_iter().find(|g| g.name == name))
    }
}

/// One consumer group as `XINFO GROUPS` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupInfo {
    pub name: String,
    pub last_delivered: String,
    /// Entries delivered to the group and not acknowledged yet.
    pub pending: u64,
    /// Entries in the stream not yet delivered to the group (`None` when Redis cannot tell,
    /// e.g. after entries were deleted from the middle of the stream).
    pub lag: Option<u64>,
}

/// Every consumer group of `stream` (none when the stream does not exist).
pub async fn groups(
    connection: &mut ConnectionManager,
    stream: &str,
) -> redis::RedisResult<Vec<GroupInfo>> {
    let reply: redis::RedisResult<Value> = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(stream)
        .query_async(connection)
        .await;
    let groups = match reply {
        Ok(Value::Array(groups)) => groups,
        Ok(_) => return Err(malformed("XINFO GROUPS reply")),
        Err(error) if error.to_string().contains("no such key") => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let count = |value: Option<&Value>| match value {
        Some(Value::Int(n)) => u64::try_from(*n).ok(),
        _ => None,
    };
    groups
        .into_iter()
        .map(|group| {
            let info = key_values(group)?;
            Ok(GroupInfo {
                name: info
                    .get("name")
                    .cloned()
                    .and_then(text)
                    .ok_or_else(|| malformed("group name"))?,
                last_delivered: info
                    .get("last-delivered-id")
                    .cloned()
                    .and_then(text)
                    .ok_or_else(|| malformed("last-delivered-id"))?,
                pending: count(info.get("pending")).ok_or_else(|| malformed("pending"))?,
                lag: count(info.get("lag")),
            })
        })
        .collect()
}

/// Orders stream ids (`<ms>-<seq>`) numerically.
pub fn cmp_ids(a: &str, b: &str) -> std::cmp::Ordering {
    fn parts(id: &str) -> (u64, u64) {
        let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
        (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
    }
    parts(a).cmp(&parts(b))
}

fn text(value: Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes).ok(),
        Value::SimpleString(s) => Some(s),
        Value::VerbatimString { text, .. } => Some(text),
        _ => None,
    }
}

fn key_values(value: Value) -> redis::RedisResult<HashMap<String, Value>> {
    let pairs: Vec<(Value, Value)> = match value {
        Value::Map(pairs) => pairs,
        Value::Array(items) => {
            let mut pairs = Vec::with_capacity(items.len() / 2);
            let mut items = items.into_iter();
            while let (Some(k), Some(v)) = (items.next(), items.next()) {
                pairs.push((k, v));
            }
            pairs
        }
        _ => return Err(malformed("key/value list")),
    };
    Ok(pairs
        .into_iter()
        .filter_map(|(k, v)| text(k).map(|k| (k, v)))
        .collect())
}

/// `[id, [field, value, ...]]` (fields `nil` for an entry deleted while pending).
fn entry(value: Value) -> redis::RedisResult<Entry> {
    let Value::Array(parts) = value else {
        return Err(malformed("stream entry"));
    };
    let mut parts = parts.into_iter();
    let id = parts
        .next()
        .and_then(text)
        .ok_or_else(|| malformed("stream entry id"))?;
    let fields = match parts.next() {
        None | Some(Value::Nil) => None,
        Some(Value::Array(items)) => {
            let mut fields = Vec::with_capacity(items.len() / 2);
            let mut items = items.into_iter();
            while let (Some(k), Some(v)) = (items.next(), items.next()) {
                let key = match k {
                    Value::BulkString(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    Value::SimpleString(s) => s,
                    _ => return Err(malformed("field name")),
                };
                let value = match v {
                    Value::BulkString(bytes) => bytes,
                    Value::SimpleString(s) => s.into_bytes(),
                    _ => return Err(malformed("field value")),
                };
                fields.push((key, value));
            }
            Some(fields)
        }
        Some(_) => return Err(malformed("stream entry fields")),
    };
    Ok(Entry { id, fields })
}

/// XREADGROUP's reply for one stream: `nil` (nothing arrived) or `[[stream, [entry...]]]`
/// (RESP2) / `{stream: [entry...]}` (RESP3).
fn read_reply_entries(reply: Value) -> redis::RedisResult<Vec<Entry>> {
    let per_stream: Vec<Value> = match reply {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(streams) => streams
            .into_iter()
            .filter_map(|s| match s {
                Value::Array(mut pair) if pair.len() == 2 => pair.pop(),
                _ => None,
            })
            .collect(),
        Value::Map(pairs) => pairs.into_iter().map(|(_, v)| v).collect(),
        _ => return Err(malformed("XREADGROUP reply")),
    };
    let mut entries = Vec::new();
    for items in per_stream {
        let Value::Array(items) = items else {
            return Err(malformed("XREADGROUP entries"));
        };
        for item in items {
            entries.push(entry(item)?);
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_compare_numerically() {
        assert!(cmp_ids("9-0", "10-0").is_lt());
        assert!(cmp_ids("10-2", "10-10").is_lt());
        assert!(cmp_ids("10-0", "10-0").is_eq());
    }

    #[test]
    fn parses_entries_including_deleted_ones() {
        let reply = Value::Array(vec![Value::Array(vec![
            Value::BulkString(b"mutasi".to_vec()),
            Value::Array(vec![
                Value::Array(vec![
                    Value::BulkString(b"1-0".to_vec()),
                    Value::Array(vec![
                        Value::BulkString(b"v".to_vec()),
                        Value::BulkString(b"1".to_vec()),
                    ]),
                ]),
                Value::Array(vec![Value::BulkString(b"2-0".to_vec()), Value::Nil]),
            ]),
        ])]);
        let entries = read_reply_entries(reply).expect("parses");
        assert_eq!(
            entries,
            vec![
                Entry {
                    id: "1-0".into(),
                    fields: Some(vec![("v".into(), b"1".to_vec())])
                },
                Entry {
                    id: "2-0".into(),
                    fields: None
                },
            ]
        );
        assert!(read_reply_entries(Value::Nil).expect("nil").is_empty());
    }
}
