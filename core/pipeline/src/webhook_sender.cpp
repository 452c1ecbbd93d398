#include <barid/core/webhook_sender.hpp>

#include <barid/core/http_client.hpp>
#include <barid/core/log.hpp>
#include <barid/core/money.hpp>
#include <barid/core/time.hpp>

#include <algorithm>
#include <random>

namespace barid::core {

using nlohmann::json;

namespace {

json time_or_null(const std::optional<TimePoint>& t) { return t ? json(format_iso8601(*t)) : json(nullptr); }
json text_or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

std::optional<std::chrono::seconds> parse_retry_after(const std::string& value) {
  if (value.empty() || value.size() > 9 || !std::all_of(value.begin(), value.end(), ::isdigit)) return std::nullopt;
  return std::chrono::seconds(std::stoll(value));
}

// A coarse class of why no answer came, never the HTTP library's text (it
// can tell the network's layout).
std::string webhook_transport_error(const sdk::HttpResponse& r) {
  if (r.error_message == kAddressNotAllowed) return kAddressNotAllowed;
  switch (r.error) {
    case sdk::TransportError::timeout: return "timeout";
    case sdk::TransportError::connect: return "connection-failed";
    case sdk::TransportError::tls: return "tls-failed";
    default: return "transport-error";
  }
}

}  // namespace

WebhookSender::WebhookSender(WebhookStore& hooks, MessageStore& messages, TenantStore& audit, sdk::HttpClient& http,
                             WebhookOptions options, std::string node_id)
    : hooks_(hooks),
      messages_(messages),
      audit_(audit),
      http_(http),
      options_(std::move(options)),
      owner_(std::move(node_id)) {}

WebhookSender::~WebhookSender() { stop(); }

void WebhookSender::start() {
  std::lock_guard lock(mutex_);
  if (claimer_.joinable()) return;
  stopping_ = false;
  const int threads = std::max(1, options_.workers) * std::max(1, options_.batch);
  for (int i = 0; i < threads; ++i) senders_.emplace_back([this] { send_loop(); });
  claimer_ = std::thread([this] { claim_loop(); });
}

void WebhookSender::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  done_cv_.notify_all();
  for (auto& t : senders_)
    if (t.joinable()) t.join();
  senders_.clear();
  if (claimer_.joinable()) claimer_.join();
}

WebhookSender::Stats WebhookSender::stats() const noexcept {
  return {delivered_.load(), failed_.load(), given_up_.load()};
}

void WebhookSender::send_loop() {
  while (true) {
    std::unique_lock lock(mutex_);
    work_cv_.wait(lock, [this] { return stopping_ || !ready_.empty(); });
    if (ready_.empty()) return;  // stopping, and what was claimed is sent
    WebhookDelivery d = std::move(ready_.front());
    ready_.pop_front();
    lock.unlock();
    WebhookAttemptOutcome outcome = deliver(d);
    lock.lock();
    finished_.push_back({std::move(d), std::move(outcome)});
    lock.unlock();
    done_cv_.notify_one();
  }
}

void WebhookSender::claim_loop() {
  // The lease outlives a request and the wait for its record.
  const auto lease = std::chrono::duration_cast<std::chrono::milliseconds>(options_.timeout * 2 + std::chrono::seconds(5));
  const int capacity = std::max(1, options_.workers) * std::max(1, options_.batch);
  bool more = true;  // the last claim took all it asked for: more may be due now
  while (true) {
    std::vector<Done> done;
    bool stopping = false;
    WebhookClaim claim;
    {
      std::unique_lock lock(mutex_);
      auto woken = [this] { return stopping_ || !finished_.empty(); };
      if (stopping_) done_cv_.wait(lock, [this] { return !finished_.empty() || under_way_ == 0; });
      else if (under_way_ >= capacity) done_cv_.wait(lock, woken);
      else if (!more) done_cv_.wait_for(lock, options_.poll_interval, woken);
      done.swap(finished_);
      stopping = stopping_;
    }
    // What was sent is recorded before the next claim: a message's next
    // event is claimable once the one before it is recorded.
    if (!done.empty()) record(done);
    std::unique_lock lock(mutex_);
    if (stopping) {
      if (under_way_ == 0) return;
      more = false;
      continue;
    }
    claim.limit = capacity - under_way_;
    if (claim.limit <= 0) continue;
    claim.per_endpoint = std::max(1, options_.endpoint_concurrency);
    claim.in_flight = in_flight_;
    claim.lease = lease;
    lock.unlock();
    auto claimed = hooks_.claim_webhook_deliveries(owner_, claim);
    if (!claimed) {
      log_warn("webhooks", "cannot claim deliveries: " + claimed.error().message);
      more = false;
      continue;
    }
    more = static_cast<int>(claimed->size()) >= claim.limit;
    if (claimed->empty()) continue;
    lock.lock();
    if (stopping_) continue;  // the senders may be gone: these wait for their lease to end
    for (auto& d : *claimed) {
      ++in_flight_[d.endpoint.id];
      ++under_way_;
      ready_.push_back(std::move(d));
    }
    lock.unlock();
    work_cv_.notify_all();
  }
}

