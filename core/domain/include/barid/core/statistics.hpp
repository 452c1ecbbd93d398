#pragma once
// Messaging statistics over a time window (by the time messages were
// accepted), aggregated in SQL.

#include <barid/core/time.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace barid::core {

struct Statistics {
  TimePoint from{};
  TimePoint to{};
  std::int64_t total = 0;
  std::map<std::string, std::int64_t> by_channel;
  std::map<std::string, std::int64_t> by_status;
  std::map<std::string, std::int64_t> by_provider;  // instance -> messages it handled
  std::int64_t final_outcomes = 0;                  // delivered + read + undelivered + failed
  std::int64_t successful = 0;                      // delivered + read
  std::optional<double> success_rate;               // successful / final_outcomes, 0..1
  std::map<std::string, std::int64_t> cost_micros_by_currency;
  std::optional<double> median_delivery_seconds;  // accepted -> delivered
  std::optional<double> p95_delivery_seconds;
  std::int64_t retried = 0;            // messages that needed more than one attempt
  std::int64_t retried_successful = 0;  // ... and were delivered (or read) in the end
  std::optional<double> retry_success_rate;
  std::vector<std::pair<std::string, std::int64_t>> top_errors;  // error code -> messages, most first
};

}  // namespace barid::core
