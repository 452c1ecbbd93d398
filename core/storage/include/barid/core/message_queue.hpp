#pragma once
// The queue: what the dispatcher needs of the store, and nothing else.
// MySqlStore implements it on the messages table (leases with FOR UPDATE SKIP
// LOCKED, send slots in provider_pace); MemoryQueue (tests/support/memory_queue.hpp) is the
// same contract in memory, for unit tests of the dispatcher.
//
// Times in a claim are offsets from the moment the claim read the database's
// clock, so that nodes whose clocks disagree still keep one pace.

#include <barid/core/message.hpp>
#include <barid/core/result.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace barid::core {

// The provider instance an attempt goes to, and how many sends per second
// that instance may make across every node sharing the database.
struct PacedRoute {
  std::string instance;  // empty: nothing serves this attempt (the message is not claimed)
  double rate = 0;       // 0: unpaced
  double burst = 1;      // slots a quiet instance may use at once
};

struct ClaimRequest {
  std::string owner;  // the lease owner (the node)
  sdk::Channel channel = sdk::Channel::sms;
  int limit = 100;
  std::chrono::milliseconds lease{60000};
  // Send slots are handed out at most this far ahead: a paced instance's
  // claim takes only what it can send within the horizon.
  std::chrono::milliseconds horizon{1000};
  // The route of attempt n (1-based) on this channel. Attempt 1's instance is
  // the one whose pace bounds the claim.
  std::function<PacedRoute(int attempt)> route;
  // Whose messages: only these tenants' (a tenant's own route), or everyone's
  // but these (the global route, without the tenants that have their own).
  std::vector<TenantId> only_tenants;
  std::vector<TenantId> except_tenants;
};

struct ClaimedMessage {
  Message message;       // `attempts` counts this attempt
  std::string instance;  // where its send slot was reserved
  std::chrono::microseconds send_at{0};                 // its slot, from the claim's clock
  std::optional<std::chrono::microseconds> expires_in;  // its validity left, from the claim's clock
  int share = 1;                                        // its tenant's share of the turns (TenantTurns)
};

struct Claim {
  std::vector<ClaimedMessage> messages;
  int expired = 0;  // due messages found past their validity: ended `expired`, never sent
  // The paced instance has no room in its horizon for this long: look again
  // then (zero when it was not the pace that stopped the claim).
  std::chrono::microseconds room_in{0};
};

// The send slots of one paced instance while a claim reserves them: slot k
// is `first + k / rate`. Every implementation of MessageQueue paces with it.
struct PaceSlots {
  double rate = 0;
  TimePoint first{};  // the first free slot
  int taken = 0;

  // From the instance's stored next free slot (none: never used): a quiet
  // instance has saved up to `burst` slots, which start in the past and go
  // out at once.
  static PaceSlots open(std::optional<TimePoint> next_free, TimePoint now, double rate, double burst);
  TimePoint slot(int k) const;
  TimePoint next_free() const { return slot(taken); }
  // How many messages a claim at `now` may take: the slots that start
  // within the horizon, at most `limit`. Claims come in steps of a quarter
  // horizon at least; with less room than a step, 0 and `room_in` says when
  // a step's worth will be free.
  int allowance(TimePoint now, std::chrono::milliseconds horizon, int limit, std::chrono::microseconds& room_in) const;
};

// Within one priority, a shared instance's send slots go to the tenants
// that have due messages in turn, `share` slots each per turn, so that one
// tenant's backlog delays another's message by a few slots, not by the
// backlog. Every implementation of MessageQueue deals turns with it; the
// cursor (whose turn it is) lives in memory, one per instance and priority.
struct TenantTurns {
  struct Tenant {
    TenantId id = 0;
    int share = 1;
  };
  // The turn is `tenant`'s, which has already had `used` of its share.
  struct Cursor {
    TenantId tenant = 0;
    int used = 0;
  };
  // The tenants of the next `n` slots, in order, among `tenants` (sorted by
  // id), from `cursor` on; moves the cursor past them.
  static std::vector<TenantId> deal(const std::vector<Tenant>& tenants, int n, Cursor& cursor);
};

class MessageQueue {
 public:
  virtual ~MessageQueue() = default;

  // Leases due messages (queued, or scheduled and come due) of one channel
  // to `request.owner`, high priority before normal before low, counting an
  // attempt for each, and reserves a send slot for each on its instance.
  // Within one priority the tenants take turns (TenantTurns), each tenant's
  // messages oldest due first; the claim returns them in the order of
  // their turns.
  // Messages past their validity end `expired` instead. Other nodes skip
  // what this claim locks.
  virtual Result<Claim> claim_due(const ClaimRequest& request) = 0;

  // Records what the provider said. Each outcome is written only while
  // `owner` still holds the message's lease for that attempt; an outcome
  // whose lease was lost changes nothing and writes no event. A value that
  // cannot be stored fails that message's outcome alone. Returns how many
  // outcomes were dropped because the lease was lost.
  virtual Result<int> record_attempts(const std::string& owner, const std::vector<AttemptResult>& results) = 0;

  // Hands leased messages that were never tried back to the queue, taking
  // back their counted attempt (drain, or a send slot too late for the lease).
  virtual Status release(const std::string& owner, const std::vector<MessageId>& ids) = 0;

  // Puts messages whose lease expired (their node died) back in the queue;
  // returns how many. `max_attempts_slack`: a message that already used
  // max_attempts + slack attempts fails instead (it keeps killing nodes).
  virtual Result<int> requeue_expired_leases(int limit, int max_attempts_slack) = 0;
};

}  // namespace barid::core
