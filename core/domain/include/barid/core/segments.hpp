#pragma once
// SMS segment counting, the way carriers (and Twilio's segment calculator)
// count: GSM-7 when every character is in the GSM 03.38 basic or extension
// table (extension characters take two septets), UCS-2 otherwise for the
// whole message (counted in UTF-16 code units, so most emoji take two).
// One segment holds 160 septets / 70 units; concatenated segments lose six
// octets to the header and hold 153 / 67. A character (an extension escape
// pair, a surrogate pair, a base character with its combining marks or a
// joined emoji sequence) is never split between segments.

#include <string>
#include <string_view>

namespace barid::core {

enum class Encoding { gsm7, ucs2 };

inline constexpr std::string_view to_string(Encoding e) noexcept {
  return e == Encoding::gsm7 ? "GSM-7" : "UCS-2";
}

struct SegmentCount {
  Encoding encoding = Encoding::gsm7;
  int segments = 1;
  int units = 0;       // septets (GSM-7) or UTF-16 code units (UCS-2)
  int characters = 0;  // Unicode code points
};

// Counts `text` (UTF-8). Invalid UTF-8 bytes count as U+FFFD.
SegmentCount count_segments(std::string_view text);

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates).
bool is_valid_utf8(std::string_view text) noexcept;
// `text` with every byte that is not part of a valid UTF-8 sequence replaced
// by '?': what comes from outside (headers, provider answers) and goes into
// utf8mb4 columns, which refuse invalid bytes.
std::string to_valid_utf8(std::string_view text);
// At most `max_bytes` of `s`, never ending in half a UTF-8 sequence.
std::string truncate_utf8(std::string s, std::size_t max_bytes);

}  // namespace barid::core
