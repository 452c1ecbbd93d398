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

WebhookSender::WebhookSender(WebhookStore& hooks, TenantStore& audit, CurlHttpClient& http,
                             WebhookOptions options, std::string node_id)
    : hooks_(hooks),
      audit_(audit),
      http_(http),
      options_(std::move(options)),
      owner_(std::move(node_id)) {}

WebhookSender::~WebhookSender() { stop(); }

void WebhookSender::start() {
  if (options_.node_id_is_stable && !claimer_.joinable()) {
    // Those a previous run of this node held when it died: due now, not when
    // their leases would have ended (kWebhookLease).
    if (auto ended = hooks_.end_webhook_leases_of(owner_); !ended)
      log_warn("webhooks", "cannot take back the deliveries this node held before it started: " +
                               ended.error().message + " (they are taken up when their leases end)");
    else if (*ended > 0)
      log_info("webhooks", "took back " + std::to_string(*ended) + " deliveries this node held before it started");
  }
  std::lock_guard lock(mutex_);
  if (claimer_.joinable()) return;
  stopping_ = false;
  senders_done_ = false;
  recorder_ = std::thread([this] { record_loop(); });
  claimer_ = std::thread([this] { claim_loop(); });
}

void WebhookSender::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  claim_cv_.notify_all();
  if (claimer_.joinable()) claimer_.join();
  // The requests under way end (answered, or their timeout), and what was
  // claimed and not sent goes back, due at once for any node.
  std::vector<WebhookDeliveryKey> unsent;
  {
    std::unique_lock lock(mutex_);
    idle_cv_.wait(lock, [this] { return under_way_ == 0 && callbacks_ == 0; });
    for (auto& [endpoint, lane] : lanes_) take_out(endpoint, lane, std::nullopt, &unsent);
    turns_.clear();
    senders_done_ = true;
  }
  give_back(std::move(unsent));
  done_cv_.notify_all();
  if (recorder_.joinable()) recorder_.join();
  std::lock_guard lock(mutex_);
  lanes_.clear();
  held_.clear();
  retried_.clear();
  held_total_ = 0;
}

WebhookSender::Stats WebhookSender::stats() const noexcept {
  return {delivered_.load(), failed_.load(), given_up_.load()};
}

void WebhookSender::take_out(const Uuid& endpoint, Lane& lane, const std::optional<Uuid>& message,
                             std::vector<WebhookDeliveryKey>* keys) {
  std::erase_if(lane.ready, [&](const Ahead& a) {
    if (message && a.delivery.event.message_id != message) return false;
    const WebhookDeliveryKey key{a.delivery.event.seq, endpoint};
    held_.erase(key);
    --lane.held;
    --held_total_;
    if (keys) keys->push_back(key);
    return true;
  });
}

int WebhookSender::ahead_of(const Lane& lane) const {
  const int concurrency = std::max(1, options_.endpoint_concurrency);
  if (lane.stopped) return 0;
  if (lane.answer_ms <= 0) return std::min(kWebhookMaxAhead, concurrency * 8);  // not yet known
  // About a second's worth at the pace it answers.
  const double second = concurrency * 1000.0 / lane.answer_ms;
  return static_cast<int>(std::clamp<double>(second, concurrency, kWebhookMaxAhead));
}

void WebhookSender::enter_turn(const Uuid& endpoint, Lane& lane) {
  if (lane.in_turn || lane.ready.empty() || lane.sending >= std::max(1, options_.endpoint_concurrency)) return;
  lane.in_turn = true;
  turns_.push_back(endpoint);
}

