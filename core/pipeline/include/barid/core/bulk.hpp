#pragma once
// Bulk sends: one body or template for many recipients (each with its own
// variables). Every recipient is validated on its own: invalid ones are
// reported with their index and not stored, suppressed ones are stored as
// suppressed, the rest are queued, all in one transaction with the batch.

#include <barid/core/accept_policy.hpp>
#include <barid/core/intake.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace barid::core {

struct BulkRecipient {
  std::string to;
  std::string recipient_id;
  std::string reference;
  std::string language;                          // overrides the request's template language
  std::map<std::string, std::string> variables;  // merged over the request's
};

struct BulkRequest {
  SendRequest common;  // channel, body or template, category, scheduled_at, ... (not `to`)
  std::vector<BulkRecipient> recipients;
};

struct BulkProblem {
  std::size_t index = 0;
  std::string to;
  std::string field;
  std::string detail;
};

struct BulkResult {
  Batch batch;
  bool replayed = false;  // the idempotency key named an earlier batch
  std::vector<BulkProblem> rejected;
  std::vector<BulkProblem> suppressed;
};

class BulkIntake {
 public:
  BulkIntake(MessageIntake& intake, AcceptPolicy& policy, MessageStore& store, std::size_t max_recipients)
      : intake_(intake), policy_(policy), store_(store), max_recipients_(max_recipients) {}

  // invalid when the request itself is wrong or no recipient is valid;
  // conflict when its idempotency key was used with another request.
  Result<BulkResult> submit(const BulkRequest& request, TenantId tenant, const Actor& actor,
                            const std::set<sdk::Channel>& routable);

 private:
  MessageIntake& intake_;
  AcceptPolicy& policy_;
  MessageStore& store_;
  std::size_t max_recipients_;
};

}  // namespace barid::core
