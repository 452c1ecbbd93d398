#include <barid/core/health_monitor.hpp>

#include <barid/core/log.hpp>

namespace barid::core {

std::string HealthMonitor::check_all(std::stop_token stop) {
  auto set = providers_.snapshot();
  std::string summary;
  for (const auto& [name, slot] : set->instances) {
    if (stop.stop_requested()) break;
    const sdk::HealthReport h = slot.instance->provider().check_health();
    record(name, h);
    summary += (summary.empty() ? "" : ", ") + name + " " + std::string(sdk::to_string(h.state));
  }
  return summary.empty() ? "no provider instance" : summary;
}

void HealthMonitor::record(const std::string& instance, const sdk::HealthReport& report) {
  if (auto st = store_.save_provider_health(instance, report, node_); !st)
    log_warn("health", "cannot record the health of " + instance + ": " + st.error().message);
  if (report.state != sdk::HealthState::healthy)
    log_warn("health", instance + " is " + std::string(sdk::to_string(report.state)) + ": " + report.detail);
}

}  // namespace barid::core
