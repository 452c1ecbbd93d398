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

// A token bucket: `rate` sends per second with bursts of `burst`.
class RateLimiter {
 public:
  RateLimiter(double rate, double burst);
  // Blocks until a token is available or `deadline` passes; false on timeout.
  bool acquire(std::chrono::steady_clock::time_point deadline);

 private:
  std::mutex mutex_;
  double rate_, burst_, tokens_;
  std::chrono::steady_clock::time_point last_;
};

struct ProviderSlot {
  std::shared_ptr<ProviderInstance> instance;
  std::shared_ptr<RateLimiter> limiter;  // null: unlimited
  std::optional<sdk::Money> price_per_segment;  // for estimates (template preflight)
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
  // The instance to use for the given attempt (1-based) on `channel`.
  const ProviderSlot* pick(sdk::Channel channel, int attempt) const;
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
