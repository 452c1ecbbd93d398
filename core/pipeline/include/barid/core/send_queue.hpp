#pragma once
// What a node has claimed and not yet sent. Every claimed message comes with
// a send slot on its provider instance (the instance's pace, shared by every
// node, see MessageQueue::claim_due). Slots and messages are kept apart per
// instance: when an instance's next slot comes, a sender takes the
// highest-priority message waiting for that instance, so a high-priority
// message claimed behind low ones takes the first free turn, and the pace
// stays what the slots say. Within one priority the tenants take turns in
// hand too (start-time fair queueing, weighted by `share`): a message of a
// tenant that has nothing waiting goes before the rest of another tenant's
// claimed backlog, not after it.

#include <barid/core/message_queue.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace barid::core {

struct QueuedSend {
  using Clock = std::chrono::steady_clock;
  Message message;
  std::string instance;
  Clock::time_point slot;                     // when it may be sent (the slot it is given when taken)
  Clock::time_point lease_end;                // no send may still run then
  std::optional<Clock::time_point> expires;   // not to be sent from then on
  int share = 1;                              // its tenant's weight in the turns (TenantPolicy::share)
};

class SendQueue {
 public:
  using Clock = QueuedSend::Clock;

  void push(std::vector<QueuedSend> items);
  // Waits for an instance's next slot to come and returns the best message
  // waiting for it, with that slot; nullopt once closed.
  std::optional<QueuedSend> pop();
  // Hands out nothing more; returns everything still waiting.
  std::vector<QueuedSend> close();
  std::size_t size() const;
  // Messages waiting for `instance` (for the claimer: what it holds already).
  std::size_t waiting(const std::string& instance) const;

 private:
  struct Lane {
    std::multiset<Clock::time_point> slots;
    // By (priority, turn, arrival). A message's turn is its tenant's last
    // turn in hand at its priority (or that priority's current one, when
    // later) plus 1 / share.
    std::map<std::tuple<int, double, std::uint64_t>, QueuedSend> messages;
    std::map<std::pair<int, TenantId>, double> last_turn;
    std::map<int, double> turn;  // per priority, the turn of the message sent last
  };
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, Lane> lanes_;
  std::uint64_t arrivals_ = 0;
  std::size_t size_ = 0;
  bool closed_ = false;
};

}  // namespace barid::core
