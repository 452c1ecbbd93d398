// End to end, the API as HTTP client libraries use it: percent-encoded
// query parameters, request ids on every answer, errors that name no
// internals, concurrent retries of one idempotent bulk, a manage-only key
// changing settings, secrets read from files. The real binary, a real
// MariaDB.

#include "gateway_harness.hpp"

#include <barid/core/time.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <csignal>

namespace barid::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// The mock instances, and no periodic job.
const std::string kSections = std::string(kMockGatewaySections) + kJobsOff;

// What a client library makes of a value in a query: RFC 3986 unreserved
// characters stay, every other byte is %XX (so '+' is %2B, ':' is %3A, a
// space %20 and Arabic text its UTF-8 bytes).
std::string encode(const std::string& value) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

class ClientRequestsE2E : public ::testing::Test {
 protected:
  void start(const std::string& sections = kSections) {
    gw_ = std::make_unique<GatewayUnderTest>(db_, sections);
    gw_->start();
    key_ = gw_->create_api_key("clinic-a");
  }
  json call(const std::string& method, const std::string& path, const json& body, long expected,
            const std::string& key = {}) {
    long status = 0;
    auto r = gw_->json(method, path, body, key.empty() ? key_ : key, &status);
    EXPECT_EQ(status, expected) << method << " " << path << ": " << r.dump();
    return r;
  }
  TestDatabase db_;
  std::unique_ptr<GatewayUnderTest> gw_;
  std::string key_;
};

// Every list route, called with the encoding a standard client produces,
// finds what the same value unencoded names.
TEST_F(ClientRequestsE2E, EveryListRouteReadsPercentEncodedQueries) {
  start();
  const std::string phone = "+966500050449";
  const std::string patient = "مريض 12";  // Arabic text and a space
  auto sent = call("POST", "/v1/messages", {{"to", phone}, {"body", "Your results are ready"}, {"recipient_id", patient}},
                   202);
  call("POST", "/v1/messages", {{"to", "+966500050450"}, {"body", "Another patient"}}, 202);
  auto bulk = call("POST", "/v1/messages/bulk",
                   {{"body", "Clinic closed Friday"}, {"recipients", {{{"to", "+966500050451"}}}}}, 202);
  const std::string since = core::format_iso8601(core::now_us() - std::chrono::hours(1));

  auto ids = [](const json& list) {
    std::set<std::string> out;
    for (const auto& m : list["messages"]) out.insert(m["id"]);
    return out;
  };
  const std::set<std::string> only_sent{sent["id"].get<std::string>()};
  EXPECT_EQ(ids(call("GET", "/v1/messages?to=" + encode(phone), nullptr, 200)), only_sent);
  EXPECT_EQ(ids(call("GET", "/v1/messages?recipient_id=" + encode(patient), nullptr, 200)), only_sent);
  EXPECT_EQ(ids(call("GET", "/v1/messages?batch_id=" + encode(bulk["id"]), nullptr, 200)).size(), 1u);
  // Times with ':' and a '+03:00' offset, both encoded.
  const std::string from = core::format_iso8601(core::now_us() - std::chrono::hours(1));
  auto in_window =
      call("GET", "/v1/messages?from=" + encode(from) + "&until=" + encode("2999-01-01T03:00:00+03:00") + "&limit=" +
                      encode("2") + "&channel=" + encode("sms"),
           nullptr, 200);
  EXPECT_EQ(in_window["messages"].size(), 2u) << in_window.dump();
  const std::string next = in_window["next"];
  EXPECT_EQ(call("GET", "/v1/messages?after=" + encode(next) + "&limit=10", nullptr, 200)["messages"].size(), 1u);
  // A '+' left as it is stays a '+': the number itself, not a space.
  EXPECT_EQ(ids(call("GET", "/v1/messages?to=" + phone, nullptr, 200)), only_sent);

  // Inbound: the phone and the time, encoded, for the tenant and the operator.
  ASSERT_EQ(gw_->request("POST", "/webhooks/mock-sms/inbound",
                         json{{"from", phone}, {"body", "شكرا"}, {"id", "in-1"}}.dump())
                .status,
            200);
  auto inbound = call("GET", "/v1/inbound?phone=" + encode(phone) + "&since=" + encode(since), nullptr, 200);
  ASSERT_EQ(inbound["inbound"].size(), 1u) << inbound.dump();
  EXPECT_EQ(call("GET", "/v1/inbound?phone=" + encode("+966500050450"), nullptr, 200)["inbound"].size(), 0u);
  const std::string op = gw_->create_operator_key();
  auto admin = call("GET", "/v1/admin/inbound?tenant=" + encode("clinic-a") + "&phone=" + encode(phone), nullptr,
                    200, op);
  EXPECT_EQ(admin["inbound"].size(), 1u) << admin.dump();

  // Statistics over an encoded window, the audit with an encoded limit.
  auto stats = call("GET",
                    "/v1/stats?from=" + encode(from) + "&to=" + encode(core::format_iso8601(core::now_us() + std::chrono::minutes(1))),
                    nullptr, 200);
  EXPECT_EQ(stats["total"], 3) << stats.dump();
  EXPECT_LE(call("GET", "/v1/audit?limit=" + encode("5"), nullptr, 200)["entries"].size(), 5u);

  // A '%' that encodes nothing is the client's error, and names its field.
  auto bad = call("GET", "/v1/messages?to=%2", nullptr, 422);
  EXPECT_EQ(bad["field"], "to") << bad.dump();
  EXPECT_EQ(call("GET", "/v1/inbound?phone=%ZZ966", nullptr, 422)["field"], "phone");
}

