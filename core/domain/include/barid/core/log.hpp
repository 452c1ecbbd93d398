#pragma once
// The gateway's own log: one line per event on stderr, UTC timestamps,
// level and component first. Log ids, never message bodies or secrets.

#include <string_view>

namespace barid::core {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

void set_log_level(LogLevel level) noexcept;
LogLevel log_level() noexcept;
bool parse_log_level(std::string_view text, LogLevel& out) noexcept;

void log_line(LogLevel level, std::string_view component, std::string_view message) noexcept;

inline void log_debug(std::string_view c, std::string_view m) noexcept {
  if (log_level() <= LogLevel::debug) log_line(LogLevel::debug, c, m);
}
inline void log_info(std::string_view c, std::string_view m) noexcept { log_line(LogLevel::info, c, m); }
inline void log_warn(std::string_view c, std::string_view m) noexcept { log_line(LogLevel::warn, c, m); }
inline void log_error(std::string_view c, std::string_view m) noexcept { log_line(LogLevel::error, c, m); }

}  // namespace barid::core
