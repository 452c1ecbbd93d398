#include "client_address.hpp"

#include <gtest/gtest.h>

namespace barid::gateway {
namespace {

TrustedProxies proxies(std::vector<std::string> ranges) {
  auto p = TrustedProxies::parse(ranges, "server.trusted_proxies");
  EXPECT_TRUE(p) << p.error().message;
  return p ? *p : TrustedProxies{};
}

TEST(TrustedProxies, MatchesAddressesAndRanges) {
  auto p = proxies({"10.0.0.0/8", "192.168.1.7", "fd00::/8", "2001:db8::1"});
  EXPECT_TRUE(p.contains("10.1.2.3"));
  EXPECT_TRUE(p.contains("10.255.255.255"));
  EXPECT_FALSE(p.contains("11.0.0.1"));
  EXPECT_TRUE(p.contains("192.168.1.7"));
  EXPECT_FALSE(p.contains("192.168.1.8"));
  EXPECT_TRUE(p.contains("fd12:3456::1"));
  EXPECT_TRUE(p.contains("[fd12:3456::1]"));
  EXPECT_TRUE(p.contains("2001:db8::1"));
  EXPECT_FALSE(p.contains("2001:db8::2"));
  EXPECT_TRUE(p.contains("::ffff:10.9.9.9"));  // IPv4 seen through an IPv6 socket
  EXPECT_FALSE(p.contains("not-an-address"));
  EXPECT_FALSE(p.contains(""));
  auto odd = proxies({"172.16.0.0/12"});
  EXPECT_TRUE(odd.contains("172.31.255.1"));
  EXPECT_FALSE(odd.contains("172.32.0.1"));
  EXPECT_TRUE(proxies({"0.0.0.0/0"}).contains("203.0.113.9"));
}

TEST(TrustedProxies, RefusesWhatIsNotARangeNamingTheEntry) {
  for (const char* bad : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0/8", "proxy.internal", "10.0.0.1/x"}) {
    auto p = TrustedProxies::parse({"127.0.0.1", bad}, "server.trusted_proxies");
    ASSERT_FALSE(p) << bad;
    EXPECT_EQ(p.error().field, "server.trusted_proxies[1]") << bad;
    EXPECT_NE(p.error().message.find(bad), std::string::npos) << p.error().message;
  }
}

TEST(TrustedProxies, TheClientIsTheFirstUntrustedHopFromTheRight) {
  auto p = proxies({"10.0.0.0/8"});
  // No proxy configured, or a peer that is not one: the header is ignored.
  EXPECT_EQ(TrustedProxies{}.client_address("10.0.0.5", "203.0.113.9"), "10.0.0.5");
  EXPECT_EQ(p.client_address("198.51.100.4", "203.0.113.9"), "198.51.100.4");
  // One load balancer.
  EXPECT_EQ(p.client_address("10.0.0.5", "203.0.113.9"), "203.0.113.9");
  // A client that sends its own header cannot choose its address: only what
  // the trusted proxies appended counts.
  EXPECT_EQ(p.client_address("10.0.0.5", "1.2.3.4, 203.0.113.9"), "203.0.113.9");
  // Two proxies.
  EXPECT_EQ(p.client_address("10.0.0.5", " 203.0.113.9 ,10.0.0.7"), "203.0.113.9");
  // Only trusted hops: the left-most.
  EXPECT_EQ(p.client_address("10.0.0.5", "10.0.0.9, 10.0.0.7"), "10.0.0.9");
  // No header, or garbage: the last address believed.
  EXPECT_EQ(p.client_address("10.0.0.5", ""), "10.0.0.5");
  EXPECT_EQ(p.client_address("10.0.0.5", "<script>, 10.0.0.7"), "10.0.0.7");
}

}  // namespace
}  // namespace barid::gateway
