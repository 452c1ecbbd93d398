#include <barid/core/dispatcher.hpp>

#include <barid/core/log.hpp>

#include <algorithm>
#include <map>
#include <random>

namespace barid::core {

using namespace std::chrono;

namespace {
// Time left after a send's timeout to record its outcome before the lease ends.
constexpr milliseconds kRecordMargin{2000};
}  // namespace

Dispatcher::Dispatcher(MessageQueue& queue, ProviderRegistry& providers, DispatcherOptions options, RetryPolicy retry)
    : queue_(queue), providers_(providers), options_(std::move(options)), retry_(retry) {
  if (options_.node_id.empty()) options_.node_id = "node-" + random_hex(6);
  if (options_.senders < 1) options_.senders = 1;
  if (options_.claim_batch < 1) options_.claim_batch = 1;
  if (options_.pace_horizon < milliseconds(10)) options_.pace_horizon = milliseconds(10);
}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::start() {
  if (running_.exchange(true)) return;
  recorder_ = std::thread([this] { record_loop(); });
  for (int i = 0; i < options_.senders; ++i) senders_.emplace_back([this] { send_loop(); });
  claimer_ = std::thread([this] { claim_loop(); });
  log_info("dispatcher", "started as " + options_.node_id + " with " + std::to_string(options_.senders) +
                             " senders, lease " + std::to_string(options_.lease.count()) + " ms");
}

void Dispatcher::wake() noexcept {
  {
    std::lock_guard lock(claim_mutex_);
    wake_requested_ = true;
  }
  claim_cv_.notify_one();
}

void Dispatcher::stop_claiming() noexcept {
  {
    std::lock_guard lock(claim_mutex_);
    stopping_ = true;
  }
  claim_cv_.notify_all();
}

void Dispatcher::stop(steady_clock::time_point deadline) {
  if (!running_.load()) return;
  stop_claiming();
  if (claimer_.joinable()) claimer_.join();

  // What waits for its slot goes back now; sends under way finish (each is
  // bounded by its instance's timeout).
  std::vector<MessageId> untried;
  for (auto& q : sends_.close()) untried.push_back(q.message.id);
  for (auto& t : senders_)
    if (t.joinable()) t.join();
  senders_.clear();
  hand_back(untried, "the node is stopping");

  {
    std::lock_guard lock(results_mutex_);
    senders_done_ = true;
    record_deadline_ = deadline;
  }
  results_cv_.notify_all();
  if (recorder_.joinable()) recorder_.join();
  running_ = false;
  log_info("dispatcher", "stopped; handed back " + std::to_string(untried.size()) + " untried messages");
}

DispatcherStats Dispatcher::stats() const noexcept {
  return {claimed_.load(), sent_.load(),        retried_.load(),     failed_.load(),
          expired_.load(), handed_back_.load(), lost_leases_.load(), in_flight_.load()};
}

void Dispatcher::hand_back(const std::vector<MessageId>& ids, const char* why) {
  if (ids.empty()) return;
  if (auto st = queue_.release(options_.node_id, ids); !st)
    log_warn("dispatcher", "could not hand back " + std::to_string(ids.size()) + " messages (" + why +
                               "; their leases expire on their own): " + st.error().message);
  in_flight_ -= ids.size();
  handed_back_ += ids.size();
}

void Dispatcher::note_late(const std::string& instance, bool late) {
  if (!late && !any_late_.load()) return;
  std::lock_guard lock(late_mutex_);
  if (!late) {
    late_.erase(instance);
    any_late_ = !late_.empty();
    return;
  }
  Late& l = late_[instance];
  const auto now = steady_clock::now();
  if (now < l.until) return;  // one claim's messages: one step of the back-off
  if (l.streak == 0)
    log_warn("dispatcher", "sends on " + instance + " come to their turn too late for the lease (" +
                               std::to_string(options_.lease.count()) + " ms); claiming for it backs off");
  l.streak = std::min(l.streak + 1, 7);
  l.until = now + std::min(milliseconds(100) * (1 << (l.streak - 1)), milliseconds(5000));
  any_late_ = true;
}

steady_clock::time_point Dispatcher::late_until(const std::string& instance) {
  if (!any_late_.load()) return {};
  std::lock_guard lock(late_mutex_);
  auto it = late_.find(instance);
  return it == late_.end() ? steady_clock::time_point{} : it->second.until;
}

void Dispatcher::claim_loop() {
  // Keep about two messages per sender in hand at most, so a slow provider
  // does not hold leases on messages another node could send.
  const std::uint64_t capacity = static_cast<std::uint64_t>(options_.senders) * 2;
  auto next_sweep = steady_clock::now();
  auto last_error_log = steady_clock::now() - hours(1);
  // Routes whose paced instance has no free slot in the horizon until then.
  std::map<std::string, steady_clock::time_point> not_before;

  for (;;) {
    {
      std::lock_guard lock(claim_mutex_);
      if (stopping_) return;
    }
    if (steady_clock::now() >= next_sweep) {
      auto r = queue_.requeue_expired_leases(1000, options_.abandon_after_extra_attempts);
      if (r && *r > 0) log_info("dispatcher", "requeued " + std::to_string(*r) + " messages with expired leases");
      next_sweep = steady_clock::now() + options_.lease_sweep;
    }

    auto wait = duration_cast<microseconds>(options_.idle_poll);
    bool more = false;
    const auto set = providers_.snapshot();
    // One claim per route: each channel's global route, without the tenants
    // that have their own for it; then each tenant's own routes.
    struct Group {
      std::string key;
      sdk::Channel channel;
      Route route;
      std::vector<TenantId> only, except;
    };
    std::vector<Group> groups;
    static const auto kNone = std::make_shared<const TenantRoutes>();
    const std::shared_ptr<const TenantRoutes> own = tenant_routes_ ? tenant_routes_() : kNone;
    std::map<sdk::Channel, std::vector<TenantId>> routed_apart;
    for (const auto& [tenant, routes] : *own)
      for (const auto& [channel, r] : routes) routed_apart[channel].push_back(tenant);
    for (const auto& [channel, route] : set->routes)
      groups.push_back({std::string(sdk::to_string(channel)), channel, route, {}, routed_apart[channel]});
    for (const auto& [tenant, routes] : *own)
      for (const auto& [channel, r] : routes)
        groups.push_back({std::string(sdk::to_string(channel)) + "/tenant " + std::to_string(tenant), channel,
                          Route{r.provider, r.fallback, r.primary_attempts}, {tenant}, {}});
    for (const auto& g : groups) {
      // A route changed since the round began (an operator's PUT through
      // this node): the next round claims on the new routes, and this one
      // claims nothing more on the old.
      if (tenant_routes_ && tenant_routes_() != own) {  // another object: the routes changed
        more = true;
        break;
      }
      const auto channel = g.channel;
      const auto now = steady_clock::now();
      if (auto nb = not_before.find(g.key); nb != not_before.end() && now < nb->second) {
        wait = std::min(wait, duration_cast<microseconds>(nb->second - now));
        continue;
      }
      // Its sends come to their turn too late for the lease: claiming again
      // now would only hand them back again.
      if (const ProviderSlot* slot = set->pick(g.route, 1); slot) {
        if (const auto until = late_until(slot->instance->name()); now < until) {
          wait = std::min(wait, duration_cast<microseconds>(until - now));
          continue;
        }
      }
      const std::uint64_t in_flight = in_flight_.load();
      if (in_flight >= capacity) {
        wait = std::min(wait, duration_cast<microseconds>(milliseconds(50)));
        break;
      }
      ClaimRequest req;
      req.owner = options_.node_id;
      req.channel = channel;
      req.limit = std::min(static_cast<int>(capacity - in_flight), options_.claim_batch);
      req.lease = options_.lease;
      req.horizon = options_.pace_horizon;
      req.only_tenants = g.only;
      req.except_tenants = g.except;
      req.route = [set, route = g.route](int attempt) -> PacedRoute {
        const ProviderSlot* slot = set->pick(route, attempt);
        if (!slot) return {};  // an instance the configuration no longer has: the messages wait
        return {slot->instance->name(), slot->rate, slot->burst};
      };
      const auto started = steady_clock::now();
      auto claim = queue_.claim_due(req);
      if (!claim) {
        if (steady_clock::now() - last_error_log > seconds(10)) {
          log_warn("dispatcher", "cannot claim messages: " + claim.error().message);
          last_error_log = steady_clock::now();
        }
        continue;
      }
      expired_ += static_cast<std::uint64_t>(claim->expired);
      if (claim->room_in > microseconds(0)) {
        not_before[g.key] = started + claim->room_in;
        wait = std::min(wait, claim->room_in);
      } else {
        not_before.erase(g.key);
      }
      if (claim->messages.empty()) continue;
      const auto n = claim->messages.size();
      in_flight_ += n;
      claimed_ += n;
      std::vector<QueuedSend> items;
      items.reserve(n);
      for (auto& c : claim->messages) {
        QueuedSend q;
        q.message = std::move(c.message);
        q.instance = std::move(c.instance);
        q.slot = started + c.send_at;
        q.lease_end = started + options_.lease;
        if (c.expires_in) q.expires = started + *c.expires_in;
        q.share = c.share;
        items.push_back(std::move(q));
      }
      sends_.push(std::move(items));
      if (static_cast<int>(n) == req.limit) more = true;
    }

    std::unique_lock lock(claim_mutex_);
    if (stopping_) return;
    if (more && !wake_requested_) continue;  // more may be due: claim again
    claim_cv_.wait_for(lock, wait, [&] { return stopping_ || wake_requested_; });
    wake_requested_ = false;
  }
}

void Dispatcher::add_result(AttemptResult r) {
  {
    std::lock_guard lock(results_mutex_);
    results_.push_back(std::move(r));
  }
  results_cv_.notify_one();
}

void Dispatcher::send_loop() {
  while (auto item = sends_.pop()) {
    const auto now = steady_clock::now();
    if (item->expires && now >= *item->expires) {
      AttemptResult r;
      r.id = item->message.id;
      r.tenant_id = item->message.tenant_id;
      r.attempt = item->message.attempts;
      r.decision = AttemptResult::Decision::expired;
      r.detail = "waited for its turn on " + item->instance;
      ++expired_;
      add_result(std::move(r));
      continue;
    }
    const auto set = providers_.snapshot();
    const ProviderSlot* slot = set->find(item->instance);
    if (!slot) {
      hand_back({item->message.id}, "its provider instance was removed");
      continue;
    }
    if (now + slot->send_timeout + kRecordMargin > item->lease_end) {
      // The send could outlive the lease, and another node could send it
      // too: give it back untried instead.
      hand_back({item->message.id}, "its turn came too late for its lease");
      note_late(item->instance, true);
      continue;
    }
    note_late(item->instance, false);
    add_result(attempt(*item, *slot));
  }
}

AttemptResult Dispatcher::attempt(const QueuedSend& item, const ProviderSlot& slot) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const Message& m = item.message;
  AttemptResult r;
  r.id = m.id;
  r.tenant_id = m.tenant_id;
  r.attempt = m.attempts;
  r.provider_instance = slot.instance->name();

