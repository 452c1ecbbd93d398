// A webhook receiver for bench/webhooks: answers every POST with 200 (or 503
// while an outage is on), and records each event's first 2xx arrival against
// the time it happened (data.occurred_at, the database's clock on the same
// machine). GET /stats prints the figures; POST /outage?seconds=N starts an
// outage; POST /reset forgets what arrived.
//
//   node receiver.mjs PORT_FILE [keep-alive|close]
//
// keep-alive: an HTTP/1.1 server that keeps connections open (node's http).
// close: an HTTP/1.0 server that answers one request per connection and
// closes it, as many small frameworks, serverless functions and proxies do.
// Node, not Python: the receiver must take well over 5,000 requests a second
// on one core so that what is measured is the gateway.
import { writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";

const [portFile, mode = "keep-alive"] = process.argv.slice(2);
if (!portFile || !["keep-alive", "close"].includes(mode)) {
  console.error("usage: receiver.mjs PORT_FILE [keep-alive|close]");
  process.exit(2);
}

const first = new Map(); // webhook-id -> [arrival ms, occurred ms]
let attempts = 0;
let outageUntil = 0;

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * sorted.length + 0.5) - 1));
  return sorted[k];
}

function stats() {
  let lo = Infinity, hi = -Infinity;
  const lags = [];
  for (const [arrival, occurred] of first.values()) {
    lo = Math.min(lo, arrival);
    hi = Math.max(hi, arrival);
    lags.push(arrival - occurred);
  }
  lags.sort((a, b) => a - b);
  const span = first.size > 1 ? (hi - lo) / 1000 : 0;
  const round1 = (x) => Math.round(x * 10) / 10;
  return {
    events: first.size,
    attempts,
    span_s: Math.round(span * 1000) / 1000,
    rate: span > 0 ? round1(first.size / span) : 0,
    lag_p50_ms: round1(percentile(lags, 50)),
    lag_p99_ms: round1(percentile(lags, 99)),
    lag_max_ms: round1(lags.length ? lags[lags.length - 1] : 0),
  };
}

// One request: [status, body].
function handle(method, target, headers, body) {
  const url = new URL(target, "http://receiver");
  if (method === "GET") return [200, JSON.stringify(stats())];
  if (url.pathname === "/outage") {
    outageUntil = Date.now() + 1000 * Number(url.searchParams.get("seconds") ?? "10");
    return [200, "{}"];
  }
  if (url.pathname === "/reset") {
    first.clear();
    attempts = 0;
    return [200, "{}"];
  }
  const now = Date.now();
  attempts++;
  if (now < outageUntil) return [503, "{}"];
  const id = headers["webhook-id"] ?? "";
  if (!first.has(id)) first.set(id, [now, Date.parse(JSON.parse(body).data.occurred_at)]);
  return [200, "{}"];
}

function listening(server) {
  writeFileSync(portFile, String(server.address().port));
}

if (mode === "keep-alive") {
  const server = http.createServer({ keepAliveTimeout: 60000 }, (req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const [status, body] = handle(req.method, req.url, req.headers, Buffer.concat(chunks).toString());
      res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.listen(0, "127.0.0.1", () => listening(server));
} else {
  // HTTP/1.0: read the head and Content-Length bytes of body, answer, close.
  const server = net.createServer((socket) => {
    let data = Buffer.alloc(0);
    socket.on("error", () => {});
    socket.on("data", (chunk) => {
      data = Buffer.concat([data, chunk]);
      const end = data.indexOf("\r\n\r\n");
      if (end < 0) return;
      const lines = data.subarray(0, end).toString("latin1").split("\r\n");
      const [method, target] = lines[0].split(" ");
      const headers = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers["content-length"] ?? "0");
      if (data.length < end + 4 + length) return;
      const [status, body] = handle(method, target, headers, data.subarray(end + 4, end + 4 + length).toString());
      socket.end(
        `HTTP/1.0 ${status} ${status === 200 ? "OK" : "Service Unavailable"}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      socket.removeAllListeners("data");
    });
  });
  server.listen({ port: 0, host: "127.0.0.1", backlog: 511 }, () => listening(server));
}