void WebhookSender::pump() {
  // A delivery is sent only while its lease has this much left (a request
  // under way is renewed with the rest of what the node holds).
  constexpr auto kMargin = std::chrono::milliseconds(1000);
  // A request that fails before it starts (no HTTP client thread) is
  // answered within start(), whose callback pumps again: once is enough.
  thread_local bool pumping = false;
  if (pumping) return;
  pumping = true;
  const int capacity = std::max(1, options_.workers) * std::max(1, options_.batch);
  std::unique_lock lock(mutex_);
  // What is not under way when the sender stops goes back (stop).
  while (!stopping_ && !turns_.empty() && under_way_ < capacity) {
    const Uuid endpoint = turns_.front();
    turns_.pop_front();
    auto it = lanes_.find(endpoint);
    if (it == lanes_.end()) continue;
    Lane& lane = it->second;
    lane.in_turn = false;
    if (lane.sending >= std::max(1, options_.endpoint_concurrency)) continue;
    // The first whose message has no event under way (a message's events
    // go one after the other); none: the lane waits for an answer.
    auto next = std::find_if(lane.ready.begin(), lane.ready.end(), [&](const Ahead& a) {
      return !a.delivery.event.message_id || !lane.busy.count(*a.delivery.event.message_id);
    });
    if (next == lane.ready.end()) continue;
    Ahead ahead = std::move(*next);
    lane.ready.erase(next);
    if (ahead.delivery.event.message_id) lane.busy.insert(*ahead.delivery.event.message_id);
    if (Clock::now() + kMargin > ahead.leased_until) {
      // Its lease could not be renewed (the database is out of reach): it
      // may be another node's by now, so it is left to whoever claims it.
      // So are the events of its message behind it.
      if (const auto& message = ahead.delivery.event.message_id) {
        lane.busy.erase(*message);
        take_out(endpoint, lane, *message, nullptr);
      }
      held_.erase({ahead.delivery.event.seq, endpoint});
      --lane.held;
      --held_total_;
      enter_turn(endpoint, lane);
      claim_cv_.notify_one();
      continue;
    }
    ++lane.sending;
    ++under_way_;
    enter_turn(endpoint, lane);
    lock.unlock();
    const auto started = Clock::now();
    auto request = request_for(ahead.delivery, now_us());
    if (auto* outcome = std::get_if<WebhookAttemptOutcome>(&request)) {
      std::vector<WebhookDeliveryKey> unsent;
      lock.lock();
      answered(endpoint, std::move(ahead.delivery), counted(std::move(*outcome)), 0, unsent);
      lock.unlock();
      give_back(std::move(unsent));
    } else {
      lock.lock();
      ++callbacks_;
      lock.unlock();
      http_.start(std::move(std::get<sdk::HttpRequest>(request)),
                  [this, endpoint, started, d = std::move(ahead.delivery)](sdk::HttpResponse r) mutable {
                    const auto took = Clock::now() - started;
                    WebhookAttemptOutcome outcome =
                        outcome_of(d, r, std::chrono::duration_cast<std::chrono::milliseconds>(took));
                    std::vector<WebhookDeliveryKey> unsent;
                    {
                      std::lock_guard guard(mutex_);
                      answered(endpoint, std::move(d), std::move(outcome),
                               std::chrono::duration<double, std::milli>(took).count(), unsent);
                    }
                    give_back(std::move(unsent));
                    // The endpoint's next request starts here, on the HTTP
                    // client's thread, as the answer comes in.
                    pump();
                    std::lock_guard guard(mutex_);
                    // The last use of this object: stop() waits for it.
                    if (--callbacks_ == 0) idle_cv_.notify_all();
                  });
    }
    lock.lock();
  }
  pumping = false;
}

void WebhookSender::answered(const Uuid& endpoint, WebhookDelivery delivery, WebhookAttemptOutcome outcome,
                             double took_ms, std::vector<WebhookDeliveryKey>& unsent) {
  Lane& lane = lanes_[endpoint];  // held > 0 keeps it
  --lane.sending;
  --under_way_;
  if (!outcome.skipped && took_ms > 0)
    lane.answer_ms = lane.answer_ms <= 0 ? took_ms : 0.8 * lane.answer_ms + 0.2 * took_ms;
  if (const auto& message = delivery.event.message_id) {
    lane.busy.erase(*message);
    if (outcome.next_attempt_at) {
      retried_[{endpoint, *message}] = 0;
      // Tried again later: the message's next events go back with it, to
      // be claimed after it.
      take_out(endpoint, lane, *message, &unsent);
    }
  }
  if (!outcome.disable_reason.empty() && !lane.stopped) {
    // Disabled: what the node holds of it goes back unsent (a disabled
    // endpoint's deliveries are not claimed until it is enabled again).
    lane.stopped = true;
    take_out(endpoint, lane, std::nullopt, &unsent);
  }
  finished_.push_back({std::move(delivery), std::move(outcome)});
  enter_turn(endpoint, lane);  // the caller pumps: a request fewer under way
  // The recorder waits for a first answer, or for a full batch (else for
  // its time): woken for those only, not once an answer.
  if (finished_.size() == 1 || finished_.size() == kWebhookRecordBatch) done_cv_.notify_one();
  if (under_way_ == 0) idle_cv_.notify_all();
}

