#pragma once
// Which IP addresses the gateway refuses to connect to on a tenant's behalf:
// a webhook URL is a tenant's choice, so an address on the gateway's own
// network (loopback, private ranges, link-local, the cloud metadata service)
// would make the gateway a door into that network.

#include <optional>
#include <string>
#include <string_view>

struct sockaddr;

namespace barid::core {

// What kind of refused address `addr` (AF_INET or AF_INET6) is: "loopback",
// "private (RFC 1918)", "link-local", "cloud metadata", "shared (CGNAT)",
// "unique-local", "multicast", "unspecified", "broadcast", "reserved"; empty
// for a public address. An IPv4 address inside IPv6 (::ffff:a.b.c.d, the
// NAT64 prefix 64:ff9b::/96, ::a.b.c.d) is judged as the IPv4 address. Any
// other family is refused ("not an IP address").
std::string refused_address_kind(const sockaddr* addr);

// The same for a URL's host written as an address: IPv4 in any form the
// system's resolver takes (127.0.0.1, 127.1, 0x7f000001, 2130706433) or IPv6
// in brackets ("[::1]"). nullopt when `host` is a name, not an address;
// "not an IP address" for brackets around something that is not IPv6.
std::optional<std::string> refused_literal_kind(std::string_view host);

}  // namespace barid::core
