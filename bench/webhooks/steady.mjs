// Sends messages at a steady rate, one POST /v1/messages each, over a few
// keep-alive connections, and prints what it sent:
//
//   node steady.mjs BASE_URL API_KEY RATE SECONDS
//
// The requests are started on a schedule (RATE a second, in ticks of 10 ms),
// not one after another, so a slow answer does not lower the rate asked for.
// Prints "sent=N accepted=N seconds=S".
import http from "node:http";

const [base, key, rateText, secondsText] = process.argv.slice(2);
const rate = Number(rateText);
const seconds = Number(secondsText);
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const target = new URL("/v1/messages", base);

let sent = 0;
let accepted = 0;
let answered = 0;
function post(n) {
  const body = JSON.stringify({
    to: "+96656" + String(n).padStart(7, "0"),
    body: "Reminder: your appointment is tomorrow at 10:00.",
  });
  const req = http.request(
    target,
    {
      method: "POST",
      agent,
      headers: {
        Authorization: "Bearer " + key,
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(body),
      },
    },
    (res) => {
      res.resume();
      res.on("end", () => {
        if (res.statusCode === 202) accepted++;
        answered++;
      });
    },
  );
  req.on("error", () => answered++);
  req.end(body);
  sent++;
}

const started = Date.now();
const total = Math.round(rate * seconds);
const timer = setInterval(() => {
  const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate));
  while (sent < due) post(sent);
  if (sent >= total) clearInterval(timer);
}, 10);
const done = setInterval(() => {
  if (sent >= total && answered >= total) {
    clearInterval(done);
    console.log(`sent=${sent} accepted=${accepted} seconds=${((Date.now() - started) / 1000).toFixed(2)}`);
    agent.destroy();
  }
}, 50);
