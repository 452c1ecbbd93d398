#pragma once
// The provider instances in service and the channel routing, as one
// immutable snapshot that can be replaced as a whole (configuration reload)
// while dispatchers keep using the one they hold.

#include <barid/core/plugin_host.hpp>
#include <barid/sdk/types.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace barid::core {

struct ProviderSlot {
  std::shared_ptr<ProviderInstance> instance;
  // Sends per second across every node (0: unpaced), with bursts of
  // `burst` after a quiet spell; see MessageQueue::claim_due.
  double rate = 0;
  double burst = 1;
  // The longest a send can take (the instance's HTTP timeout): a node never
  // starts a send that could outlive its lease.
  std::chrono::milliseconds send_timeout{30000};
  std::optional<sdk::Money> price_per_segment;  // for estimates (template preflight)
  // The tenant (a name) that inbound messages no tenant's recent message
  // explains belong to; empty: none (they are kept for the operator).
  std::string default_tenant;
  // Everything the instance was configured with: a reload keeps the instance
  // when this is unchanged.
  std::string fingerprint;
};

struct Route {
  std::string primary;
  std::vector<std::string> fallbacks;
  int primary_attempts = 0;  // attempts on the primary before the fallbacks (0: never fall back)
};

struct ProviderSet {
  std::map<std::string, ProviderSlot> instances;
  std::map<sdk::Channel, Route> routes;

  const ProviderSlot* find(const std::string& name) const;
  // The instance to use for the given attempt (1-based) on `channel`, or on
  // `route`.
  const ProviderSlot* pick(sdk::Channel channel, int attempt) const;
  const ProviderSlot* pick(const Route& route, int attempt) const;
  bool routes_channel(sdk::Channel channel) const { return routes.count(channel) > 0; }
};

class ProviderRegistry {
 public:
  std::shared_ptr<const ProviderSet> snapshot() const;
  void replace(std::shared_ptr<const ProviderSet> next);

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const ProviderSet> current_ = std::make_shared<ProviderSet>();
};

}  // namespace barid::core
