// After the e2e suite: no gateway log holds a phone number or a body that
// the tests sent. The harness (tests/support/gateway_harness.cpp) keeps every
// gateway's log and every number and body the tests posted in
// BARID_E2E_LOG_DIR; ctest runs this last (the e2e_logs fixture's cleanup).

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(E2ELogScan, NoGatewayLogHoldsANumberOrABodyTheTestsSent) {
  const char* dir = std::getenv("BARID_E2E_LOG_DIR");
  ASSERT_TRUE(dir && *dir) << "BARID_E2E_LOG_DIR is not set: run this through ctest, after the e2e tests";
  std::set<std::string> sent;
  std::vector<std::pair<std::string, std::string>> logs;  // name, text
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("sent-", 0) == 0) {
      std::istringstream lines(read(entry.path()));
      for (std::string line; std::getline(lines, line);)
        if (!line.empty()) sent.insert(line);
    } else if (name.rfind("gateway-", 0) == 0) {
      logs.emplace_back(name, read(entry.path()));
    }
  }
  ASSERT_FALSE(logs.empty()) << "no gateway log was kept in " << dir << ": run it with the e2e tests";
  ASSERT_FALSE(sent.empty()) << "no number or body was recorded in " << dir;
  std::size_t bytes = 0;
  for (const auto& [name, text] : logs) bytes += text.size();
  int found = 0;
  for (const auto& [name, text] : logs)
    for (const auto& value : sent)
      if (text.find(value) != std::string::npos && ++found <= 20)
        ADD_FAILURE() << name << " holds a value a test sent (" << value.size() << " bytes, starting '"
                      << value.substr(0, 4) << "')";
  EXPECT_EQ(found, 0);
  std::cout << "scanned " << logs.size() << " gateway logs (" << bytes << " bytes) for " << sent.size()
            << " numbers and bodies\n";
}

}  // namespace
