#!/usr/bin/env python3
"""A webhook receiver for bench/webhooks: answers every POST with 200 (or
503 while an outage is on), and records each event's first 2xx arrival
against the time it happened (data.occurred_at, the database's clock on the
same machine). GET /stats prints the figures; POST /outage?seconds=N starts
an outage; POST /reset forgets what arrived.

    receiver.py PORT_FILE
"""
import json
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

lock = threading.Lock()
first = {}  # webhook-id -> (arrival, occurred)
attempts = 0
outage_until = 0.0


def occurred(body):
    text = json.loads(body)["data"]["occurred_at"]
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * len(values) + 0.5)) - 1))
    return values[k]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"{}"):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        global attempts, outage_until
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        url = urlparse(self.path)
        if url.path == "/outage":
            seconds = float(parse_qs(url.query).get("seconds", ["10"])[0])
            outage_until = time.time() + seconds
            return self.answer(200)
        if url.path == "/reset":
            with lock:
                first.clear()
                attempts = 0
            return self.answer(200)
        now = time.time()
        with lock:
            attempts += 1
        if now < outage_until:
            return self.answer(503)
        hook_id = self.headers.get("webhook-id", "")
        with lock:
            if hook_id not in first:
                first[hook_id] = (now, occurred(body))
        self.answer(200)

    def do_GET(self):
        with lock:
            arrivals = [a for a, _ in first.values()]
            lags = [(a - o) * 1000.0 for a, o in first.values()]
            n, tries = len(first), attempts
        span = (max(arrivals) - min(arrivals)) if len(arrivals) > 1 else 0.0
        stats = {
            "events": n,
            "attempts": tries,
            "span_s": round(span, 3),
            "rate": round(n / span, 1) if span > 0 else 0.0,
            "lag_p50_ms": round(percentile(lags, 50), 1),
            "lag_p99_ms": round(percentile(lags, 99), 1),
            "lag_max_ms": round(max(lags), 1) if lags else 0.0,
        }
        self.answer(200, json.dumps(stats).encode())


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