// Every answer carries X-Request-Id: the client's own when it is safe to
// keep, else a new one; a problem body names the same id.
TEST_F(ClientRequestsE2E, EveryAnswerCarriesARequestId) {
  start();
  auto ok = gw_->request("GET", "/v1/messages", {}, key_);
  ASSERT_EQ(ok.status, 200);
  const std::string generated = ok.header("X-Request-Id");
  EXPECT_FALSE(generated.empty());
  auto again = gw_->request("GET", "/v1/messages", {}, key_);
  EXPECT_NE(again.header("X-Request-Id"), generated);

  auto kept = gw_->request("GET", "/v1/messages/not-an-id", {}, key_, {{"X-Request-Id", "client-req:42_a.b"}});
  EXPECT_EQ(kept.status, 404);
  EXPECT_EQ(kept.header("X-Request-Id"), "client-req:42_a.b");
  EXPECT_EQ(json::parse(kept.body)["request_id"], "client-req:42_a.b");

  for (const std::string& unsafe : {std::string(65, 'a'), std::string("has space"), std::string("new\\line")}) {
    auto replaced = gw_->request("POST", "/v1/messages", "{\"to\": 1}", key_, {{"X-Request-Id", unsafe}});
    EXPECT_EQ(replaced.status, 422);
    const std::string id = replaced.header("X-Request-Id");
    EXPECT_FALSE(id.empty());
    EXPECT_NE(id, unsafe);
    EXPECT_EQ(json::parse(replaced.body)["request_id"], id);
  }
  // Even an answer given before any key is read.
  auto unauthorized = gw_->request("GET", "/v1/messages");
  EXPECT_EQ(unauthorized.status, 401);
  EXPECT_FALSE(unauthorized.header("X-Request-Id").empty());
  EXPECT_EQ(json::parse(unauthorized.body)["request_id"], unauthorized.header("X-Request-Id"));
}

