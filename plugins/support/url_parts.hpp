#pragma once
// Pieces of a URL a webhook parser needs.

#include <barid/sdk/encoding.hpp>

#include <string>
#include <string_view>

namespace barid::plugins::support {

// The query string of `url` without '?' and without a fragment ("" if none).
std::string_view query_string(std::string_view url);

// The decoded query parameters of `url`, in order.
sdk::FormFields query_params(std::string_view url);

// `url` with name=value appended to its query string (percent-encoded).
std::string with_query_param(std::string url, std::string_view name, std::string_view value);

}  // namespace barid::plugins::support
