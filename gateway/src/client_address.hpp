#pragma once
// Who is calling: the peer's address, or, behind trusted reverse proxies or
// load balancers, the client's address they report in X-Forwarded-For. Only
// hops from trusted proxies are believed, so a client cannot put a false
// address in the audit trail by sending the header itself.

#include <barid/core/result.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace barid::gateway {

class TrustedProxies {
 public:
  TrustedProxies() = default;
  // Addresses or CIDR ranges, IPv4 or IPv6 ("10.0.0.0/8", "127.0.0.1",
  // "fd00::/8"). An error names `field`[index].
  static core::Result<TrustedProxies> parse(const std::vector<std::string>& ranges, const std::string& field);

  bool empty() const noexcept { return ranges_.empty(); }
  bool contains(std::string_view address) const noexcept;

  // The client's address for a request from `peer`: the peer itself unless
  // it is a trusted proxy; then X-Forwarded-For is read from the right, past
  // every trusted proxy, to the first address that is not one.
  std::string client_address(std::string_view peer, std::string_view forwarded_for) const;

 private:
  struct Range {
    std::array<std::uint8_t, 16> net{};
    int prefix = 128;  // IPv4 is held as IPv4-mapped IPv6 (prefix + 96)
  };
  std::vector<Range> ranges_;
};

// An IP address as 16 bytes (IPv4 mapped into IPv6); nullopt when it is not one.
std::optional<std::array<std::uint8_t, 16>> parse_ip(std::string_view text) noexcept;

}  // namespace barid::gateway
