#include <barid/core/log.hpp>

#include <atomic>
#include <cctype>
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

bool starts_with_ci(std::string_view text, std::size_t at, std::string_view prefix) {
  if (text.size() - at < prefix.size()) return false;
  for (std::size_t k = 0; k < prefix.size(); ++k)
    if (std::tolower(static_cast<unsigned char>(text[at + k])) != prefix[k]) return false;
  return true;
}

// A number as people and clients write one: digits in groups that one space,
// a hyphen or parentheses separate ("966 50 123 4567", "+1 (415) 555-0199").
struct NumberRun {
  std::size_t end = 0;  // just past the last digit
  std::string digits;
};

NumberRun scan_number(std::string_view text, std::size_t at) {
  NumberRun run;
  run.end = at;
  std::size_t i = at;
  while (i < text.size()) {
    if (is_digit(text[i])) {
      run.digits += text[i++];
      run.end = i;
      continue;
    }
    // At most two separators in a row (") "), then a digit or '(' must follow.
    std::size_t j = i, seps = 0;
    while (j < text.size() && seps < 2 && (text[j] == ' ' || text[j] == '-' || text[j] == '(' || text[j] == ')')) {
      ++j;
      ++seps;
    }
    if (seps == 0 || j >= text.size() || !is_digit(text[j])) break;
    i = j;
  }
  return run;
}

bool stands_alone(std::string_view text, std::size_t end) {
  if (end == text.size()) return true;
  const char c = text[end];
  if (c == ')') return true;
  if (!joins(c)) return true;
  if (c == '.' && (end + 1 == text.size() || !is_digit(text[end + 1]))) return true;
  return c == ':' && (end + 1 == text.size() || text[end + 1] == ' ');
}

}  // namespace

std::string mask_phone_numbers(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const bool free_start = i == 0 || !joins(text[i - 1]);
    // "tel:" and a percent-encoded '+' lead into a number.
    if (free_start && starts_with_ci(text, i, "tel:")) {
      out.append(text.substr(i, 4));
      i += 4;
      if (i < text.size() && (is_digit(text[i]) || text[i] == '+')) {
        // falls through to the number below, as if it stood alone
      } else {
        continue;
      }
    } else if (!(text[i] == '+' || is_digit(text[i]) ||
                 (text[i] == '%' && starts_with_ci(text, i, "%2b"))) ||
               !(free_start || text[i] == '+' || text[i] == '%')) {
      out += text[i++];
      continue;
    }
    std::string_view prefix;
    if (text[i] == '+') prefix = text.substr(i, 1);
    else if (text[i] == '%') prefix = text.substr(i, 3);
    const std::size_t start = i + prefix.size();
    NumberRun run = scan_number(text, start);
    const std::size_t n = run.digits.size();
    const bool plus = !prefix.empty();
    if (n > 0 && stands_alone(text, run.end) && n <= 15 && (plus ? n >= 8 : n >= 9)) {
      out.append(prefix);
      out.append(run.digits, 0, 4);
      out.append(n - 6, '*');
      out.append(run.digits, n - 2, 2);
      i = run.end;
      continue;
    }
    // Not a number: what the old reading took, the sign and the first group.
    if (start < text.size() && is_digit(text[start])) {
      std::size_t e = start;
      while (e < text.size() && is_digit(text[e])) ++e;
      out.append(text.substr(i, e - i));
      i = e;
    } else {
      out += text[i++];
    }
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
