#pragma once
// Amounts of money as text: "0.0075" <-> 7500 millionths (sdk::Money keeps
// millionths so that sums are exact).

#include <cstdint>
#include <optional>
#include <string>

namespace barid::core {

// "0.0075" -> 7500; up to twelve digits before the point and six after.
std::optional<std::int64_t> parse_money(const std::string& text);
// 7500 -> "0.007500"
std::string money_text(std::int64_t micros);
// An ISO 4217 code: three upper-case letters.
bool is_currency_code(const std::string& text);

}  // namespace barid::core
