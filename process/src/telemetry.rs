//! What a process emits about itself: JSON-lines logs (see [`crate::log`]) and OpenTelemetry
//! traces, installed together as one `tracing` subscriber.
//!
//! Every span gets W3C trace and span ids, so log lines written inside a span carry `trace_id`
//! and `span_id` and the trace context travels through the outbox and the stream, whether or
//! not traces are exported. With `--otlp-endpoint` (or `OTEL_EXPORTER_OTLP_ENDPOINT`) finished
//! spans are batched and sent over OTLP/gRPC; a slow or absent collector never slows a request:
//! spans wait in a bounded queue and the oldest are dropped when it is full.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use crate::log::{self, JsonLayer, LogLevel};

/// Longest wait for the collector to take one batch.
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);
/// A finished span is sent at most this long after it ended.
pub const EXPORT_DELAY: Duration = Duration::from_millis(500);
/// Finished spans waiting to be sent; beyond this new spans are dropped, not queued.
pub const MAX_QUEUED_SPANS: usize = 16_384;
/// Most spans in one export request.
pub const MAX_SPANS_PER_EXPORT: usize = 1_024;

/// `--otlp-endpoint`: where traces go.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct TelemetryArgs {
    /// OTLP/gRPC trace receiver, e.g. http://jaeger:4317 (plain HTTP/2). Without it nothing is
    /// exported; spans still get ids, which the logs carry.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_parser = parse_endpoint, global = true)]
    pub otlp_endpoint: Option<String>,
}

fn parse_endpoint(value: &str) -> Result<String, String> {
    let value = value.trim();
    let Some(authority) = value.strip_prefix("http://") else {
        return Err(
            "must start with http:// (OTLP/gRPC without TLS, e.g. http://jaeger:4317)".into(),
        );
    };
    let host = authority.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err("names no host".into());
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// The installed tracer; [`Telemetry::shutdown`] sends the spans still queued.
pub struct Telemetry {
    provider: SdkTracerProvider,
    endpoint: Option<String>,
}

/// Installs logs and traces for `service` (the `service.name` of every span) as the process's
/// subscriber. Call it inside the Tokio runtime: the exporter's connection lives there. Fails
/// only if the endpoint cannot be made into an exporter; an unreachable collector is not an
/// error (export is retried batch by batch, in the background).
pub fn init(
    service: &'static str,
    level: LogLevel,
    args: &TelemetryArgs,
) -> Result<Telemetry, opentelemetry_otlp::ExporterBuildError> {
    let resource = Resource::builder().with_service_name(service).build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = &args.otlp_endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .with_timeout(EXPORT_TIMEOUT)
            .build()?;
        let batching = BatchConfigBuilder::default()
            .with_max_queue_size(MAX_QUEUED_SPANS)
            .with_max_export_batch_size(MAX_SPANS_PER_EXPORT)
            .with_scheduled_delay(EXPORT_DELAY)
            .build();
        builder = builder.with_span_processor(
            BatchSpanProcessor::builder(exporter)
                .with_batch_config(batching)
                .build(),
        );
    }
    let provider = builder.build();
    // `try_init` fails only if a subscriber is already installed (several servers started in
    // one test process); the first one keeps working.
    let _ = tracing_subscriber::registry()
        .with(filter_fn(log::filter(level)))
        .with(otel_layer(&provider, service))
        .with(JsonLayer::stdout())
        .try_init();
    Ok(Telemetry {
        provider,
        endpoint: args.otlp_endpoint.clone(),
    })
}

/// The OpenTelemetry layer. It sees what the subscriber's one filter ([`log::filter`]) lets
/// through: spans from INFO up except the noisy libraries' (the exporter's own transport must
/// never trace itself). (One global filter, not per-layer filters: per-layer filter state was
/// seen to drop spans of this layer under load of other callsites.) A span's OpenTelemetry
/// counterpart starts when it is first asked for its context, so a request span can still be
/// renamed after routing.
pub fn otel_layer<S>(
    provider: &SdkTracerProvider,
    service: &'static str,
) -> impl Layer<S> + Send + Sync + 'static
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(service))
        .with_context_activation(false)
        .with_tracked_inactivity(false)
        .with_threads(false)
        .with_location(false)
}

impl Telemetry {
    /// Whether spans leave the process.
    pub fn exporting(&self) -> bool {
        self.endpoint.is_some()
    }

