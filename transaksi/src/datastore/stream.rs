//! Appending to the Redis Stream: one `XADD` per event, all of a round in one pipeline. The
//! entry's fields are the event format (`bukubesar_common::event`).

use bukubesar_common::event::MutasiEvent;
use redis::aio::ConnectionManager;

/// Appends events to the stream.
#[derive(Clone)]
pub struct StreamPublisher {
    connection: ConnectionManager,
    stream: String,
}

impl StreamPublisher {
    pub fn new(connection: ConnectionManager, stream: String) -> Self {
        StreamPublisher { connection, stream }
    }

    /// The stream's name.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// `XADD`s every event, in order, in one round trip. Ok only when Redis accepted all.
    pub async fn publish(&self, events: &[MutasiEvent]) -> Result<(), redis::RedisError> {
        let mut pipeline = redis::pipe();
        for event in events {
            let command = pipeline.cmd("XADD").arg(&self.stream).arg("*");
            for (field, value) in event.fields() {
                command.arg(field).arg(value);
            }
        }
        let mut connection = self.connection.clone();
        let ids: Vec<String> = pipeline.query_async(&mut connection).await?;
        debug_assert_eq!(ids.len(), events.len());
        Ok(())
    }
}
