#include "support/url_parts.hpp"

namespace barid::plugins::support {

std::string_view query_string(std::string_view url) {
  auto hash = url.find('#');
  if (hash != std::string_view::npos) url = url.substr(0, hash);
  auto q = url.find('?');
  if (q == std::string_view::npos) return {};
  return url.substr(q + 1);
}

sdk::FormFields query_params(std::string_view url) { return sdk::form_decode(query_string(url)); }

std::string with_query_param(std::string url, std::string_view name, std::string_view value) {
  url.push_back(url.find('?') == std::string::npos ? '?' : '&');
  url += sdk::url_encode(name);
  url.push_back('=');
  url += sdk::url_encode(value);
  return url;
}

}  // namespace barid::plugins::support