void WebhookSender::record(std::vector<Done>& done) {
  std::vector<WebhookDelivery> deliveries;
  std::vector<WebhookAttemptOutcome> outcomes;
  deliveries.reserve(done.size());
  outcomes.reserve(done.size());
  for (const auto& x : done) {
    deliveries.push_back(x.delivery);
    outcomes.push_back(x.outcome);
  }
  if (auto st = hooks_.finish_webhook_deliveries(deliveries, outcomes); !st)
    log_warn("webhooks", "cannot record " + std::to_string(done.size()) + " attempts: " + st.error().message +
                             " (they are tried again when their lease ends)");
  // A delivered event that carries a body is a read of it, by the endpoint:
  // one entry per endpoint and kind for those recorded together, as for a
  // list read through the API.
  struct Read {
    TenantId tenant = 0;
    std::vector<std::string> ids;
  };
  std::map<std::pair<Uuid, std::string>, Read> reads;  // endpoint, action
  for (const auto& x : done) {
    const WebhookDelivery& d = x.delivery;
    if (!x.outcome.delivered || !webhook_event_carries_body(d.endpoint, d.event.type)) continue;
    const std::optional<Uuid>& id = d.event.type == "inbound.received" ? d.event.inbound_id : d.event.message_id;
    if (!id) continue;
    Read& r = reads[{d.endpoint.id, d.event.type == "inbound.received" ? "inbound.body_read" : "message.body_read"}];
    r.tenant = d.endpoint.tenant_id;
    r.ids.push_back(id->str());
  }
  for (const auto& [key, r] : reads) {
    const auto& [endpoint, action] = key;
    if (auto st = audit_.add_audit(body_read_entry(r.tenant, action, Actor{"webhook:" + endpoint.str(), "", ""}, r.ids));
        !st)
      log_warn("audit", "cannot record '" + action + "' of webhook endpoint " + endpoint.str() + ": " +
                            st.error().message);
  }
  for (const auto& x : done)
    if (!x.outcome.disable_reason.empty())
      log_warn("webhooks", "endpoint " + x.delivery.endpoint.id.str() + " disabled: " + x.outcome.disable_reason);
  std::lock_guard lock(mutex_);
  for (const auto& x : done) {
    auto it = in_flight_.find(x.delivery.endpoint.id);
    if (it != in_flight_.end() && --it->second <= 0) in_flight_.erase(it);
    --under_way_;
  }
}

std::optional<std::string> WebhookSender::body_of(const WebhookDelivery& d) {
  const WebhookEvent& e = d.event;
  json data;
  if (e.type == "message.replied") {
    if (!e.message_id) return std::nullopt;
    auto m = messages_.find_message(e.tenant_id, *e.message_id);
    if (!m || !*m) return std::nullopt;
    data = {{"message_id", (*m)->id.str()},
            {"reference", text_or_null((*m)->reference)},
            {"recipient_id", text_or_null((*m)->recipient_id)},
            {"channel", std::string(sdk::to_string((*m)->channel))},
            {"intent", e.detail}};
    data["inbound_id"] = e.inbound_id ? json(e.inbound_id->str()) : json(nullptr);
    data["text"] = nullptr;
    if (e.inbound_id) {
      if (auto in = hooks_.find_inbound(e.tenant_id, *e.inbound_id); in && *in && (*in)->content_error.empty())
        data["text"] = (*in)->body;
    }
  } else if (e.message_id) {
    auto m = messages_.find_message(e.tenant_id, *e.message_id);
    if (!m || !*m) return std::nullopt;
    const Message& msg = **m;
    data = {{"id", msg.id.str()},
            {"reference", text_or_null(msg.reference)},
            {"recipient_id", text_or_null(msg.recipient_id)},
            {"status", e.status ? json(std::string(sdk::to_string(*e.status))) : json(nullptr)},
            {"channel", std::string(sdk::to_string(msg.channel))},
            {"segments", msg.segments},
            {"created_at", format_iso8601(msg.created_at)},
            {"sent_at", time_or_null(msg.sent_at)},
            {"delivered_at", time_or_null(msg.delivered_at)},
            {"read_at", time_or_null(msg.read_at)},
            {"failed_at", time_or_null(msg.failed_at)}};
    data["error"] = msg.error_code.empty() && msg.error_message.empty()
                        ? json(nullptr)
                        : json{{"code", text_or_null(msg.error_code)}, {"message", text_or_null(msg.error_message)}};
    data["cost"] = msg.cost ? json{{"amount", money_text(msg.cost->micros)}, {"currency", msg.cost->currency}}
                            : json(nullptr);
    if (d.endpoint.include_body) {
      data["to"] = msg.to;
      // Erased (discard after delivery) or not openable: no body to send.
      data["body"] = msg.body_redacted_at || !msg.content_error.empty() ? json(nullptr) : json(msg.body);
    }
  } else if (e.inbound_id) {
    auto in = hooks_.find_inbound(e.tenant_id, *e.inbound_id);
    if (!in || !*in) return std::nullopt;
    const InboundRecord& r = **in;
    data = {{"id", r.id.str()},
            {"channel", std::string(sdk::to_string(r.channel))},
            {"from", r.from},
            {"to", r.to},
            {"received_at", format_iso8601(r.received_at)}};
    data["answers"] = r.message_id ? json{{"message_id", r.message_id->str()}, {"intent", r.intent}} : json(nullptr);
    if (d.endpoint.include_body) data["body"] = r.content_error.empty() ? json(r.body) : json(nullptr);
  } else {  // recipient.opted_out / opted_in
    data = {{"phone", e.phone}, {"channel", e.channel}};
    if (e.type == "recipient.opted_out") data["source"] = e.detail;
  }
  data["occurred_at"] = format_iso8601(e.occurred_at);
  data["sequence"] = e.seq;
  return json{{"type", e.type}, {"timestamp", format_iso8601(e.occurred_at)}, {"data", data}}.dump();
}

