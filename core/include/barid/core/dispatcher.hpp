#pragma once
// The dispatcher: claims due messages from the store under a lease, sends
// each through the provider instance its channel is routed to, and records
// what happened. Any number of gateway nodes can run one against the same
// database; they coordinate only through the store's leases.
//
// Threads: one claimer (claims in batches while there is room), N senders
// (provider calls block, so N bounds the concurrent sends), one recorder
// (writes outcomes in batches, one transaction each).

#include <barid/core/provider_registry.hpp>
#include <barid/core/retry_policy.hpp>
#include <barid/core/store.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace barid::core {

struct DispatcherOptions {
  std::string node_id;  // lease owner; unique per process
  int senders = 128;
  int claim_batch = 100;
  std::chrono::milliseconds lease{60000};
  std::chrono::milliseconds idle_poll{500};        // how often to look for due work when idle
  std::chrono::milliseconds lease_sweep{5000};     // how often to requeue expired leases
  int abandon_after_extra_attempts = 2;            // see Store::requeue_expired_leases
  std::chrono::milliseconds rate_limit_wait{30000};  // longest wait for a rate-limit token
};

struct DispatcherStats {
  std::uint64_t claimed = 0;
  std::uint64_t sent = 0;
  std::uint64_t retried = 0;
  std::uint64_t failed = 0;
  std::uint64_t in_flight = 0;
};

class Dispatcher {
 public:
  // Called for a permanent failure where the provider says the recipient
  // unsubscribed, so the gateway can record an opt-out.
  using OptOutHook = std::function<void(const Message&, const std::string& instance)>;
  // Called when a send tells something new about an instance's health
  // (SendResult::health, e.g. the provider rejected the credentials), so the
  // gateway can record it without waiting for the next health check.
  using HealthHook = std::function<void(const std::string& instance, const sdk::HealthReport&)>;

  Dispatcher(Store& store, ProviderRegistry& providers, DispatcherOptions options, RetryPolicy retry);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  void set_opt_out_hook(OptOutHook hook) { opt_out_hook_ = std::move(hook); }
  void set_health_hook(HealthHook hook) { health_hook_ = std::move(hook); }

  void start();
  // New work was committed: look now rather than at the next poll.
  void wake() noexcept;
  // Drain: stop claiming, finish the sends under way, record them, hand the
  // claimed messages that were not tried back to the queue.
  void stop();

  DispatcherStats stats() const noexcept;
  const DispatcherOptions& options() const noexcept { return options_; }

  // One send, as a sender thread does it (exposed for tests).
  AttemptResult attempt(const Message& message);

 private:
  void claim_loop();
  void send_loop();
  void record_loop();

  Store& store_;
  ProviderRegistry& providers_;
  DispatcherOptions options_;
  RetryPolicy retry_;
  OptOutHook opt_out_hook_;
  HealthHook health_hook_;

  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};

  std::mutex claim_mutex_;
  std::condition_variable claim_cv_;
  bool wake_requested_ = false;

  std::mutex work_mutex_;
  std::condition_variable work_cv_;
  std::deque<Message> work_;

  std::mutex results_mutex_;
  std::condition_variable results_cv_;
  std::vector<AttemptResult> results_;
  bool senders_done_ = false;

  std::atomic<std::uint64_t> in_flight_{0};
  std::atomic<std::uint64_t> claimed_{0}, sent_{0}, retried_{0}, failed_{0};

  std::thread claimer_;
  std::vector<std::thread> senders_;
  std::thread recorder_;
};

}  // namespace barid::core
