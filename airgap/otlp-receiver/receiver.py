"""Supervisor of the air-gapped OTLP receiver (bukubesar-airgap/otlp-receiver).

Starts rotel-agent in the foreground with OTLP/gRPC on :4317 and OTLP/HTTP on :4318, every
received span written to stdout (its debug log, JSON lines), and nothing exported further.
Serves Jaeger's admin health check on :14269: GET / answers 200 while :4317 accepts a
connection, 503 otherwise. SIGTERM/SIGINT are passed on; the container exits with rotel's code.
"""

import http.server
import signal
import socket
import subprocess
import sys
import threading

GRPC_PORT = 4317
HTTP_PORT = 4318
ADMIN_PORT = 14269

COMMAND = [
    "/usr/local/bin/rotel-agent", "start",
    "--otlp-grpc-endpoint", f"0.0.0.0:{GRPC_PORT}",
    "--otlp-http-endpoint", f"0.0.0.0:{HTTP_PORT}",
    "--exporter", "blackhole",
    "--log-format", "json",
    "--debug-log", "traces",
    "--debug-log-verbosity", "detailed",
    "--pid-file", "/tmp/rotel-agent.pid",
    "--log-file", "/tmp/rotel-agent.log",
] + sys.argv[1:]


def receiver_accepts() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", GRPC_PORT), timeout=1):
            return True
    except OSError:
        return False


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the handler's name is http.server's)
        ok = self.path == "/" and receiver_accepts()
        body = b"ok\n" if ok else b"receiver not accepting\n"
        self.send_response(200 if ok else 503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):  # health checks are not worth a log line each
        pass


def main() -> int:
    child = subprocess.Popen(COMMAND)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda s, _f: child.send_signal(s))
    server = http.server.ThreadingHTTPServer(("0.0.0.0", ADMIN_PORT), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    code = child.wait()
    server.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
