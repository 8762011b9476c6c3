"""A Phoenix Hydra service: JSON over HTTP, with a /health that checks its dependencies.

HEALTH_DEPENDS lists dependencies, comma-separated:
  postgres://HOST:PORT   a PostgreSQL server that answers the protocol (SSLRequest)
  http(s)://HOST:PORT/PATH  an HTTP endpoint that answers 200

TLS (production): with TLS_CERT_FILE and TLS_KEY_FILE it serves HTTPS only (a plain HTTP
request gets no answer); with TLS_CA_FILE it calls https:// dependencies verifying the
chain against that CA.
"""

import json
import os
import signal
import socket
import ssl
import struct
import sys
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

SERVICE = os.environ.get("PHOENIX_SERVICE", "phoenix-service")
STARTED = time.time()
TIMEOUT = float(os.environ.get("HEALTH_TIMEOUT", "2"))


def check_postgres(host, port):
    with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
        sock.sendall(struct.pack("!ii", 8, 80877103))  # SSLRequest
        answer = sock.recv(1)
    if answer not in (b"S", b"N"):
        raise RuntimeError(f"unexpected answer {answer!r}")


def client_context():
    ca = os.environ.get("TLS_CA_FILE")
    return ssl.create_default_context(cafile=ca) if ca else None


def check_http(url):
    with urllib.request.urlopen(url, timeout=TIMEOUT, context=client_context()) as response:
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")


def check(target):
    """One dependency; a failed name lookup is asked again twice, 0.1 s apart: podman's
    aardvark-dns before 1.11 stops answering for a moment each time a container joins or
    leaves the network (containers/aardvark-dns#389, fixed by #449), which a start-first
    deploy does twice per replica."""
    parsed = urlparse(target)
    for attempt in range(3):
        try:
            if parsed.scheme == "postgres":
                return check_postgres(parsed.hostname, parsed.port or 5432)
            return check_http(target)
        except (socket.gaierror, urllib.error.URLError) as exc:
            lookup = isinstance(getattr(exc, "reason", exc), socket.gaierror)
            if not lookup or attempt == 2:
                raise
            time.sleep(0.1)


def dependencies():
    results = {}
    wanted = os.environ.get("HEALTH_DEPENDS", "").split(",")
    for target in filter(None, (t.strip() for t in wanted)):
        try:
            check(target)
            results[target] = "ok"
        except Exception as exc:  # reported in the body, never fatal
            results[target] = f"failing: {exc}"
    return results


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            checks = dependencies()
            healthy = all(v == "ok" for v in checks.values())
            self.reply(200 if healthy else 503,
                       {"service": SERVICE, "status": "ok" if healthy else "degraded",
                        "checks": checks})
        elif self.path == "/":
            self.reply(200, {"service": SERVICE, "env": os.environ.get("PHOENIX_ENV"),
                             "uptime_s": round(time.time() - STARTED, 1)})
        else:
            self.reply(404, {"error": "not found"})

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        if os.environ.get("LOG_LEVEL", "info") == "debug":
            sys.stderr.write(f"{SERVICE}: {fmt % args}\n")


def main():
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    cert, key = os.environ.get("TLS_CERT_FILE"), os.environ.get("TLS_KEY_FILE")
    if cert and key:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    # As PID 1 nothing handles SIGTERM by default: stop promptly when podman asks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"{SERVICE} listening on :{port}" + (" (TLS)" if cert and key else ""), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
