// After every test that starts a gateway: no gateway log holds a phone number
// or a body that the tests sent. The harness (tests/support/log_scan.hpp)
// keeps every gateway's log and every number and body the tests sent in
// BARID_E2E_LOG_DIR; ctest runs E2ELogScan last (the e2e_logs fixture's
// cleanup). The other suites check the scan itself on logs of their own.

#include "log_scan.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace barid::testing {
namespace {

namespace fs = std::filesystem;

TEST(E2ELogScan, NoGatewayLogHoldsANumberOrABodyTheTestsSent) {
  const char* dir = std::getenv("BARID_E2E_LOG_DIR");
  ASSERT_TRUE(dir && *dir) << "BARID_E2E_LOG_DIR is not set: run this through ctest, after the e2e tests";
  ASSERT_TRUE(fs::is_directory(dir)) << "no gateway log was kept in " << dir << ": run it with the e2e tests";
  const LogScanResult r = scan_logs(dir);
  ASSERT_GT(r.logs, 0u) << "no gateway log was kept in " << dir << ": run it with the e2e tests";
  ASSERT_GT(r.values, 0u) << "no number or body was recorded in " << dir;
  for (std::size_t i = 0; i < std::min<std::size_t>(r.findings.size(), 20); ++i) ADD_FAILURE() << r.findings[i];
  EXPECT_EQ(r.findings.size(), 0u);
  std::cout << "scanned " << r.logs << " gateway logs (" << r.bytes << " bytes) for " << r.values
            << " numbers and bodies\n";
}

bool has(const std::vector<std::string>& values, const std::string& v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

TEST(SentValues, TakeANumberFromAPathAsSentAndDecoded) {
  const auto plain = sent_values("GET", "/v1/recipients/+966501239871/preferences", "");
  EXPECT_TRUE(has(plain, "+966501239871"));
  EXPECT_TRUE(has(plain, "966501239871"));
  const auto encoded = sent_values("DELETE", "/v1/recipients/%2B966501239872/preferences", "");
  EXPECT_TRUE(has(encoded, "+966501239872"));
  EXPECT_TRUE(has(encoded, "%2B966501239872"));
}

TEST(SentValues, TakeNumbersFromAQueryAsSentAndDecoded) {
  const auto v = sent_values("GET", "/v1/messages?to=%2B966501239873&limit=5&phone=0501239874&since=12345", "");
  EXPECT_TRUE(has(v, "+966501239873"));
  EXPECT_TRUE(has(v, "%2B966501239873"));
  EXPECT_TRUE(has(v, "0501239874"));
  EXPECT_TRUE(has(v, "+966501239874"));  // how a local number would be logged
  EXPECT_FALSE(has(v, "5"));
  EXPECT_FALSE(has(v, "12345"));  // too short to be a number
  // '+' left unencoded: a server may read it as a space.
  EXPECT_TRUE(has(sent_values("GET", "/v1/messages?to=+966501239875", ""), "+966501239875"));
}

TEST(SentValues, TakeNumbersAndBodiesFromPutAndPostBodies) {
  const auto put = sent_values("PUT", "/v1/templates/reminder",
                               R"({"translations": {"en": {"body": "See you at {{time}} on Monday"}}})");
  EXPECT_TRUE(has(put, "See you at {{time}} on Monday"));
  const auto post = sent_values(
      "POST", "/v1/messages/bulk",
      R"({"body": "Clinic closed on Friday", "recipients": ["+966501239876", "bad"], "reference": "123456789"})");
  EXPECT_TRUE(has(post, "Clinic closed on Friday"));
  EXPECT_TRUE(has(post, "+966501239876"));
  EXPECT_FALSE(has(post, "bad"));
  EXPECT_FALSE(has(post, "123456789"));  // a reference, not a number
  const auto form = sent_values("POST", "/webhooks/tw-sms/inbound", "From=%2B966501239877&To=%2B15017122661&Body=STOP");
  EXPECT_TRUE(has(form, "+966501239877"));
  EXPECT_TRUE(has(form, "%2B966501239877"));
  EXPECT_FALSE(has(form, "STOP"));  // short texts match ordinary log text
  // Nothing of a GET's or a DELETE's body (there is none to log).
  EXPECT_TRUE(sent_values("GET", "/v1/templates", R"({"body": "Clinic closed on Friday"})").empty());
}

// A folder of its own with one recorded number and one kept log.
class LogScanOf : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/barid-log-scan.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ / "sent-1.txt") << "+966501239878\n%2B966501239878\nYour appointment is at 10:00\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  LogScanResult scan(const std::string& log) {
    std::ofstream(dir_ / "gateway-1-1.log") << "2026-01-01T00:00:00Z info http: accepted\n" << log << "\n";
    return scan_logs(dir_);
  }
  fs::path dir_;
};

TEST_F(LogScanOf, FindsANumberPlantedInALog) {
  const auto r = scan("2026-01-01T00:00:01Z info dispatcher: sent to +966501239878");
  EXPECT_EQ(r.logs, 1u);
  EXPECT_EQ(r.values, 3u);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_NE(r.findings[0].find("gateway-1-1.log"), std::string::npos);
  EXPECT_EQ(r.findings[0].find("966501239878"), std::string::npos) << "the finding repeats the number";
}

TEST_F(LogScanOf, FindsANumberAsSentAndABody) {
  EXPECT_EQ(scan("warn http: GET /v1/messages?to=%2B966501239878 failed").findings.size(), 1u);
  EXPECT_EQ(scan("debug sender: body 'Your appointment is at 10:00'").findings.size(), 1u);
}

TEST_F(LogScanOf, PassesAMaskedNumber) {
  const auto r = scan("2026-01-01T00:00:01Z info dispatcher: sent to +9665******78");
  EXPECT_EQ(r.logs, 1u);
  EXPECT_TRUE(r.findings.empty()) << r.findings[0];
}

TEST(KeepGatewayLog, CopiesALogIntoTheFolderTheScanReads) {
  char tmpl[] = "/tmp/barid-log-scan.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  std::ofstream(dir / "run.log") << "sent to +966501239879\n";
  ::setenv("BARID_E2E_LOG_DIR", (dir / "kept").c_str(), 1);
  keep_gateway_log(dir / "run.log");
  record_sent("POST", "/v1/messages", R"({"to": "+966501239879", "body": "x"})");
  ::unsetenv("BARID_E2E_LOG_DIR");
  const auto r = scan_logs(dir / "kept");
  EXPECT_EQ(r.logs, 1u);
  EXPECT_EQ(r.values, 2u);  // the number, and its digits without the '+'
  EXPECT_EQ(r.findings.size(), 2u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace barid::testing
