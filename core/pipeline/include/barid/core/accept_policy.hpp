#pragma once
// What the accept path decides with the database's help, for a whole batch of
// messages at once (one preferences query and one opt-out query per tenant
// and batch): template rendering with language fallback, recipient
// preferences, opt-outs. A message the recipient does not want is stored as
// suppressed, with the reason.

#include <barid/core/intake_limits.hpp>
#include <barid/core/message.hpp>
#include <barid/core/result.hpp>
#include <barid/core/store.hpp>
#include <barid/core/template_catalog.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace barid::core {

class AcceptPolicy {
 public:
  AcceptPolicy(RecipientStore& recipients, TemplateCatalog& catalog, IntakeLimits limits)
      : recipients_(recipients), catalog_(catalog), limits_(limits) {}

  // The price per segment of the instance that serves a channel (nullopt:
  // none configured), for the estimated cost that spend caps count:
  // `instance` is the tenant's own route's, or empty for the global route.
  using Pricing = std::function<std::optional<sdk::Money>(sdk::Channel, const std::string& instance)>;
  void set_pricing(Pricing pricing) { pricing_ = std::move(pricing); }
  // The sender of the instance that serves a channel's global route, shared
  // by the tenants without a route of their own (empty: it names none, the
  // provider picks it). Such a tenant with no allowed_senders for the
  // channel may send only from it: `from` naming another is a 422 `from`.
  // Unset: no such rule.
  using SharedSender = std::function<std::string(sdk::Channel)>;
  void set_shared_sender(SharedSender sender) { shared_sender_ = std::move(sender); }

  // Completes `batch` in place (renders templates, applies the tenant's
  // rules, preferences and opt-outs, and sets each message's usage charge
  // with the tenant's quotas and spend cap for the store to check). The
  // result has one entry per message: nullopt when it may be stored, else
  // the error to answer with. An error for the whole call means the database
  // could not be asked (nothing should be stored). `single_sends`: the
  // messages are POST /v1/messages calls, held to the tenant's
  // sends_per_second on this node.
  Result<std::vector<std::optional<Error>>> apply(std::vector<NewMessage>& batch, bool single_sends = true);

 private:
  bool take_send(TenantId tenant, int per_second);

  RecipientStore& recipients_;
  TemplateCatalog& catalog_;
  IntakeLimits limits_;
  Pricing pricing_;
  SharedSender shared_sender_;
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point at{};
  };
  std::mutex buckets_mutex_;
  std::map<TenantId, Bucket> buckets_;
};

}  // namespace barid::core
