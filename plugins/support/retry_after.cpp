#include "support/retry_after.hpp"

#include <array>
#include <charconv>
#include <ctime>
#include <algorithm>
#include <string>
#include <vector>

namespace barid::plugins::support {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool read_int(std::string_view s, int& out) {
  if (!all_digits(s)) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

int month_index(std::string_view m) {
  static constexpr std::array<std::string_view, 12> names = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == m) return static_cast<int>(i);
  return -1;
}

bool read_clock(std::string_view s, std::tm& tm) {
  // hh:mm:ss
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return false;
  return read_int(s.substr(0, 2), tm.tm_hour) && read_int(s.substr(3, 2), tm.tm_min) &&
         read_int(s.substr(6, 2), tm.tm_sec) && tm.tm_hour < 24 && tm.tm_min < 60 && tm.tm_sec <= 60;
}

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view value) {
  value = trim(value);
  std::tm tm{};
  auto parts = split_spaces(value);
  int day = 0, year = 0;
  if (parts.size() == 6 && parts[0].size() == 4 && parts[0].back() == ',' && parts[5] == "GMT") {
    // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    if (!read_int(parts[1], day)) return std::nullopt;
    tm.tm_mon = month_index(parts[2]);
    if (!read_int(parts[3], year) || !read_clock(parts[4], tm)) return std::nullopt;
  } else if (parts.size() == 4 && !parts[0].empty() && parts[0].back() == ',' && parts[3] == "GMT") {
    // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
    std::string_view d = parts[1];
    if (d.size() != 9 || d[2] != '-' || d[6] != '-') return std::nullopt;
    if (!read_int(d.substr(0, 2), day) || !read_int(d.substr(7, 2), year)) return std::nullopt;
    tm.tm_mon = month_index(d.substr(3, 3));
    year += year < 70 ? 2000 : 1900;
    if (!read_clock(parts[2], tm)) return std::nullopt;
  } else if (parts.size() == 5) {
    // asctime: Sun Nov  6 08:49:37 1994
    tm.tm_mon = month_index(parts[1]);
    if (!read_int(parts[2], day) || !read_clock(parts[3], tm) || !read_int(parts[4], year)) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (tm.tm_mon < 0 || day < 1 || day > 31 || year < 1970 || year > 9999) return std::nullopt;
  tm.tm_mday = day;
  tm.tm_year = year - 1900;
  const std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (all_digits(value)) {
    if (value.size() > 9) return kMaxRetryAfter;  // more than 31 years: clamp
    long long seconds_value = 0;
    std::from_chars(value.data(), value.data() + value.size(), seconds_value);
    return std::min(duration_cast<milliseconds>(seconds(seconds_value)), kMaxRetryAfter);
  }
  auto when = parse_http_date(value);
  if (!when) return std::nullopt;
  if (*when <= now) return milliseconds(0);
  return std::min(duration_cast<milliseconds>(*when - now), kMaxRetryAfter);
}

}  // namespace barid::plugins::support
