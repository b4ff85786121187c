//! JSON-lines logs on stdout, one object per event:
//! `{"timestamp": RFC 3339 UTC, "level": INFO|WARNING|ERROR|CRITICAL, "message": ..., <fields>}`.
//!
//! * `level` is always one of the four names above. `tracing` has no CRITICAL level, so an
//!   `error!` event carrying the field `severity = "CRITICAL"` (see [`critical!`](crate::critical))
//!   is written as CRITICAL; DEBUG and TRACE events (only shown with `--log-level debug`) are
//!   written as INFO with `"detail": "debug"`.
//! * Fields of the enclosing spans (for example `request_id`) are copied into every event, the
//!   innermost span winning on a name clash; the event's own fields win over span fields.
//! * Nothing here redacts: callers never pass a PIN, a password, a hash or an Authorization
//!   header as a field. Tests scan the output for the secrets they used.

use std::io::Write;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Writes an ERROR event that is logged with `"level": "CRITICAL"`: the service cannot do its
/// job (for example the database is unreachable at start-up).
#[macro_export]
macro_rules! critical {
    ($($arg:tt)*) => {
        ::tracing::error!(severity = "CRITICAL", $($arg)*)
    };
}

/// The `--log-level` values the services accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

impl LogLevel {
    fn directive(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warning => "warn",
            // CRITICAL events are ERROR events underneath, so both keep ERROR.
            LogLevel::Error | LogLevel::Critical => "error",
        }
    }
}

/// Installs the JSON logger as the global subscriber. Library crates that are chatty at INFO
/// (sqlx logs every statement) are held at WARNING unless `debug` is asked for.
pub fn init(level: LogLevel) {
    let directive = match level {
        LogLevel::Debug => "debug".to_owned(),
        other => format!(
            "{},sqlx=warn,hyper=warn,h2=warn,tower=warn",
            other.directive()
        ),
    };
    let filter = EnvFilter::try_new(directive).unwrap_or_else(|_| EnvFilter::new("info"));
    // `try_init` fails only if a subscriber is already installed (tests that start several
    // servers in one process); the first one keeps working, which is what we want.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(JsonLayer::stdout())
        .try_init();
}

/// Where the layer writes its lines.
pub trait LineSink: Send + Sync + 'static {
    fn write_line(&self, line: &[u8]);
}

/// The process's standard output.
pub struct Stdout;

impl LineSink for Stdout {
    fn write_line(&self, line: &[u8]) {
        let mut out = std::io::stdout().lock();
        // A closed stdout must not take the service down; the line is lost, nothing else.
        let _ = out.write_all(line);
        let _ = out.flush();
    }
}

/// A `tracing` layer that formats events as JSON lines.
pub struct JsonLayer<S: LineSink> {
    sink: S,
}

impl JsonLayer<Stdout> {
    pub fn stdout() -> Self {
        JsonLayer { sink: Stdout }
    }
}

impl<S: LineSink> JsonLayer<S> {
    pub fn new(sink: S) -> Self {
        JsonLayer { sink }
    }
}

/// Span fields, stored in the span's extensions when the span is created or recorded to.
struct SpanFields(Map<String, Value>);

