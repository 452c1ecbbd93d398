#include "support/decimal_money.hpp"

#include <cmath>
#include <limits>

namespace barid::plugins::support {

std::optional<std::int64_t> parse_decimal_micros(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  bool negative = false;
  if (text.front() == '-' || text.front() == '+') {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  constexpr std::int64_t kMaxUnits = std::numeric_limits<std::int64_t>::max() / 1'000'000 - 1;
  std::int64_t units = 0;
  std::size_t i = 0;
  bool any_digit = false;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    any_digit = true;
    units = units * 10 + (text[i] - '0');
    if (units > kMaxUnits) return std::nullopt;
  }
  std::int64_t fraction = 0;
  int fraction_digits = 0;
  bool round_up = false;
  if (i < text.size() && text[i] == '.') {
    ++i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      any_digit = true;
      if (fraction_digits < 6) {
        fraction = fraction * 10 + (text[i] - '0');
        ++fraction_digits;
      } else if (fraction_digits == 6) {
        round_up = text[i] >= '5';
        ++fraction_digits;  // later digits do not matter for half-away-from-zero
      }
    }
  }
  if (i != text.size() || !any_digit) return std::nullopt;
  for (int d = std::min(fraction_digits, 6); d < 6; ++d) fraction *= 10;
  std::int64_t micros = units * 1'000'000 + fraction + (round_up ? 1 : 0);
  return negative ? -micros : micros;
}

std::optional<std::int64_t> micros_from_double(double value) {
  if (!std::isfinite(value)) return std::nullopt;
  const double micros = std::round(value * 1e6);
  if (std::fabs(micros) >= 9.0e18) return std::nullopt;
  return static_cast<std::int64_t>(micros);
}

}  // namespace barid::plugins::support
