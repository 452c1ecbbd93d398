#include <barid/core/time.hpp>

#include <cstdio>
#include <ctime>

namespace barid::core {
namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

std::optional<TimePoint> make(int y, int mo, int d, int h, int mi, int se, long long us) noexcept {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  auto tp = sys_days(ymd) + hours(h) + minutes(mi) + seconds(se) + microseconds(us);
  return time_point_cast<microseconds>(tp);
}

void split(TimePoint t, std::tm& tm, long long& us) {
  using namespace std::chrono;
  auto secs = floor<seconds>(t);
  us = (t - secs).count();
  std::time_t tt = Clock::to_time_t(secs);
  gmtime_r(&tt, &tm);
}

}  // namespace

std::string format_db_time(TimePoint t) {
  std::tm tm{};
  long long us = 0;
  split(t, tm, us);
  char buf[128];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06lld", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us);
  return buf;
}

std::string format_iso8601(TimePoint t) {
  std::tm tm{};
  long long us = 0;
  split(t, tm, us);
  char buf[128];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us);
  return buf;
}

std::optional<TimePoint> parse_db_time(std::string_view s) noexcept {
  int y, mo, d, h, mi, se;
  if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || s[10] != ' ' || !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) ||
      s[16] != ':' || !digits(s, 17, 2, se))
    return std::nullopt;
  long long us = 0;
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t start = i;
    int scale = 100000;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (scale > 0) us += (s[i] - '0') * scale;
      scale /= 10;
    }
    if (i == start) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  return make(y, mo, d, h, mi, se, us);
}

std::optional<TimePoint> parse_iso8601(std::string_view s) noexcept {
  int y, mo, d, h, mi, se;
  if (!digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, h) || s[13] != ':' ||
      !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, se))
    return std::nullopt;
  std::size_t i = 19;
  long long us = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int scale = 100000;
    std::size_t start = i;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (scale > 0) us += (s[i] - '0') * scale;
      scale /= 10;
    }
    if (i == start) return std::nullopt;
  }
  if (i >= s.size()) return std::nullopt;
  long long offset_s = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    ++i;
  } else if (s[i] == '+' || s[i] == '-') {
    int oh, om;
    if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(s, i + 4, 2, om))
      return std::nullopt;
    if (oh > 23 || om > 59) return std::nullopt;
    offset_s = (oh * 3600LL + om * 60LL) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  auto t = make(y, mo, d, h, mi, se, us);
  if (!t) return std::nullopt;
  return *t - std::chrono::seconds(offset_s);
}

std::optional<std::chrono::seconds> parse_validity(std::string_view s) noexcept {
  if (s.size() < 2 || s.size() > 9) return std::nullopt;
  long long n = 0;
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    n = n * 10 + (s[i] - '0');
  }
  long long unit = 0;
  switch (s.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return std::nullopt;
  }
  const long long total = n * unit;
  if (total < 1 || total > 30LL * 86400) return std::nullopt;
  return std::chrono::seconds(total);
}

std::string format_validity(std::chrono::seconds s) {
  const long long n = s.count();
  if (n % 86400 == 0) return std::to_string(n / 86400) + "d";
  if (n % 3600 == 0) return std::to_string(n / 3600) + "h";
  if (n % 60 == 0) return std::to_string(n / 60) + "m";
  return std::to_string(n) + "s";
}

}  // namespace barid::core