  auto transient = [&](sdk::ProviderError error, std::optional<milliseconds> retry_after, std::string detail) {
    r.error = std::move(error);
    if (m.attempts < m.max_attempts) {
      r.decision = AttemptResult::Decision::retry;
      r.retry_in = retry_.backoff(m.attempts, retry_after, rng);
      r.detail = std::move(detail);
      ++retried_;
    } else {
      r.decision = AttemptResult::Decision::failed;
      r.retryable = true;
      r.detail = "no attempt left (" + std::to_string(m.attempts) + " of " + std::to_string(m.max_attempts) + ")";
      ++failed_;
    }
  };

  // A body that did not open is never sent as whatever it reads as. Sealed
  // with a key this node does not have (a rotation under way on several
  // nodes): tried again later, by any node, within its attempts. Altered,
  // copied from another row, or erased: the message fails, with the reason.
  if (m.content_key_missing) {
    transient({"content_key_missing", m.content_error}, std::nullopt, "the key that sealed it is not on this node");
    return r;
  }
  if (!m.content_error.empty() || m.body_redacted_at) {
    r.decision = AttemptResult::Decision::failed;
    r.error = {"content_unreadable",
               m.body_redacted_at ? "its body was erased before it could be sent" : m.content_error};
    ++failed_;
    return r;
  }

