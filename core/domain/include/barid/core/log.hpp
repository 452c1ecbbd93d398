#pragma once
// The gateway's own log: one line per event on stderr, UTC timestamps,
// level and component first. Log ids, never message bodies or secrets.

#include <string>
#include <string_view>

namespace barid::core {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

void set_log_level(LogLevel level) noexcept;
LogLevel log_level() noexcept;
bool parse_log_level(std::string_view text, LogLevel& out) noexcept;

// Every line goes through mask_phone_numbers: whatever a caller or a
// provider's error text holds, no phone number reaches the log whole.
void log_line(LogLevel level, std::string_view component, std::string_view message) noexcept;

// `text` with every phone number masked to its first four and last two
// digits ("+966501234567" -> "+9665******67"): a '+' followed by 8 to 15
// digits, or a bare run of 9 to 15 digits that stands alone (not part of a
// word, an id or a hexadecimal run; spaces, punctuation or the ends around
// it). Provider error texts are stored and logged only through it.
std::string mask_phone_numbers(std::string_view text);

inline void log_debug(std::string_view c, std::string_view m) noexcept {
  if (log_level() <= LogLevel::debug) log_line(LogLevel::debug, c, m);
}
inline void log_info(std::string_view c, std::string_view m) noexcept { log_line(LogLevel::info, c, m); }
inline void log_warn(std::string_view c, std::string_view m) noexcept { log_line(LogLevel::warn, c, m); }
inline void log_error(std::string_view c, std::string_view m) noexcept { log_line(LogLevel::error, c, m); }

}  // namespace barid::core
