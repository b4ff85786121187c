//! W3C Trace Context `traceparent` values (`00-<trace-id>-<span-id>-<flags>`): parsed from an
//! incoming request or a stream entry and adopted as a span's parent, or taken from the current
//! span; carried in the outbox row and the stream entry so the statement line belongs to the
//! trace of the request that caused it.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Traceparent {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub sampled: bool,
}

impl Traceparent {
    /// The trace context of the current span: `None` when no OpenTelemetry layer is installed
    /// (see [`crate::telemetry`]).
    pub fn current() -> Option<Self> {
        Self::of(&tracing::Span::current())
    }

    /// The trace context of `span` (this starts its OpenTelemetry counterpart).
    pub fn of(span: &tracing::Span) -> Option<Self> {
        let context = span.context();
        let otel_span = context.span();
        let span_context = otel_span.span_context();
        span_context.is_valid().then(|| Traceparent {
            trace_id: span_context.trace_id().to_bytes(),
            span_id: span_context.span_id().to_bytes(),
            sampled: span_context.is_sampled(),
        })
    }

    /// Makes `span` a child of this context (received from another process). Call it before
    /// the span is entered or asked for its context; afterwards the parent is fixed and this
    /// does nothing.
    pub fn adopt(&self, span: &tracing::Span) {
        let flags = if self.sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let remote = SpanContext::new(
            TraceId::from_bytes(self.trace_id),
            SpanId::from_bytes(self.span_id),
            flags,
            true,
            TraceState::default(),
        );
        // Fails only without the OpenTelemetry layer, or once the span has started.
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }

    /// Parses version 00 (and, as the spec asks, the first four fields of a later version).
    /// All-zero ids, upper-case hex and version ff are invalid.
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let version = parts.next()?;
        let trace_id = parts.next()?;
        let span_id = parts.next()?;
        let flags = parts.next()?;
        let rest = parts.next();
        if version.len() != 2 || version == "ff" || (version == "00" && rest.is_some()) {
            return None;
        }
        hex::<1>(version)?;
        let trace_id = hex::<16>(trace_id)?;
        let span_id = hex::<8>(span_id)?;
        let [flags] = hex::<1>(flags)?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(Traceparent {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
        })
    }

    pub fn trace_id_hex(&self) -> String {
        to_hex(&self.trace_id)
    }
}

impl std::fmt::Display for Traceparent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            to_hex(&self.trace_id),
            to_hex(&self.span_id),
            u8::from(self.sampled)
        )
    }
}

fn hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0_u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_spec_example() {
        let text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let parsed = Traceparent::parse(text).expect("valid");
        assert_eq!(parsed.to_string(), text);
        assert!(parsed.sampled);
    }

    #[test]
    fn refuses_invalid_values() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert!(Traceparent::parse(bad).is_none(), "{bad}");
        }
        assert!(
            Traceparent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future")
                .is_some()
        );
    }
}