  sdk::OutboundMessage out;
  out.id = m.id.str();
  out.channel = m.channel;
  out.to = m.to;
  out.from = m.from;
  out.body = m.body;
  out.provider_template = m.provider_template;
  out.template_variables = m.template_variables;
  out.segments = m.segments;
  out.attempt = m.attempts;
  out.status_callback_url = slot.instance->context().webhook_url("status");
  if (item.expires)
    out.validity = std::max(seconds(1), duration_cast<seconds>(*item.expires - steady_clock::now()));

  const sdk::SendResult res = slot.instance->provider().send(out);
  if (res.health && health_hook_) health_hook_(slot.instance->name(), *res.health);
  switch (res.outcome) {
    case sdk::Outcome::ok:
      r.decision = AttemptResult::Decision::sent;
      r.sender = m.from.empty() ? slot.instance->default_sender() : m.from;
      r.status = (res.status == MessageStatus::delivered || res.status == MessageStatus::read) ? res.status
                                                                                             : MessageStatus::sent;
      r.provider_message_id = res.provider_message_id;
      r.segments = res.segments;
      r.cost = res.cost;
      ++sent_;
      break;
    case sdk::Outcome::retry:
      transient(res.error, res.retry_after, {});
      break;
    case sdk::Outcome::permanent:
      r.decision = AttemptResult::Decision::failed;
      r.error = res.error;
      if (res.recipient_opted_out) {
        r.detail = "the recipient unsubscribed at the provider";
        if (opt_out_hook_) opt_out_hook_(m, slot.instance->name());
      }
      ++failed_;
      break;
  }
  return r;
}

