#pragma once
// The dispatcher: claims due messages from the store under a lease, sends
// each through the provider instance its channel is routed to, and records
// what happened. Any number of gateway nodes can run one against the same
// database; they coordinate only through the store's leases.
//
// Threads: one claimer (claims each routed channel in priority order, as many
// as the channel's instance has send slots for within the pace horizon), N
// senders (each takes the next due slot from the SendQueue; provider calls
// block, so N bounds the concurrent sends), one recorder (writes outcomes in
// batches, one transaction each, guarded by this node's lease).

#include <barid/core/message_queue.hpp>
#include <barid/core/provider_registry.hpp>
#include <barid/core/retry_policy.hpp>
#include <barid/core/send_queue.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
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
  int abandon_after_extra_attempts = 2;            // see MessageQueue::requeue_expired_leases
  // How far ahead a paced instance's send slots are claimed: a node holds at
  // most this much of a paced instance's work.
  std::chrono::milliseconds pace_horizon{1000};
};

struct DispatcherStats {
  std::uint64_t claimed = 0;
  std::uint64_t sent = 0;
  std::uint64_t retried = 0;
  std::uint64_t failed = 0;
  std::uint64_t expired = 0;      // validity ended before the send (at the claim or in hand)
  std::uint64_t handed_back = 0;  // given back untried (slot too late for the lease, drain, instance gone)
  std::uint64_t lost_leases = 0;  // outcomes not written: another node held the message by then
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

  Dispatcher(MessageQueue& queue, ProviderRegistry& providers, DispatcherOptions options, RetryPolicy retry);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  void set_opt_out_hook(OptOutHook hook) { opt_out_hook_ = std::move(hook); }
  // Tenants routed to their own instances (TenantPolicy::routing), asked
  // before each round of claims: their messages are claimed apart, on their
  // routes, and left out of the global route's claims. Set before start().
  // The provider hands out the same object for as long as the routes stay the
  // same, so that a round of claims can tell a change by the pointer alone.
  using TenantRoutes = std::map<TenantId, std::map<sdk::Channel, TenantRoute>>;
  using TenantRoutesSource = std::function<std::shared_ptr<const TenantRoutes>()>;
  void set_tenant_routes(TenantRoutesSource routes) { tenant_routes_ = std::move(routes); }
  void set_health_hook(HealthHook hook) { health_hook_ = std::move(hook); }

  // Starts the threads. A dispatcher runs once: after stop() it is not
  // started again.
  void start();
  // New work was committed: look now rather than at the next poll.
  void wake() noexcept;
  // Drain: stop claiming, hand back what waits for its slot, finish the
  // sends under way and record them; gives up recording at `deadline` (the
  // leases then expire and the messages are sent again: at-least-once).
  void stop(std::chrono::steady_clock::time_point deadline);
  // Claims nothing more (the first step of stop(), taken early while the
  // API drains).
  void stop_claiming() noexcept;
  void stop() { stop(std::chrono::steady_clock::now() + std::chrono::seconds(10)); }

  DispatcherStats stats() const noexcept;
  const DispatcherOptions& options() const noexcept { return options_; }

 private:
  void claim_loop();
  void send_loop();
  void record_loop();
  // One provider call for a message whose slot has come.
  AttemptResult attempt(const QueuedSend& item, const ProviderSlot& slot);
  void hand_back(const std::vector<MessageId>& ids, const char* why);
  // A message of `instance` came to its turn too late for its lease (true)
  // or was sent (false): the claimer backs off claiming for that instance
  // while its sends keep coming too late.
  void note_late(const std::string& instance, bool late);
  // Until when the claimer leaves `instance` alone (past: not at all).
  std::chrono::steady_clock::time_point late_until(const std::string& instance);
  void add_result(AttemptResult r);

  MessageQueue& queue_;
  ProviderRegistry& providers_;
  DispatcherOptions options_;
  RetryPolicy retry_;
  OptOutHook opt_out_hook_;
  HealthHook health_hook_;
  TenantRoutesSource tenant_routes_;

  std::atomic<bool> running_{false};

  std::mutex claim_mutex_;
  std::condition_variable claim_cv_;
  bool stopping_ = false;       // guarded by claim_mutex_
  bool wake_requested_ = false;  // guarded by claim_mutex_

  SendQueue sends_;

  // Instances whose turns came too late for the lease, and how many rounds
  // in a row: claiming for them waits 100 ms, doubling each round up to 5 s,
  // instead of claiming and handing back in a loop.
  struct Late {
    int streak = 0;
    std::chrono::steady_clock::time_point until{};
  };
  std::mutex late_mutex_;
  std::map<std::string, Late> late_;
  std::atomic<bool> any_late_{false};

  std::mutex results_mutex_;
  std::condition_variable results_cv_;
  std::vector<AttemptResult> results_;
  bool senders_done_ = false;
  std::chrono::steady_clock::time_point record_deadline_{};

  std::atomic<std::uint64_t> in_flight_{0};
  std::atomic<std::uint64_t> claimed_{0}, sent_{0}, retried_{0}, failed_{0}, expired_{0}, handed_back_{0},
      lost_leases_{0};

  std::thread claimer_;
  std::vector<std::thread> senders_;
  std::thread recorder_;
};

}  // namespace barid::core
