#pragma once
// The HTTP Retry-After header (RFC 9110 10.2.3): delay-seconds or an
// HTTP-date.

#include <chrono>
#include <optional>
#include <string_view>

namespace barid::plugins::support {

// Longest wait a provider may ask for; a larger value (or a date far in the
// future) is clamped to this, so a garbled header cannot park a message.
inline constexpr std::chrono::milliseconds kMaxRetryAfter = std::chrono::hours(24);

// The delay the header asks for, measured from `now` for an HTTP-date (a date
// in the past gives zero); nullopt when the value is empty or unreadable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now);

// An HTTP-date in any of the three forms RFC 9110 accepts (IMF-fixdate,
// obsolete RFC 850, asctime); nullopt when unreadable.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view value);

}  // namespace barid::plugins::support
