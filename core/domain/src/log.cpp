#include <barid/core/log.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace barid::core {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
std::mutex g_mutex;

const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::debug: return "DEBUG";
    case LogLevel::info: return "INFO";
    case LogLevel::warn: return "WARN";
    case LogLevel::error: return "ERROR";
  }
  return "?";
}
}  // namespace

void set_log_level(LogLevel level) noexcept { g_level.store(static_cast<int>(level)); }
LogLevel log_level() noexcept { return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed)); }

bool parse_log_level(std::string_view t, LogLevel& out) noexcept {
  if (t == "debug") out = LogLevel::debug;
  else if (t == "info") out = LogLevel::info;
  else if (t == "warn") out = LogLevel::warn;
  else if (t == "error") out = LogLevel::error;
  else return false;
  return true;
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
// Part of a word, an id or a hex run: a number next to one is not a phone number.
bool joins(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_' || c == '.' ||
         c == ':' || c == '/';
}

}  // namespace

std::string mask_phone_numbers(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const bool plus = text[i] == '+';
    const std::size_t start = plus ? i + 1 : i;
    if ((plus || is_digit(text[i])) && (i == 0 || !joins(text[i - 1]) || plus)) {
      std::size_t end = start;
      while (end < text.size() && is_digit(text[end])) ++end;
      const std::size_t digits = end - start;
      const bool alone = end == text.size() || !joins(text[end]) ||
                         (text[end] == '.' && (end + 1 == text.size() || !is_digit(text[end + 1]))) ||
                         (text[end] == ':' && (end + 1 == text.size() || text[end + 1] == ' '));
      if (alone && digits <= 15 && (plus ? digits >= 8 : digits >= 9)) {
        if (plus) out += '+';
        out.append(text.substr(start, 4));
        out.append(digits - 6, '*');
        out.append(text.substr(end - 2, 2));
        i = end;
        continue;
      }
      if (digits > 0) {
        out.append(text.substr(i, end - i));
        i = end;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

void log_line(LogLevel level, std::string_view component, std::string_view message) noexcept {
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) return;
  try {
    auto now = std::chrono::system_clock::now();
    auto secs = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[64];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    std::string line;
    line.reserve(64 + component.size() + message.size());
    line += ts;
    line += ' ';
    line += level_name(level);
    line += ' ';
    line += component;
    line += ": ";
    line += mask_phone_numbers(message);
    line += '\n';
    std::lock_guard lock(g_mutex);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  } catch (...) {
  }
}

}  // namespace barid::core
