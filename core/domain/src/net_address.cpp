#include <barid/core/net_address.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>

namespace barid::core {
namespace {

bool in(std::uint32_t a, std::uint32_t net, int bits) {
  const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
  return (a & mask) == (net & mask);
}

constexpr std::uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) { return a << 24 | b << 16 | c << 8 | d; }

// `a` in host byte order.
std::string ipv4_kind(std::uint32_t a) {
  if (a == v4(169, 254, 169, 254)) return "cloud metadata";
  if (in(a, v4(0, 0, 0, 0), 8)) return "unspecified";
  if (in(a, v4(127, 0, 0, 0), 8)) return "loopback";
  if (in(a, v4(10, 0, 0, 0), 8) || in(a, v4(172, 16, 0, 0), 12) || in(a, v4(192, 168, 0, 0), 16))
    return "private (RFC 1918)";
  if (in(a, v4(169, 254, 0, 0), 16)) return "link-local";
  if (in(a, v4(100, 64, 0, 0), 10)) return "shared (CGNAT)";
  if (in(a, v4(224, 0, 0, 0), 4)) return "multicast";
  if (a == v4(255, 255, 255, 255)) return "broadcast";
  if (in(a, v4(240, 0, 0, 0), 4)) return "reserved";
  return {};
}

std::uint32_t embedded_v4(const unsigned char* b) {
  return std::uint32_t{b[12]} << 24 | std::uint32_t{b[13]} << 16 | std::uint32_t{b[14]} << 8 | b[15];
}

std::string ipv6_kind(const in6_addr& addr) {
  const unsigned char* b = addr.s6_addr;
  static const unsigned char zero[16] = {};
  static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  static const unsigned char metadata[16] = {0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
  if (std::memcmp(b, zero, 16) == 0) return "unspecified";
  if (std::memcmp(b, zero, 15) == 0 && b[15] == 1) return "loopback";
  if (std::memcmp(b, mapped, 12) == 0 || std::memcmp(b, nat64, 12) == 0 || std::memcmp(b, zero, 12) == 0)
    return ipv4_kind(embedded_v4(b));
  if (std::memcmp(b, metadata, 16) == 0) return "cloud metadata";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "site-local";
  if ((b[0] & 0xfe) == 0xfc) return "unique-local";
  if (b[0] == 0xff) return "multicast";
  return {};
}

}  // namespace

std::string refused_address_kind(const sockaddr* addr) {
  if (!addr) return "not an IP address";
  if (addr->sa_family == AF_INET) {
    sockaddr_in in4{};
    std::memcpy(&in4, addr, sizeof in4);
    return ipv4_kind(ntohl(in4.sin_addr.s_addr));
  }
  if (addr->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, addr, sizeof in6);
    return ipv6_kind(in6.sin6_addr);
  }
  return "not an IP address";
}

std::optional<std::string> refused_literal_kind(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::string("not an IP address");
    const std::string inner(host.substr(1, host.size() - 2));
    in6_addr a6{};
    if (inet_pton(AF_INET6, inner.c_str(), &a6) != 1) return std::string("not an IP address");
    return ipv6_kind(a6);
  }
  const std::string text(host);
  in_addr a4{};
  // inet_aton, as the resolver: 127.1 and 2130706433 are 127.0.0.1 too.
  if (text.empty() || inet_aton(text.c_str(), &a4) == 0) return std::nullopt;
  return ipv4_kind(ntohl(a4.s_addr));
}

}  // namespace barid::core
