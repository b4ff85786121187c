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

use opentelemetry::trace::TraceContextExt;
use serde_json::{Map, Value};
use tracing::dispatcher::{Dispatch, WeakDispatch};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

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
    fn max_event_level(self) -> Level {
        match self {
            LogLevel::Debug => Level::DEBUG,
            LogLevel::Info => Level::INFO,
            LogLevel::Warning => Level::WARN,
            LogLevel::Error | LogLevel::Critical => Level::ERROR,
        }
    }
}

/// Library crates whose INFO output is noise (sqlx logs every statement; the HTTP/2 stack and
/// the trace exporter's transport log connection details). Their events are written from
/// WARNING up unless `debug` is asked for, and their spans are never exported.
pub(crate) const NOISY_TARGETS: [&str; 6] =
    ["sqlx", "hyper", "h2", "tower", "tonic", "opentelemetry"];

pub(crate) fn is_noisy(target: &str) -> bool {
    NOISY_TARGETS.iter().any(|noisy| {
        target
            .strip_prefix(noisy)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::") || rest.starts_with('_'))
    })
}

/// The subscriber's filter: spans from INFO up (DEBUG too with `debug`), never the noisy
/// libraries' (so the fields of a request span reach a WARNING line inside it whatever the
/// level, and traces hold our spans only); events from `level` up, the noisy libraries' from
/// WARNING up unless `level` is debug.
pub fn filter(
    level: LogLevel,
) -> impl Fn(&tracing::Metadata<'_>) -> bool + Clone + Send + Sync + 'static {
    let events = level.max_event_level();
    move |metadata| {
        let span_level = if level == LogLevel::Debug {
            Level::DEBUG
        } else {
            Level::INFO
        };
        if metadata.is_span() {
            return *metadata.level() <= span_level && !is_noisy(metadata.target());
        }
        let max = if level != LogLevel::Debug && is_noisy(metadata.target()) {
            Level::WARN.min(events)
        } else {
            events
        };
        *metadata.level() <= max
    }
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

/// A `tracing` layer that formats events as JSON lines. When the OpenTelemetry layer is part of
/// the same subscriber (see [`crate::telemetry`]), a line written inside a span carries that
/// span's `trace_id` and `span_id`.
pub struct JsonLayer<S: LineSink> {
    sink: S,
    dispatch: std::sync::OnceLock<WeakDispatch>,
}

impl JsonLayer<Stdout> {
    pub fn stdout() -> Self {
        JsonLayer::new(Stdout)
    }
}

impl<S: LineSink> JsonLayer<S> {
    pub fn new(sink: S) -> Self {
        JsonLayer {
            sink,
            dispatch: std::sync::OnceLock::new(),
        }
    }

    /// The OpenTelemetry ids of span `id`, if the subscriber has the OpenTelemetry layer.
    fn otel_ids(&self, id: &Id) -> Option<(String, String)> {
        let dispatch = self.dispatch.get()?.upgrade()?;
        let context = tracing_opentelemetry::get_otel_context(id, &dispatch)?;
        let span = context.span();
        let span_context = span.span_context();
        span_context.is_valid().then(|| {
            (
                span_context.trace_id().to_string(),
                span_context.span_id().to_string(),
            )
        })
    }
}

/// Span fields, stored in the span's extensions when the span is created or recorded to.
struct SpanFields(Map<String, Value>);

impl<S, W> Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: LineSink,
{
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        // Weak: the subscriber owns this layer, a strong reference would be a cycle.
        let _ = self.dispatch.set(subscriber.downgrade());
    }

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

        let mut innermost = None;
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    for (key, value) in &fields.0 {
                        // `otel.*` fields name and classify the exported span; not log data.
                        if !key.starts_with("otel.") {
                            object.insert(key.clone(), value.clone());
                        }
                    }
                }
                innermost = Some(span.id());
            }
        }
        // No span extensions are borrowed here: reading the trace context may start the span.
        if let Some((trace_id, span_id)) = innermost.and_then(|id| self.otel_ids(&id)) {
            object.insert("trace_id".into(), Value::String(trace_id));
            object.insert("span_id".into(), Value::String(span_id));
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
    use tracing_subscriber::layer::SubscriberExt;

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
