#pragma once
// Time as the gateway stores and shows it: UTC everywhere, microseconds.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace barid::core {

using Clock = std::chrono::system_clock;
using TimePoint = std::chrono::time_point<Clock, std::chrono::microseconds>;

inline TimePoint now_us() noexcept { return std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now()); }

// "2026-11-25 04:48:32.123456" (a MySQL DATETIME(6) literal, UTC)
std::string format_db_time(TimePoint t);
std::optional<TimePoint> parse_db_time(std::string_view s) noexcept;

// RFC 3339 / ISO 8601 in UTC: "2026-11-25T04:48:32.123456Z"
std::string format_iso8601(TimePoint t);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)"; a time zone is required.
std::optional<TimePoint> parse_iso8601(std::string_view s) noexcept;

// A message's validity: a whole number and a unit, "90s", "30m", "2h" or
// "1d"; from 1 second to 30 days.
std::optional<std::chrono::seconds> parse_validity(std::string_view s) noexcept;
std::string format_validity(std::chrono::seconds s);

}  // namespace barid::core