void WebhookSender::claim_loop() {
  const auto renew_every = kWebhookLease / 4;
  auto next_renewal = Clock::now() + renew_every;
  bool more = true;  // the last claim took all it asked for: more may be due now
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto next_poll = Clock::now() + options_.poll_interval;
    claim_cv_.wait_until(lock, std::min(next_poll, next_renewal), [&] {
      return stopping_ || room_opened_ || (more && held_total_ < kWebhookMaxHeld) || Clock::now() >= next_renewal;
    });
    if (stopping_) return;
    lock.unlock();
    if (Clock::now() >= next_renewal) {
      renew();
      next_renewal = Clock::now() + renew_every;
    }
    more = claim();
    lock.lock();
  }
}

bool WebhookSender::claim() {
  WebhookClaim claim;
  std::uint64_t records_before = 0;
  {
    std::lock_guard lock(mutex_);
    records_before = records_;
    room_opened_ = false;
    claim.limit = kWebhookMaxHeld - held_total_;
    if (claim.limit <= 0 || stopping_) return false;
    claim.per_endpoint = ahead_of(Lane{});
    for (const auto& [endpoint, lane] : lanes_) claim.room[endpoint] = std::max(0, ahead_of(lane) - lane.held);
  }
  claim.lease = kWebhookLease;
  const auto leased_until = Clock::now() + kWebhookLease;  // the database's lease starts later
  auto claimed = hooks_.claim_webhook_deliveries(owner_, claim);
  if (!claimed) {
    log_warn("webhooks", "cannot claim deliveries: " + claimed.error().message);
    return false;
  }
  std::vector<WebhookDeliveryKey> behind_a_retry;
  std::unique_lock lock(mutex_);
  for (auto& d : *claimed) {
    const WebhookDeliveryKey key{d.event.seq, d.endpoint.id};
    if (held_.count(key)) continue;  // still held here from a lease that ran out: sent once
    if (d.event.message_id) {
      // An earlier event of its message, held here when the claim began,
      // is to be tried again: it waits for that one.
      auto r = retried_.find({key.endpoint, *d.event.message_id});
      if (r != retried_.end() && (r->second == 0 || r->second > records_before)) {
        behind_a_retry.push_back(key);
        continue;
      }
    }
    Lane& lane = lanes_[d.endpoint.id];
    held_.insert(key);
    ++lane.held;
    ++held_total_;
    lane.ready.push_back({std::move(d), leased_until});
    enter_turn(key.endpoint, lane);
  }
  // Those recorded are seen by every later claim (their lease is gone).
  std::erase_if(retried_, [](const auto& r) { return r.second != 0; });
  lock.unlock();
  pump();
  give_back(std::move(behind_a_retry));
  return static_cast<int>(claimed->size()) >= claim.limit;
}

void WebhookSender::renew() {
  std::vector<WebhookDeliveryKey> keys;
  {
    std::lock_guard lock(mutex_);
    keys.assign(held_.begin(), held_.end());  // sorted
  }
  if (keys.empty()) return;
  const auto leased_until = Clock::now() + kWebhookLease;
  auto renewed = hooks_.extend_webhook_leases(owner_, keys, kWebhookLease);
  if (!renewed) {
    log_warn("webhooks", "cannot renew the leases of " + std::to_string(keys.size()) +
                             " deliveries: " + renewed.error().message);
    return;
  }
  std::lock_guard lock(mutex_);
  for (auto& [endpoint, lane] : lanes_)
    for (auto& a : lane.ready)
      if (std::binary_search(keys.begin(), keys.end(), WebhookDeliveryKey{a.delivery.event.seq, endpoint}))
        a.leased_until = std::max(a.leased_until, leased_until);
}

void WebhookSender::give_back(std::vector<WebhookDeliveryKey> keys) {
  if (keys.empty()) return;
  if (auto st = hooks_.release_webhook_deliveries(owner_, keys); !st)
    log_warn("webhooks", "cannot give back " + std::to_string(keys.size()) + " unsent deliveries: " +
                             st.error().message + " (they are taken up again when their lease ends)");
}

