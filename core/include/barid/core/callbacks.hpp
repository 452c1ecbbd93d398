#pragma once
// Provider webhooks: the raw request goes to the instance's plugin, which
// checks that it is authentic and turns it into delivery reports and inbound
// messages; reports are applied through the state machine (never backwards).

#include <barid/core/provider_registry.hpp>
#include <barid/core/result.hpp>
#include <barid/core/store.hpp>

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
};

class CallbackProcessor {
 public:
  CallbackProcessor(Store& store, ProviderRegistry& providers) : store_(store), providers_(providers) {}

  // not_found: no such instance; invalid: the plugin rejected the request
  // (message says why; `field` is "signature" for a forbidden request).
  Result<CallbackReply> process(const std::string& instance, const sdk::CallbackRequest& request, const Actor& actor);

 private:
  Store& store_;
  ProviderRegistry& providers_;
};

}  // namespace barid::core