// A key with the `manage` scope alone changes the settings and is answered
// 200 with them (it used to get 403 after the change was applied).
TEST_F(ClientRequestsE2E, AManageOnlyKeyChangesTheSettings) {
  start();
  const std::string op = gw_->create_operator_key();
  auto made = call("POST", "/v1/admin/tenants/clinic-a/keys", {{"label", "admin desk"}, {"scopes", {"manage"}}}, 201,
                   op);
  auto changed = call("PUT", "/v1/settings", {{"default_language", "ar"}, {"retention_days", 30}}, 200, made["key"]);
  EXPECT_EQ(changed["default_language"], "ar") << changed.dump();
  EXPECT_EQ(changed["retention_days"], 30);
  EXPECT_EQ(call("GET", "/v1/settings", nullptr, 200)["default_language"], "ar");
}

// Eight clients retry one bulk at the same moment with one Idempotency-Key:
// one batch is stored, every request gets it, none a 5xx; a different body
// under the same key is refused, never a 5xx either.
TEST_F(ClientRequestsE2E, ConcurrentIdenticalBulkRequestsGetOneBatch) {
  start();
  const json body{{"body", "The clinic is closed on Friday"},
                  {"recipients", {{{"to", "+966500060001"}}, {{"to", "+966500060002"}}, {{"to", "+966500060003"}}}}};
  std::mutex mutex;
  std::vector<std::pair<int, std::string>> answers;  // status, batch id
  int replayed = 0;
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i)
    clients.emplace_back([&] {
      auto r = gw_->request("POST", "/v1/messages/bulk", body.dump(), key_, {{"Idempotency-Key", "closure-notice-7"}});
      auto j = json::parse(r.body, nullptr, false);
      std::lock_guard lock(mutex);
      answers.emplace_back(r.status, j.is_object() ? j.value("id", r.body) : r.body);
      if (r.header("Idempotent-Replayed") == "true") ++replayed;
    });
  for (auto& t : clients) t.join();
  ASSERT_EQ(answers.size(), 8u);
  for (const auto& [status, id] : answers) {
    EXPECT_EQ(status, 202) << id;
    EXPECT_EQ(id, answers.front().second);
  }
  EXPECT_EQ(replayed, 7);
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM batches"), "1");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages"), "3");

  // The same key with another body, concurrently: refused, each of them.
  json other = body;
  other["body"] = "The clinic opens late on Friday";
  std::atomic<int> refused{0}, server_errors{0};
  clients.clear();
  for (int i = 0; i < 4; ++i)
    clients.emplace_back([&] {
      auto r = gw_->request("POST", "/v1/messages/bulk", other.dump(), key_, {{"Idempotency-Key", "closure-notice-7"}});
      if (r.status == 422) ++refused;
      if (r.status >= 500) ++server_errors;
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(refused.load(), 4);
  EXPECT_EQ(server_errors.load(), 0);
}

// ${file:/path} reads a value from a file at start and again at SIGHUP, so
// that new provider credentials need no restart.
TEST_F(ClientRequestsE2E, ValuesFromFilesAreReadAgainOnReload) {
  const std::string dir = std::filesystem::temp_directory_path() / ("barid-secret-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/latency";
  std::ofstream(file) << "120\n";
  std::string sections = kSections;
  const std::string plain = R"(config: {channel: sms, delivered_after_ms: "50",)";
  sections.replace(sections.find(plain), plain.size(),
                   R"(config: {channel: sms, delivered_after_ms: "50", latency_ms: "${file:)" + file + R"(}",)");
  start(sections);
  const std::string op = gw_->create_operator_key();
  auto latency = [&] {
    auto p = call("GET", "/v1/admin/providers", nullptr, 200, op);
    for (const auto& i : p["instances"])
      if (i["name"] == "mock-sms") return i["config"].value("latency_ms", std::string());
    return std::string();
  };
  EXPECT_EQ(latency(), "120");  // the file's line end is not part of the value
  std::ofstream(file) << "80";
  gw_->signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return latency() == "80"; }, 20s)) << gw_->log();
  // A file that cannot be read keeps the running configuration.
  std::filesystem::remove(file);
  gw_->signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return gw_->log().find("configuration not reloaded") != std::string::npos; }, 20s));
  EXPECT_EQ(latency(), "80");
  EXPECT_TRUE(gw_->running());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace barid::testing