impl<S, W> Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: LineSink,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut visitor = JsonVisitor::default();
        attrs.record(&mut visitor);
        span.extensions_mut().insert(SpanFields(visitor.fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut visitor = JsonVisitor::default();
        values.record(&mut visitor);
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<SpanFields>() {
            Some(existing) => existing.0.extend(visitor.fields),
            None => extensions.insert(SpanFields(visitor.fields)),
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut object = Map::new();
        object.insert(
            "timestamp".into(),
            Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
        object.insert("level".into(), Value::String(String::new()));
        object.insert("message".into(), Value::String(String::new()));

        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    for (key, value) in &fields.0 {
                        object.insert(key.clone(), value.clone());
                    }
                }
            }
        }

        let mut visitor = JsonVisitor::default();
        event.record(&mut visitor);
        let critical = matches!(
            visitor.fields.remove("severity"),
            Some(Value::String(ref s)) if s == "CRITICAL"
        );
        let metadata = event.metadata();
        let level = match *metadata.level() {
            Level::ERROR if critical => "CRITICAL",
            Level::ERROR => "ERROR",
            Level::WARN => "WARNING",
            Level::INFO => "INFO",
            Level::DEBUG | Level::TRACE => {
                object.insert("detail".into(), Value::String("debug".into()));
                "INFO"
            }
        };
        object.insert("level".into(), Value::String(level.into()));
        object.insert("target".into(), Value::String(metadata.target().into()));
        for (key, value) in visitor.fields {
            object.insert(key, value);
        }

        let mut line = match serde_json::to_vec(&Value::Object(object)) {
            Ok(line) => line,
            Err(_) => return,
        };
        line.push(b'\n');
        self.sink.write_line(&line);
    }
}

#[derive(Default)]
struct JsonVisitor {
    fields: Map<String, Value>,
}

impl JsonVisitor {
    fn put(&mut self, field: &Field, value: Value) {
        self.fields.insert(field.name().to_owned(), value);
    }
}

impl Visit for JsonVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::String(value.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl LineSink for Captured {
        fn write_line(&self, line: &[u8]) {
            if let Ok(mut buffer) = self.0.lock() {
                buffer.extend_from_slice(line);
            }
        }
    }

    fn capture(f: impl FnOnce()) -> Vec<Value> {
        let sink = Captured::default();
        let subscriber = tracing_subscriber::registry().with(JsonLayer::new(sink.clone()));
        tracing::subscriber::with_default(subscriber, f);
        let bytes = sink.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8(bytes)
            .expect("utf-8 log output")
            .lines()
            .map(|line| serde_json::from_str(line).expect("every line is JSON"))
            .collect()
    }

    #[test]
    fn levels_use_the_four_names_and_carry_span_and_event_fields() {
        let lines = capture(|| {
            let span = tracing::info_span!("request", request_id = "r-1", status = 0);
            let _guard = span.enter();
            tracing::info!(no_rekening = "1234567890", "posted");
            tracing::warn!(remark = "saldo tidak cukup", "rejected");
            tracing::error!("database error");
            crate::critical!(db_host = "127.0.0.1", "database unreachable");
            tracing::debug!("noise");
        });
        let levels: Vec<&str> = lines.iter().map(|l| l["level"].as_str().unwrap()).collect();
        assert_eq!(levels, ["INFO", "WARNING", "ERROR", "CRITICAL", "INFO"]);
        assert_eq!(lines[0]["message"], "posted");
        assert_eq!(lines[0]["no_rekening"], "1234567890");
        assert_eq!(lines[0]["request_id"], "r-1");
        assert_eq!(lines[3]["db_host"], "127.0.0.1");
        assert!(lines[3].get("severity").is_none());
        assert_eq!(lines[4]["detail"], "debug");
        let keys: Vec<&String> = lines[0]
            .as_object()
            .expect("object")
            .keys()
            .take(3)
            .collect();
        assert_eq!(keys, ["timestamp", "level", "message"], "readable order");
        for line in &lines {
            let ts = line["timestamp"].as_str().unwrap();
            let parsed = chrono::DateTime::parse_from_rfc3339(ts).expect("RFC 3339");
            assert_eq!(parsed.offset().local_minus_utc(), 0, "UTC");
            assert!(ts.ends_with('Z'));
        }
    }

    #[test]
    fn span_fields_recorded_later_appear_in_events() {
        let lines = capture(|| {
            let span = tracing::info_span!("request", status = tracing::field::Empty);
            span.record("status", 403);
            let _guard = span.enter();
            tracing::warn!("forbidden");
        });
        assert_eq!(lines[0]["status"], 403);
    }
}