void WebhookSender::record_loop() {
  // Group records: the first answer after a quiet spell is recorded at once;
  // while answers keep coming, one transaction (and one flush of its commit)
  // takes what came in kWebhookRecordEvery, or kWebhookRecordBatch, rather
  // than a few each. A message's next event waits for its record at most
  // that long.
  Clock::time_point last{};
  std::unique_lock lock(mutex_);
  while (true) {
    done_cv_.wait(lock, [this] { return !finished_.empty() || senders_done_; });
    if (finished_.empty()) return;  // the senders are done, and so is their record
    done_cv_.wait_until(lock, last + kWebhookRecordEvery, [this] {
      return finished_.size() >= kWebhookRecordBatch || senders_done_;
    });
    last = Clock::now();
    std::vector<Done> done;
    done.swap(finished_);
    lock.unlock();
    record(done);
    lock.lock();
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
  ++records_;
  for (const auto& x : done) {
    const WebhookDeliveryKey key{x.delivery.event.seq, x.delivery.endpoint.id};
    if (x.outcome.next_attempt_at && x.delivery.event.message_id)
      if (auto r = retried_.find({key.endpoint, *x.delivery.event.message_id}); r != retried_.end()) r->second = records_;
    held_.erase(key);
    --held_total_;
    auto it = lanes_.find(key.endpoint);
    if (it == lanes_.end()) continue;
    Lane& lane = it->second;
    --lane.held;
    // Topped up once half of what it may hold ahead is gone, not after
    // every answer: a claim costs about the same for 10 deliveries as
    // for 100.
    if (static_cast<int>(lane.ready.size()) * 2 <= ahead_of(lane)) room_opened_ = true;
    if (lane.held <= 0 && lane.sending == 0 && lane.ready.empty()) lanes_.erase(it);
  }
  if (room_opened_) claim_cv_.notify_one();
}

std::optional<std::string> WebhookSender::body_of(const WebhookDelivery& d) {
  const WebhookEvent& e = d.event;
  // What the event describes was read with the claim.
  json data;
  if (e.type == "message.replied") {
    const auto& m = d.message;
    if (!m) return std::nullopt;
    data = {{"message_id", m->id.str()},
            {"reference", text_or_null(m->reference)},
            {"recipient_id", text_or_null(m->recipient_id)},
            {"channel", std::string(sdk::to_string(m->channel))},
            {"intent", e.detail}};
    data["inbound_id"] = e.inbound_id ? json(e.inbound_id->str()) : json(nullptr);
    data["text"] = nullptr;
    if (d.inbound && d.inbound->content_error.empty()) data["text"] = d.inbound->body;
  } else if (e.message_id) {
    if (!d.message) return std::nullopt;
    const Message& msg = *d.message;
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
    if (!d.inbound) return std::nullopt;
    const InboundRecord& r = *d.inbound;
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

WebhookAttemptOutcome WebhookSender::counted(WebhookAttemptOutcome o) {
  if (o.delivered) ++delivered_;
  else if (o.next_attempt_at) ++failed_;
  else ++given_up_;
  return o;
}

std::variant<sdk::HttpRequest, WebhookAttemptOutcome> WebhookSender::request_for(const WebhookDelivery& d,
                                                                                 TimePoint now) {
  if (auto why = webhook_url_problem(d.endpoint.url, options_.hosts); !why.empty())
    return webhook_attempt_outcome(options_, d, 0, std::nullopt,
                                   webhook_address_refused(d.endpoint.url, options_.hosts) ? std::string(kAddressNotAllowed)
                                                                                           : "not sent: " + why,
                                   std::chrono::milliseconds(0), now);
  auto body = body_of(d);
  if (!body) {  // what it describes is gone: nothing to say
    WebhookAttemptOutcome o;
    o.error = "not sent: what the event describes is gone";
    o.skipped = true;
    return o;
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
  req.body = std::move(*body);
  req.timeout = options_.timeout;
  req.headers = {{"Content-Type", "application/json"},
                 {"webhook-id", id},
                 {"webhook-timestamp", std::to_string(ts)},
                 {"webhook-signature", signature},
                 {"User-Agent", "barid-webhooks"}};
  return req;
}

WebhookAttemptOutcome WebhookSender::outcome_of(const WebhookDelivery& d, const sdk::HttpResponse& r,
                                                std::chrono::milliseconds latency) {
  std::string error;
  if (r.transport_failed()) error = webhook_transport_error(r);
  else if (r.status < 200 || r.status >= 300) error = "HTTP " + std::to_string(r.status);
  return counted(webhook_attempt_outcome(options_, d, r.transport_failed() ? 0 : r.status,
                                         parse_retry_after(r.header("Retry-After")), error, latency, now_us()));
}

}  // namespace barid::core
