#pragma once
// MessageQueue in memory, with the MySQL queue's contract: priority order,
// shared pace slots, leases, outcomes written only by the lease's owner.
// For unit tests of the dispatcher (and anything else that needs a queue
// without a database). Its clock can be replaced.

#include <barid/core/message_queue.hpp>

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace barid::core {

class MemoryQueue final : public MessageQueue {
 public:
  explicit MemoryQueue(std::function<TimePoint()> clock = now_us) : clock_(std::move(clock)) {}

  // A message to dispatch: queued (due now) or scheduled (due at scheduled_at).
  void add(Message m);
  std::optional<Message> find(const MessageId& id) const;
  struct Event {
    MessageId id;
    std::string type;
    std::string detail;
  };
  std::vector<Event> events() const;
  std::vector<Event> events_of(const MessageId& id) const;
  // Takes a message's lease away, as the sweep does when it expired.
  void expire_lease(const MessageId& id);
  // How many claims were asked for (for tests that wait for claim rounds).
  std::size_t claims() const;
  // A tenant's `share` of the turns (TenantPolicy::share; 1 unless set).
  void set_share(TenantId tenant, int share);

  Result<Claim> claim_due(const ClaimRequest& request) override;
  Result<int> record_attempts(const std::string& owner, const std::vector<AttemptResult>& results) override;
  Status release(const std::string& owner, const std::vector<MessageId>& ids) override;
  Result<int> requeue_expired_leases(int limit, int max_attempts_slack) override;

 private:
  struct Row {
    Message message;
    std::string owner;
    TimePoint lease_end{};
    TimePoint next{};
  };
  Row* row(const MessageId& id);

  std::function<TimePoint()> clock_;
  mutable std::mutex mutex_;
  std::vector<Row> rows_;  // in arrival order
  std::map<std::string, TimePoint> pace_;  // next free slot per instance
  std::vector<Event> events_;
  std::size_t claims_ = 0;
  std::map<TenantId, int> shares_;
  std::map<std::string, TenantTurns::Cursor> turns_;  // per instance, channel and priority
};

}  // namespace barid::core
