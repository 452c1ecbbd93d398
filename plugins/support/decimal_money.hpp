#pragma once
// Prices as providers send them ("-0.00750", 0.0375) turned into the SDK's
// exact millionths.

#include <cstdint>
#include <optional>
#include <string_view>

namespace barid::plugins::support {

// A decimal number ("-0.00750", "12", "+3.5", ".5") in millionths, rounded
// half away from zero after the sixth fraction digit; nullopt when it is not
// a plain decimal number (no exponent, no thousands separators) or does not
// fit.
std::optional<std::int64_t> parse_decimal_micros(std::string_view text);

// A JSON number in millionths, rounded to the nearest; nullopt when it is not
// finite or does not fit.
std::optional<std::int64_t> micros_from_double(double value);

}  // namespace barid::plugins::support
