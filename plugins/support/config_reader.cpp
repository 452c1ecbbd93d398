#include "support/config_reader.hpp"

namespace barid::plugins::support {

std::optional<bool> parse_bool(std::string_view value) {
  std::string v;
  for (char c : value) v.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  return std::nullopt;
}

std::string ConfigReader::text(const std::string& key) const {
  std::string v = config_.get(key);
  auto b = v.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  auto e = v.find_last_not_of(" \t\r\n");
  return v.substr(b, e - b + 1);
}

bool ConfigReader::fail(const std::string& key, const std::string& why) {
  error_ = "config key '" + key + "' " + why;
  return false;
}

bool ConfigReader::boolean(const std::string& key, bool& out) {
  const std::string v = text(key);
  auto b = parse_bool(v);
  if (!b) return fail(key, "must be true or false (got '" + v + "')");
  out = *b;
  return true;
}

bool ConfigReader::base_url(const std::string& key, std::string& out) {
  std::string v = text(key);
  const bool http = v.rfind("http://", 0) == 0;
  const bool https = v.rfind("https://", 0) == 0;
  if (!http && !https) return fail(key, "must be an http:// or https:// URL (got '" + v + "')");
  while (!v.empty() && v.back() == '/') v.pop_back();
  const std::size_t host_start = http ? 7 : 8;
  if (v.size() <= host_start) return fail(key, "must name a host");
  if (v.find_first_of("?# ") != std::string::npos)
    return fail(key, "must not contain a query, a fragment or blanks");
  out = std::move(v);
  return true;
}

}  // namespace barid::plugins::support
