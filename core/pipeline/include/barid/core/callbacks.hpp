#pragma once
// Provider callbacks, the requests providers send to
// POST /webhooks/{instance}/{kind} (providers call them webhooks; the events
// Barid sends to tenants' endpoints are WebhookSender's): the raw request
// goes to the instance's plugin, which checks that it is authentic and turns
// it into delivery reports and inbound messages; reports are applied through
// the state machine (never backwards).
// An inbound message is kept, with the tenant it belongs to (see
// InboundRecord), and records when its sender last wrote (the WhatsApp
// 24-hour window); STOP opts the sender out of that channel for the tenants
// the instance serves (OptOutScope), START opts them back in there.

#include <barid/core/opt_out_scope.hpp>
#include <barid/core/phone.hpp>
#include <barid/core/provider_registry.hpp>
#include <barid/core/result.hpp>
#include <barid/core/store.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace barid::core {

struct CallbackReply {
  int http_status = 200;
  std::string body;
  std::string content_type = "text/plain";
  // Counts, for the log and the tests.
  int applied = 0;
  int ignored = 0;
  int unknown = 0;
  int inbound = 0;
  int opted_out = 0;
  int opted_in = 0;
  int duplicates = 0;  // inbound messages handled before (by provider id)
  int unassigned = 0;  // inbound messages kept for no tenant
  int replied = 0;     // inbound messages that answered a message's question
};

class CallbackProcessor {
 public:
  // `assignment_window`: how long after a tenant last sent to a number a
  // message from that number is taken to be for that tenant.
  CallbackProcessor(DeliveryReports& reports, RecipientStore& recipients, ProviderRegistry& providers,
                    PhoneNormalizer phones, std::chrono::seconds assignment_window = std::chrono::hours(24 * 7))
      : reports_(reports),
        recipients_(recipients),
        providers_(providers),
        phones_(std::move(phones)),
        assignment_window_(assignment_window) {}

  // Reports and inbound messages one request may carry; a request with more
  // is refused whole (providers send a handful; more is a replay or a flood).
  static constexpr std::size_t kMaxItems = 1000;
  // The body a callback may have, checked before the plugin parses it.
  static constexpr std::size_t kMaxBodyBytes = 1 << 20;

  // not_found: no such instance; invalid: the plugin rejected the request
  // (message says why; `field` is "signature" for a forbidden request), or
  // it is over the limits above ("body").
  Result<CallbackReply> process(const std::string& instance, const sdk::CallbackRequest& request, const Actor& actor);

  // Tenants routed to their own instances, asked when a STOP or START
  // arrives: they decide which tenants it is for (OptOutScope). Unset: none.
  using TenantRoutesSource = std::function<std::shared_ptr<const TenantRoutes>()>;
  void set_tenant_routes(TenantRoutesSource routes) { tenant_routes_ = std::move(routes); }

 private:
  Status handle_inbound(const ProviderSet& set, const ProviderSlot& slot, const std::string& instance,
                        const sdk::InboundMessage& m, CallbackReply& reply);

  DeliveryReports& reports_;
  RecipientStore& recipients_;
  ProviderRegistry& providers_;
  PhoneNormalizer phones_;
  std::chrono::seconds assignment_window_;
  TenantRoutesSource tenant_routes_;
};

}  // namespace barid::core