void Dispatcher::record_loop() {
  std::vector<AttemptResult> batch;
  auto backoff = milliseconds(100);
  for (;;) {
    {
      std::unique_lock lock(results_mutex_);
      if (batch.empty()) {
        results_cv_.wait(lock, [&] { return !results_.empty() || senders_done_; });
        if (results_.empty() && senders_done_) return;
        batch.swap(results_);
      } else {
        // A failed write is kept and retried together with what came since.
        for (auto& r : results_) batch.push_back(std::move(r));
        results_.clear();
      }
    }
    auto lost = queue_.record_attempts(options_.node_id, batch);
    if (lost) {
      if (*lost > 0) {
        lost_leases_ += static_cast<std::uint64_t>(*lost);
        log_warn("dispatcher", std::to_string(*lost) + " outcomes not recorded: another node held those messages "
                                                       "by then (lease lost)");
      }
      in_flight_ -= batch.size();
      batch.clear();
      backoff = milliseconds(100);
      wake();  // room to claim again
      continue;
    }
    log_warn("dispatcher", "cannot record " + std::to_string(batch.size()) + " outcomes, will retry: " +
                               lost.error().message);
    std::unique_lock lock(results_mutex_);
    if (senders_done_ && steady_clock::now() >= record_deadline_) {
      // Draining with the database down: the leases expire and the messages
      // are sent again by whoever claims them (at-least-once).
      log_error("dispatcher", "giving up on recording " + std::to_string(batch.size()) +
                                  " outcomes while stopping; their leases will expire");
      return;
    }
    results_cv_.wait_for(lock, senders_done_ ? std::min<steady_clock::duration>(
                                                   backoff, record_deadline_ - steady_clock::now())
                                             : steady_clock::duration(backoff));
    backoff = std::min(backoff * 2, milliseconds(5000));
  }
}

}  // namespace barid::core