WebhookAttemptOutcome webhook_attempt_outcome(const WebhookOptions& options, const WebhookDelivery& d, int status,
                                              std::optional<std::chrono::seconds> retry_after, std::string error,
                                              std::chrono::milliseconds latency, TimePoint now) {
  WebhookAttemptOutcome o;
  o.status_code = status;
  o.latency = latency;
  o.error = std::move(error);
  if (status >= 200 && status < 300) {
    o.delivered = true;
    return o;
  }
  if (status == 410) {
    o.disable_reason = "the endpoint answered 410 Gone";
    o.next_attempt_at = now + options.initial_backoff;  // waits for the endpoint to be enabled again
    return o;
  }
  if (d.endpoint.failing_since && now - *d.endpoint.failing_since >= options.disable_after) {
    o.disable_reason = "failing since " + format_iso8601(*d.endpoint.failing_since);
    o.next_attempt_at = now + options.initial_backoff;
    return o;
  }
  if (now - d.event.occurred_at >= options.give_up_after && now - d.created_at >= options.give_up_after)
    return o;  // given up: neither delivered nor again
  // Exponential, with full jitter over its upper half.
  const int exponent = std::min(std::max(d.attempts, 1) - 1, 30);
  auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(options.initial_backoff * (1LL << std::min(exponent, 20)));
  delay = std::min(delay, options.max_backoff);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<long long> half(delay.count() / 2, std::max<long long>(delay.count() / 2, delay.count()));
  delay = std::chrono::milliseconds(half(rng));
  if ((status == 429 || status == 503) && retry_after)
    delay = std::max(delay, std::min(std::chrono::duration_cast<std::chrono::milliseconds>(*retry_after),
                                     std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::hours(1))));
  o.next_attempt_at = now + delay;
  return o;
}

WebhookAttemptOutcome WebhookSender::deliver(const WebhookDelivery& d) {
  const TimePoint now = now_us();
  auto count = [this](const WebhookAttemptOutcome& o) {
    if (o.delivered) ++delivered_;
    else if (o.next_attempt_at) ++failed_;
    else ++given_up_;
    return o;
  };
  if (auto why = webhook_url_problem(d.endpoint.url, options_.hosts); !why.empty())
    return count(webhook_attempt_outcome(options_, d, 0, std::nullopt,
                                         webhook_address_refused(d.endpoint.url, options_.hosts) ? std::string(kAddressNotAllowed)
                                                                                                 : "not sent: " + why,
                                         std::chrono::milliseconds(0), now));
  auto body = body_of(d);
  if (!body) {  // what it describes is gone: nothing to say
    WebhookAttemptOutcome o;
    o.error = "not sent: what the event describes is gone";
    o.skipped = true;
    return count(o);
  }
  const std::string id = webhook_id(d.event.id);
  const std::int64_t ts = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  std::string signature = sign_webhook(d.endpoint.secret, id, ts, *body);
  if (!d.endpoint.previous_secret.empty() && d.endpoint.previous_secret_until && *d.endpoint.previous_secret_until > now) {
    const std::string old = sign_webhook(d.endpoint.previous_secret, id, ts, *body);
    if (!old.empty()) signature += (signature.empty() ? "" : " ") + old;
  }
  sdk::HttpRequest req;
  req.method = "POST";
  req.url = d.endpoint.url;
  req.body = *body;
  req.timeout = options_.timeout;
  req.headers = {{"Content-Type", "application/json"},
                 {"webhook-id", id},
                 {"webhook-timestamp", std::to_string(ts)},
                 {"webhook-signature", signature},
                 {"User-Agent", "barid-webhooks"}};
  const auto started = std::chrono::steady_clock::now();
  sdk::HttpResponse r = http_.perform(req);
  const auto latency =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  std::string error;
  if (r.transport_failed()) error = webhook_transport_error(r);
  else if (r.status < 200 || r.status >= 300) error = "HTTP " + std::to_string(r.status);
  return count(webhook_attempt_outcome(options_, d, r.transport_failed() ? 0 : r.status,
                                       parse_retry_after(r.header("Retry-After")), error, latency, now_us()));
}

}  // namespace barid::core
