#include "client_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace barid::gateway {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool in_range(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& net, int prefix) {
  const int full = prefix / 8;
  if (std::memcmp(a.data(), net.data(), static_cast<std::size_t>(full)) != 0) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (a[static_cast<std::size_t>(full)] & mask) == (net[static_cast<std::size_t>(full)] & mask);
}

}  // namespace

std::optional<std::array<std::uint8_t, 16>> parse_ip(std::string_view text) noexcept {
  text = trim(text);
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::array<std::uint8_t, 16> out{};
  in_addr v4{};
  if (inet_pton(AF_INET, buf, &v4) == 1) {
    out[10] = out[11] = 0xFF;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, buf, &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

core::Result<TrustedProxies> TrustedProxies::parse(const std::vector<std::string>& ranges, const std::string& field) {
  TrustedProxies out;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const std::string f = field + "[" + std::to_string(i) + "]";
    const std::string& text = ranges[i];
    const auto slash = text.find('/');
    auto ip = parse_ip(std::string_view(text).substr(0, slash));
    if (!ip) return core::Error::invalid(f, f + ": '" + text + "' is not an IP address or CIDR range");
    const bool v4 = text.find(':') == std::string::npos;
    Range r;
    r.net = *ip;
    r.prefix = 128;
    if (slash != std::string::npos) {
      const std::string len = text.substr(slash + 1);
      const int max = v4 ? 32 : 128;
      if (len.empty() || len.size() > 3 || !std::all_of(len.begin(), len.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
          std::stoi(len) > max)
        return core::Error::invalid(f, f + ": '" + text + "' has no valid prefix length (0 to " + std::to_string(max) + ")");
      r.prefix = std::stoi(len) + (v4 ? 96 : 0);
    }
    out.ranges_.push_back(r);
  }
  return out;
}

bool TrustedProxies::contains(std::string_view address) const noexcept {
  auto ip = parse_ip(address);
  if (!ip) return false;
  return std::any_of(ranges_.begin(), ranges_.end(), [&](const Range& r) { return in_range(*ip, r.net, r.prefix); });
}

std::string TrustedProxies::client_address(std::string_view peer, std::string_view forwarded_for) const {
  std::string client(peer);
  if (ranges_.empty() || !contains(peer)) return client;
  // Right to left: each hop was appended by the proxy after it.
  std::string_view rest = forwarded_for;
  while (!rest.empty()) {
    const auto comma = rest.rfind(',');
    const std::string_view hop = trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    if (!parse_ip(hop)) break;  // not an address: believe nothing further left
    client = std::string(hop);
    if (!contains(hop)) break;
  }
  return client;
}

}  // namespace barid::gateway
