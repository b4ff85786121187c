#!/usr/bin/env python3
"""Reads an OTLP receiver's log (stdin) and checks one trace.

  trace_check.py TRACE_ID CALLER_SPAN_ID SERVICE... < receiver.log

The receiver (bukubesar-airgap/otlp-receiver: rotel with its debug log) prints every received
batch: "Resource attributes:" with "-> service.name: Str(NAME)", then each "Span #n" with its
"Trace ID", "Parent ID", "ID" and "Name". Exit 0 when the spans of TRACE_ID came from every
SERVICE named and form one tree under the caller's span CALLER_SPAN_ID (the traceparent the
request carried): every span's parent is the caller or another span of the trace. Prints
"N spans from S services: service/name <- ..." on success, what is missing otherwise (exit 1).
"""
import re
import sys

FIELD = re.compile(r"^\s*(Trace ID|Parent ID|ID|Name)\s*:\s*(.*?)\s*$")
SERVICE = re.compile(r"^\s*-> service\.name: Str\((.*)\)\s*$")


def spans_of(lines):
    """Yields one dict per span: service, trace, parent, id, name."""
    service, span, in_resource = None, None, False
    for line in lines:
        if line.startswith("Resource attributes:"):
            in_resource = True
            continue
        if line.startswith("ScopeSpans") or line.startswith("ResourceSpans"):
            in_resource = False
        match = SERVICE.match(line)
        if in_resource and match:
            service = match.group(1)
            continue
        if line.startswith("Span #"):
            if span:
                yield span
            span = {"service": service}
            continue
        match = FIELD.match(line)
        if span is not None and match:
            key = {"Trace ID": "trace", "Parent ID": "parent", "ID": "id", "Name": "name"}[match.group(1)]
            span.setdefault(key, match.group(2))
    if span:
        yield span


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    trace, caller, services = argv[1], argv[2], set(argv[3:])
    spans = [s for s in spans_of(sys.stdin) if s.get("trace") == trace]
    ids = {s.get("id") for s in spans}
    seen = {s["service"] for s in spans}
    orphans = [s for s in spans if s.get("parent") not in ids and s.get("parent") != caller]
    missing = services - seen
    if not spans or missing or orphans:
        print(f"trace {trace}: {len(spans)} spans from {sorted(seen)}; missing services "
              f"{sorted(missing)}; spans without their parent: "
              f"{[(s['service'], s.get('name')) for s in orphans]}")
        return 1
    names = ", ".join(f"{s['service']}/{s.get('name')}" for s in spans)
    print(f"{len(spans)} spans from {len(seen)} services in one tree: {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
