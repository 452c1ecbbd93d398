#pragma once
// Provider instances' health: checking every instance (the provider-health
// job, jobs.hpp) and recording what a check or a send found out, which
// GET /v1/providers and GET /ready show.

#include <barid/core/provider_registry.hpp>
#include <barid/core/store.hpp>

#include <stop_token>
#include <string>

namespace barid::core {

// Calls check_health on every provider instance and records the result.
class HealthMonitor {
 public:
  HealthMonitor(JobStore& store, ProviderRegistry& providers, std::string node)
      : store_(store), providers_(providers), node_(std::move(node)) {}
  // Returns a one-line summary.
  std::string check_all(std::stop_token stop = {});
  // Records what is known of one instance's health (a check, or what a send
  // found out), and logs it when it is not healthy.
  void record(const std::string& instance, const sdk::HealthReport& report);

 private:
  JobStore& store_;
  ProviderRegistry& providers_;
  std::string node_;
};

}  // namespace barid::core
