#include <barid/core/money.hpp>

#include <cstdio>
#include <algorithm>
#include <regex>

namespace barid::core {

std::optional<std::int64_t> parse_money(const std::string& text) {
  static const std::regex re("([0-9]{1,12})(?:\\.([0-9]{1,6}))?");
  std::smatch m;
  if (!std::regex_match(text, m, re)) return std::nullopt;
  std::string frac = m[2].matched ? m[2].str() : "";
  frac.resize(6, '0');
  return std::stoll(m[1].str()) * 1000000 + std::stoll(frac);
}

std::string money_text(std::int64_t micros) {
  const bool negative = micros < 0;
  const unsigned long long v =
      negative ? 0ULL - static_cast<unsigned long long>(micros) : static_cast<unsigned long long>(micros);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%llu.%06llu", negative ? "-" : "", v / 1000000, v % 1000000);
  return buf;
}

bool is_currency_code(const std::string& text) {
  return text.size() == 3 && std::all_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace barid::core
