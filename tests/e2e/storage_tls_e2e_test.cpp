// storage.tls through the real binary: the files the configuration names
// are read from disk, the gateway says at start whether its database
// connections use TLS, and it does not start on a database that cannot give
// it the TLS it requires.

#include "gateway_harness.hpp"
#include "private_mariadb.hpp"
#include "test_certificates.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace barid::testing {
namespace {

constexpr auto npos = std::string::npos;

const char* const kSections = R"yaml(
providers:
  mock-sms:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms}
routing:
  sms: {provider: mock-sms}
jobs: {status_refresh: {enabled: false}, retry_sweep: {enabled: false}, retention: {enabled: false},
       provider_health: {enabled: false}}
)yaml";

TEST(StorageTlsE2E, TheGatewayLogsTheTlsOfItsDatabaseConnections) {
  TestCertificates certs;
  PrivateMariaDb db(certs.server());
  core::MySqlOptions o = db.options();
  o.tls.mode = core::MySqlTlsMode::verify_identity;
  o.tls.ca = certs.ca();
  GatewayUnderTest gw(o, kSections);
  gw.start();
  // Logged before it listens, so it is there once start() returns.
  // The protocol and the cipher, then the mode.
  EXPECT_TRUE(std::regex_search(gw.log(), std::regex(R"(the database connections use TLS \(TLSv1\.[0-9], )"
                                                     R"([A-Za-z0-9_-]+; storage\.tls\.mode verify_identity\))")))
      << gw.log();
  EXPECT_EQ(gw.request("GET", "/ready").status, 200) << gw.log();
}

TEST(StorageTlsE2E, RequiredDoesNotStartOnADatabaseWithoutTls) {
  PrivateMariaDb db;
  core::MySqlOptions o = db.options();
  o.tls.mode = core::MySqlTlsMode::required;
  GatewayUnderTest gw(o, kSections);
  auto status = gw.start_expecting_exit();
  ASSERT_TRUE(status.has_value()) << "still running; its log:\n" << gw.log();
  EXPECT_NE(*status, 0);
  EXPECT_NE(gw.log().find("storage.tls.mode required requires TLS"), npos) << gw.log();
}

TEST(StorageTlsE2E, ACaThatCannotBeReadIsRefusedAtStart) {
  TestCertificates certs;
  PrivateMariaDb db(certs.server());
  core::MySqlOptions o = db.options();
  o.tls.mode = core::MySqlTlsMode::verify_identity;
  o.tls.ca = certs.ca() + ".missing";
  GatewayUnderTest gw(o, kSections);
  auto status = gw.start_expecting_exit();
  ASSERT_TRUE(status.has_value()) << "still running; its log:\n" << gw.log();
  EXPECT_NE(*status, 0);
  EXPECT_NE(gw.log().find("storage.tls.ca: cannot read " + o.tls.ca + ": No such file or directory"), npos)
      << gw.log();
}

}  // namespace
}  // namespace barid::testing