    /// Sends the spans still queued and stops the exporter, waiting at most `within`.
    pub async fn shutdown(self, within: Duration) {
        let Some(endpoint) = self.endpoint else {
            return;
        };
        let provider = self.provider;
        let flushed =
            tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(within)).await;
        match flushed {
            Ok(Ok(())) => tracing::info!(otlp_endpoint = %endpoint, "pending spans sent"),
            Ok(Err(error)) => {
                tracing::warn!(otlp_endpoint = %endpoint, error = %error, "pending spans not all sent")
            }
            Err(error) => {
                tracing::warn!(otlp_endpoint = %endpoint, error = %error, "span flush did not finish")
            }
        }
    }
}

/// Longest wait for the last spans at exit.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// A service's `main` after parsing its command line: installs logs and traces, fixes the
/// allocator's mmap threshold ([`crate::memory`]), runs `run`, sends the spans still queued (at
/// most [`FLUSH_TIMEOUT`]), and turns the result into the exit status. `run` reports its own
/// start-up failures (one CRITICAL line).
pub async fn run_service<F>(
    service: &'static str,
    level: LogLevel,
    args: &TelemetryArgs,
    run: F,
) -> std::process::ExitCode
where
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    let telemetry = match init(service, level, args) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            // Logs without export, so the reason is written as a log line like any other.
            let _ = init(service, level, &TelemetryArgs::default());
            crate::critical!(error = %error, "cannot set up trace export (--otlp-endpoint)");
            return std::process::ExitCode::FAILURE;
        }
    };
    crate::memory::return_large_blocks_to_the_kernel();
    if let Some(endpoint) = &args.otlp_endpoint {
        tracing::info!(otlp_endpoint = %endpoint, service, "exporting traces");
    }
    let result = run.await;
    telemetry.shutdown(FLUSH_TIMEOUT).await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::debug!(error = %error, "exiting with failure");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_plain_http_with_a_host() {
        assert_eq!(
            parse_endpoint("http://jaeger:4317/").as_deref(),
            Ok("http://jaeger:4317")
        );
        assert!(parse_endpoint("http://127.0.0.1:4317").is_ok());
        for bad in [
            "",
            "jaeger:4317",
            "https://jaeger:4317",
            "http://",
            "http://:4317",
            "grpc://x:1",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl log::LineSink for Captured {
        fn write_line(&self, line: &[u8]) {
            if let Ok(mut buffer) = self.0.lock() {
                buffer.extend_from_slice(line);
            }
        }
    }

    #[test]
    fn lines_inside_a_span_carry_its_trace_and_span_ids() {
        let provider = SdkTracerProvider::builder().build();
        let sink = Captured::default();
        let subscriber = tracing_subscriber::registry()
            .with(filter_fn(log::filter(LogLevel::Info)))
            .with(otel_layer(&provider, "test"))
            .with(JsonLayer::new(sink.clone()));
        let (outer, inner) = tracing::subscriber::with_default(subscriber, || {
            tracing::info!("outside any span");
            let parent = crate::trace::Traceparent::parse(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )
            .expect("valid");
            let request = tracing::info_span!("request", request_id = "r-1");
            parent.adopt(&request);
            let _entered = request.enter();
            tracing::warn!("inside the request");
            let inner = tracing::info_span!("db.posting");
            let _inner = inner.enter();
            tracing::info!("inside the transaction");
            (
                crate::trace::Traceparent::of(&request).expect("ids"),
                crate::trace::Traceparent::of(&inner).expect("ids"),
            )
        });
        let bytes = sink.0.lock().map(|b| b.clone()).unwrap_or_default();
        let lines: Vec<serde_json::Value> = String::from_utf8(bytes)
            .expect("utf-8")
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON"))
            .collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].get("trace_id").is_none(), "no span, no trace id");
        assert_eq!(lines[1]["level"], "WARNING");
        assert_eq!(lines[1]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(lines[1]["span_id"], hex(&outer.span_id));
        assert_eq!(lines[1]["request_id"], "r-1");
        assert_eq!(lines[2]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(lines[2]["span_id"], hex(&inner.span_id));
        assert_eq!(inner.trace_id, outer.trace_id);
        assert_ne!(inner.span_id, outer.span_id);
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
