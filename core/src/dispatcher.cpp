#include <barid/core/dispatcher.hpp>

#include <barid/core/log.hpp>

#include <random>

namespace barid::core {

using namespace std::chrono;

Dispatcher::Dispatcher(Store& store, ProviderRegistry& providers, DispatcherOptions options, RetryPolicy retry)
    : store_(store), providers_(providers), options_(std::move(options)), retry_(retry) {
  if (options_.node_id.empty()) options_.node_id = "node-" + random_hex(6);
  if (options_.senders < 1) options_.senders = 1;
  if (options_.claim_batch < 1) options_.claim_batch = 1;
}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::start() {
  if (running_.exchange(true)) return;
  stopping_ = false;
  senders_done_ = false;
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

void Dispatcher::stop() {
  if (!running_.load()) return;
  stopping_ = true;
  claim_cv_.notify_all();
  if (claimer_.joinable()) claimer_.join();
  work_cv_.notify_all();
  for (auto& t : senders_)
    if (t.joinable()) t.join();
  senders_.clear();

  // What was claimed but never tried goes back to the queue.
  std::vector<MessageId> untried;
  {
    std::lock_guard lock(work_mutex_);
    for (const auto& m : work_) untried.push_back(m.id);
    work_.clear();
  }
  {
    std::lock_guard lock(results_mutex_);
    senders_done_ = true;
  }
  results_cv_.notify_all();
  if (recorder_.joinable()) recorder_.join();
  if (!untried.empty()) {
    auto st = store_.release(options_.node_id, untried);
    if (!st)
      log_warn("dispatcher", "could not release " + std::to_string(untried.size()) +
                                 " leases (they expire on their own): " + st.error().message);
    in_flight_ -= untried.size();
  }
  running_ = false;
  log_info("dispatcher", "stopped; released " + std::to_string(untried.size()) + " untried messages");
}

DispatcherStats Dispatcher::stats() const noexcept {
  return {claimed_.load(), sent_.load(), retried_.load(), failed_.load(), in_flight_.load()};
}

void Dispatcher::claim_loop() {
  // Keep about two batches' worth per sender in hand at most, so a slow
  // provider does not hold leases on messages another node could send.
  const std::uint64_t capacity = static_cast<std::uint64_t>(options_.senders) * 2;
  auto next_sweep = steady_clock::now();
  auto last_error_log = steady_clock::now() - hours(1);

  while (!stopping_) {
    if (steady_clock::now() >= next_sweep) {
      auto r = store_.requeue_expired_leases(1000, options_.abandon_after_extra_attempts);
      if (r && *r > 0) log_info("dispatcher", "requeued " + std::to_string(*r) + " messages with expired leases");
      next_sweep = steady_clock::now() + options_.lease_sweep;
    }

    const std::uint64_t in_flight = in_flight_.load();
    const int room = in_flight >= capacity ? 0 : static_cast<int>(capacity - in_flight);
    bool idle = true;
    if (room > 0) {
      const int want = std::min(room, options_.claim_batch);
      auto claimed = store_.claim_due(options_.node_id, want, options_.lease);
      if (!claimed) {
        if (steady_clock::now() - last_error_log > seconds(10)) {
          log_warn("dispatcher", "cannot claim messages: " + claimed.error().message);
          last_error_log = steady_clock::now();
        }
      } else if (!claimed->empty()) {
        const auto n = claimed->size();
        in_flight_ += n;
        claimed_ += n;
        {
          std::lock_guard lock(work_mutex_);
          for (auto& m : *claimed) work_.push_back(std::move(m));
        }
        work_cv_.notify_all();
        idle = static_cast<int>(n) < want;
      }
    }

    std::unique_lock lock(claim_mutex_);
    if (!idle && room > 0 && !wake_requested_) continue;  // more may be due: claim again
    claim_cv_.wait_for(lock, room > 0 ? options_.idle_poll : milliseconds(50),
                       [&] { return stopping_.load() || wake_requested_; });
    wake_requested_ = false;
  }
}

void Dispatcher::send_loop() {
  for (;;) {
    Message m;
    {
      std::unique_lock lock(work_mutex_);
      work_cv_.wait(lock, [&] { return stopping_.load() || !work_.empty(); });
      if (stopping_ || work_.empty()) return;
      m = std::move(work_.front());
      work_.pop_front();
    }
    AttemptResult r = attempt(m);
    {
      std::lock_guard lock(results_mutex_);
      results_.push_back(std::move(r));
    }
    results_cv_.notify_one();
  }
}

AttemptResult Dispatcher::attempt(const Message& m) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  AttemptResult r;
  r.id = m.id;
  r.tenant_id = m.tenant_id;
  r.attempt = m.attempts;

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

  auto set = providers_.snapshot();
  const ProviderSlot* slot = set->pick(m.channel, m.attempts);
  if (!slot) {
    transient({"NO-ROUTE", "no provider instance is configured for channel '" +
                               std::string(sdk::to_string(m.channel)) + "'"},
              std::nullopt, "configuration");
    return r;
  }
  r.provider_instance = slot->instance->name();

  if (slot->limiter && !slot->limiter->acquire(steady_clock::now() + options_.rate_limit_wait)) {
    transient({"RATE-LIMITED", "the instance's rate limit left no room"}, std::nullopt, "local rate limit");
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
  out.status_callback_url = slot->instance->context().webhook_url("status");

  const sdk::SendResult res = slot->instance->provider().send(out);
  if (res.health && health_hook_) health_hook_(slot->instance->name(), *res.health);
  switch (res.outcome) {
    case sdk::Outcome::ok:
      r.decision = AttemptResult::Decision::sent;
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
        if (opt_out_hook_) opt_out_hook_(m, slot->instance->name());
      }
      ++failed_;
      break;
  }
  return r;
}

void Dispatcher::record_loop() {
  std::vector<AttemptResult> batch;
  auto backoff = milliseconds(100);
  std::optional<steady_clock::time_point> give_up_at;
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
    auto st = store_.record_attempts(batch);
    if (st) {
      in_flight_ -= batch.size();
      batch.clear();
      backoff = milliseconds(100);
      claim_cv_.notify_one();
      continue;
    }
    log_warn("dispatcher", "cannot record " + std::to_string(batch.size()) + " outcomes, will retry: " +
                               st.error().message);
    std::unique_lock lock(results_mutex_);
    if (senders_done_ && !give_up_at) give_up_at = steady_clock::now() + seconds(10);
    if (give_up_at && steady_clock::now() >= *give_up_at) {
      // Draining with the database down: the leases expire and the messages
      // are sent again by whoever claims them (at-least-once).
      log_error("dispatcher", "giving up on recording " + std::to_string(batch.size()) +
                                  " outcomes while stopping; their leases will expire");
      return;
    }
    results_cv_.wait_for(lock, backoff);
    backoff = std::min(backoff * 2, milliseconds(5000));
  }
}

}  // namespace barid::core
