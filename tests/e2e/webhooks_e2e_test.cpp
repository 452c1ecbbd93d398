// End to end, event webhooks: the real binary, a real MariaDB, and a
// receiver on 127.0.0.1. Every event's signature verifies by the Standard
// Webhooks algorithm (computed here with OpenSSL, apart from the gateway's
// code) with the endpoint's secret, and with the Standard Webhooks npm
// library (`standardwebhooks`, run by node); a receiver that fails for 30 s loses
// nothing and gets each message's events in order; a gateway killed with -9
// delivers what was pending after its restart; both secrets sign during a
// rotation; one tenant never receives another's events.

#include "fake_server.hpp"
#include "gateway_harness.hpp"
#include "prism.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <barid/core/time.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace barid::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// The receiver's port is the one port of 127.0.0.1 that webhooks may reach.
std::string sections(std::uint16_t receiver_port) {
  return R"yaml(
providers:
  mock-sms:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, delivered_after_ms: "50", cost_micros_per_segment: "7500", currency: "USD"}
routing:
  sms: {provider: mock-sms}
dispatch: {poll_interval: 50ms, lease: 30s}
messaging: {default_region: SA}
webhooks: {allow_hosts: ["127.0.0.1:)yaml" + std::to_string(receiver_port) +
         R"yaml("], poll_interval: 50ms, initial_backoff: 200ms, max_backoff: 2s, timeout: 2s}
jobs:
  status_refresh: {enabled: false}
  retry_sweep: {enabled: false}
  retention: {enabled: false}
  provider_health: {enabled: false}
)yaml";
}

std::string b64(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

// The Standard Webhooks check: some "v1,<sig>" of the header is the base64
// HMAC-SHA256, keyed with the secret's base64 part decoded, of
// "<webhook-id>.<webhook-timestamp>.<body>".
bool verifies(const std::string& secret, const fakes::FakeRequest& r) {
  if (secret.rfind("whsec_", 0) != 0) return false;
  const std::string encoded = secret.substr(6);
  std::string key(encoded.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(key.data()),
                          reinterpret_cast<const unsigned char*>(encoded.data()), static_cast<int>(encoded.size()));
  if (n < 0) return false;
  std::size_t pad = 0;
  for (auto it = encoded.rbegin(); it != encoded.rend() && *it == '='; ++it) ++pad;
  key.resize(static_cast<std::size_t>(n) - pad);
  const std::string content = r.header("webhook-id") + "." + r.header("webhook-timestamp") + "." + r.body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), mac, &len);
  const std::string expected = "v1," + b64(mac, len);
  const std::string header = r.header("webhook-signature");
  std::size_t start = 0;
  while (start <= header.size()) {
    const auto space = header.find(' ', start);
    if (header.substr(start, space == std::string::npos ? std::string::npos : space - start) == expected) return true;
    if (space == std::string::npos) break;
    start = space + 1;
  }
  return false;
}

// The events as a Standard Webhooks library checks them: the npm package
// `standardwebhooks` (installed into the build tree on first use) verifies
// each with `secret`. Empty when all verify; else what it said.
std::string verify_with_the_library(const std::string& secret, const std::vector<fakes::FakeRequest>& requests) {
  const std::filesystem::path dir = BARID_NODE_TOOLS_DIR;
  auto installed = install_npm_package(dir, "standardwebhooks", "standardwebhooks@1.1.1");
  if (!installed.skip_reason.empty()) return "";  // no node here (never in CI: that is an error)
  if (!installed.error.empty()) return installed.error;
  json input = json::array();
  for (const auto& r : requests)
    input.push_back({{"body", r.body},
                     {"headers",
                      {{"webhook-id", r.header("webhook-id")},
                       {"webhook-timestamp", r.header("webhook-timestamp")},
                       {"webhook-signature", r.header("webhook-signature")}}}});
  const auto file = dir / ("events-" + std::to_string(::getpid()) + ".json");
  std::ofstream(file) << json{{"secret", secret}, {"events", input}}.dump();
  ChildProcess::Options o;
  o.program = *find_program("node");
  o.args = {"-e",
            "const {Webhook} = require(process.argv[1]);"
            "const input = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));"
            "const wh = new Webhook(input.secret); let ok = 0;"
            "for (const e of input.events) { try { wh.verify(e.body, e.headers); ok++; }"
            " catch (err) { console.log('refused: ' + err.message); } }"
            "console.log('verified ' + ok + ' of ' + input.events.length);",
            (dir / "node_modules" / "standardwebhooks").string(), file.string()};
  ChildProcess node(o);
  const auto rc = node.wait_exit(std::chrono::seconds(60));
  const std::string said = node.stdout_text();
  std::filesystem::remove(file);
  const std::string all = "verified " + std::to_string(requests.size()) + " of " + std::to_string(requests.size());
  if (rc != 0 || said.find(all) == std::string::npos) return "node said: " + said;
  return "";
}

// Records every request; answers `status` (500 while failing, then 200).
class Receiver {
 public:
  Receiver() : server_([this](const fakes::FakeRequest& r) { return handle(r); }) { server_.start(); }
  std::string url(const std::string& path) const { return server_.base_url() + path; }
  std::uint16_t port() const noexcept { return server_.port(); }
  void answer(int status) { status_ = status; }
  // Requests to `path` are answered this much later.
  void slow(const std::string& path, std::chrono::milliseconds delay) {
    std::lock_guard lock(mutex_);
    delays_[path] = delay;
  }

  struct Got {
    fakes::FakeRequest request;
    int answered;
    json body;
    std::chrono::system_clock::time_point at;  // when it arrived
  };
  std::vector<Got> all() {
    std::lock_guard lock(mutex_);
    return got_;
  }
  // Those answered with a 2xx, on `path`, first copy of each webhook-id.
  std::vector<Got> delivered(const std::string& path) {
    std::vector<Got> out;
    std::set<std::string> seen;
    for (auto& g : all())
      if (g.request.path == path && g.answered < 300 && seen.insert(g.request.header("webhook-id")).second)
        out.push_back(g);
    return out;
  }
  // Waits until `path` has `n` events delivered (or the deadline passes).
  std::vector<Got> wait_for(const std::string& path, std::size_t n, std::chrono::seconds timeout = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto d = delivered(path);
      if (d.size() >= n) return d;
      std::this_thread::sleep_for(50ms);
    }
    return delivered(path);
  }

 private:
  fakes::FakeResponse handle(const fakes::FakeRequest& r) {
    const int status = status_.load();
    std::lock_guard lock(mutex_);
    got_.push_back({r, status, json::parse(r.body, nullptr, false), std::chrono::system_clock::now()});
    fakes::FakeResponse out;
    out.status = status;
    out.body = "{}";
    if (auto it = delays_.find(r.path); it != delays_.end()) out.delay = it->second;
    return out;
  }
  std::mutex mutex_;
  std::vector<Got> got_;
  std::map<std::string, std::chrono::milliseconds> delays_;
  std::atomic<int> status_{200};
  fakes::FakeHttpServer server_;
};

// An HTTP/1.0 server as small frameworks and scripts have one: one thread
// that answers one request per connection, in turn, and closes it; a listen
// backlog of 5 (Python's http.server). Records each event's webhook-id and
// body, in the order they arrived.
class Http10Receiver {
 public:
  Http10Receiver() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 5) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("the HTTP/1.0 receiver cannot listen");
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~Http10Receiver() {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const noexcept { return port_; }

  struct Got {
    std::string id;  // webhook-id
    json body;
    std::chrono::steady_clock::time_point at;
  };
  std::vector<Got> all() {
    std::lock_guard lock(mutex_);
    return got_;
  }

 private:
  void serve() {
    while (!stopping_) {
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string data;
      char buf[16384];
      std::size_t head = std::string::npos, length = 0;
      while (true) {
        const auto n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        data.append(buf, static_cast<std::size_t>(n));
        if (head == std::string::npos && (head = data.find("\r\n\r\n")) != std::string::npos) {
          std::string lower = data.substr(0, head);
          std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
          const auto at = lower.find("content-length:");
          if (at != std::string::npos) length = std::stoul(lower.substr(at + 15));
        }
        if (head != std::string::npos && data.size() >= head + 4 + length) break;
      }
      if (head != std::string::npos) {
        std::string lower = data.substr(0, head);
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        std::string id;
        if (const auto at = lower.find("\r\nwebhook-id:"); at != std::string::npos) {
          const auto from = data.find_first_not_of(' ', at + 14);
          id = data.substr(from, data.find("\r\n", from) - from);
        }
        std::lock_guard lock(mutex_);
        got_.push_back({id, json::parse(data.substr(head + 4, length), nullptr, false), std::chrono::steady_clock::now()});
      }
      static const std::string answer = "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
      (void)::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::vector<Got> got_;
  std::thread thread_;
};

class WebhooksE2E : public ::testing::Test {
 protected:
  // `yaml`: the sections; by default sections(), for the receiver's port.
  void start(std::string yaml = {}) {
    gw_ = std::make_unique<GatewayUnderTest>(db_, yaml.empty() ? sections(receiver_.port()) : yaml);
    gw_->start();
    if (key_a_.empty()) {
      key_a_ = gw_->create_api_key("clinic-a");
      key_b_ = gw_->create_api_key("clinic-b");
    }
  }
  json call(const std::string& key, const std::string& method, const std::string& path, const json& body,
            long expect) {
    return gw_->call(key, method, path, body, expect);
  }
  json endpoint(const std::string& key, const std::string& path, json extra = json::object()) {
    extra["url"] = receiver_.url(path);
    return call(key, "POST", "/v1/webhooks", extra, 201);
  }
  std::string send(const std::string& key, const std::string& to, const std::string& reference) {
    return call(key, "POST", "/v1/messages", {{"to", to}, {"body", "Your appointment is tomorrow"}, {"reference", reference}},
                202)["id"];
  }

  TestDatabase db_;
  Receiver receiver_;
  std::unique_ptr<GatewayUnderTest> gw_;
  std::string key_a_, key_b_;
};

TEST_F(WebhooksE2E, SignedEventsReachOnlyTheirTenantsEndpoint) {
  start();
  const json a = endpoint(key_a_, "/a", {{"description", "clinic A's platform"}});
  const json b = endpoint(key_b_, "/b", {{"events", {"message.delivered"}}});
  const std::string secret_a = a["secret"];
  ASSERT_EQ(secret_a.rfind("whsec_", 0), 0u) << a.dump();
  EXPECT_GE(secret_a.size(), 6u + 32u);  // base64 of at least 24 bytes
  EXPECT_EQ(b["events"], json({"message.delivered"}));
  EXPECT_EQ(a["events"].size(), 11u);  // every type

  const std::string id = send(key_a_, "+966501231001", "appt-1");
  auto got = receiver_.wait_for("/a", 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body["type"], "message.sent");
  EXPECT_EQ(got[1].body["type"], "message.delivered");
  for (const auto& g : got) {
    EXPECT_TRUE(verifies(secret_a, g.request)) << g.request.body;
    EXPECT_FALSE(verifies(b["secret"], g.request));
    EXPECT_EQ(g.request.header("webhook-id").rfind("evt_", 0), 0u);
    const long long ts = std::stoll(g.request.header("webhook-timestamp"));
    EXPECT_LT(std::llabs(ts - std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch()).count()), 300);
    EXPECT_EQ(g.body["data"]["id"], id);
    EXPECT_EQ(g.body["data"]["reference"], "appt-1");
    EXPECT_EQ(g.body["data"]["channel"], "sms");
    EXPECT_FALSE(g.body["data"].contains("body"));  // not asked for
    EXPECT_FALSE(g.body["data"].contains("to"));
    EXPECT_TRUE(g.body["timestamp"].is_string());
  }
  EXPECT_EQ(got[1].body["data"]["status"], "delivered");
  // And as a Standard Webhooks library checks them.
  EXPECT_EQ(verify_with_the_library(secret_a, {got[0].request, got[1].request}), "");
  EXPECT_NE(verify_with_the_library(b["secret"], {got[0].request}), "");
  EXPECT_LT(got[0].body["data"]["sequence"].get<long long>(), got[1].body["data"]["sequence"].get<long long>());

  // Clinic B's endpoint got nothing of A's, and only the type it wants of its own.
  const std::string theirs = send(key_b_, "+966501231002", "b-1");
  auto got_b = receiver_.wait_for("/b", 1);
  ASSERT_EQ(got_b.size(), 1u);
  EXPECT_EQ(got_b[0].body["type"], "message.delivered");
  EXPECT_EQ(got_b[0].body["data"]["id"], theirs);
  EXPECT_TRUE(verifies(b["secret"], got_b[0].request));
  EXPECT_EQ(receiver_.delivered("/a").size(), 2u);

  // What a tenant sees of endpoints: its own, never a secret.
  auto list = call(key_a_, "GET", "/v1/webhooks", nullptr, 200);
  ASSERT_EQ(list["webhooks"].size(), 1u);
  EXPECT_FALSE(list["webhooks"][0].contains("secret"));
  call(key_b_, "GET", "/v1/webhooks/" + a["id"].get<std::string>(), nullptr, 404);
  auto attempts = call(key_a_, "GET", "/v1/webhooks/" + a["id"].get<std::string>() + "/deliveries", nullptr, 200);
  ASSERT_EQ(attempts["deliveries"].size(), 2u);
  EXPECT_EQ(attempts["deliveries"][0]["status_code"], 200);
  EXPECT_EQ(attempts["deliveries"][0]["delivered"], true);

  // Bad endpoints are refused, naming the field.
  EXPECT_EQ(call(key_a_, "POST", "/v1/webhooks", {{"url", "http://clinic.example/hook"}}, 422)["field"], "url");
  EXPECT_EQ(call(key_a_, "POST", "/v1/webhooks", {{"url", "https://clinic.example/hook"}, {"events", {"message.bogus"}}},
                 422)["field"],
            "events[0]");
  // Bodies when asked for.
  call(key_a_, "PATCH", "/v1/webhooks/" + a["id"].get<std::string>(), {{"include_body", true}}, 200);
  send(key_a_, "+966501231003", "appt-2");
  auto with_body = receiver_.wait_for("/a", 4);
  ASSERT_EQ(with_body.size(), 4u);
  EXPECT_EQ(with_body[3].body["data"]["body"], "Your appointment is tomorrow");
  EXPECT_EQ(with_body[3].body["data"]["to"], "+966501231003");
  call(key_a_, "DELETE", "/v1/webhooks/" + a["id"].get<std::string>(), nullptr, 204);
  call(key_a_, "GET", "/v1/webhooks/" + a["id"].get<std::string>(), nullptr, 404);
}

// A body discarded after delivery is gone from the events still pending:
// they are built when they are sent, and say body null.
TEST_F(WebhooksE2E, APendingEventOfADiscardedMessageCarriesNoBody) {
  start();
  const json d = endpoint(key_a_, "/d", {{"include_body", true}});
  receiver_.answer(503);
  const std::string id =
      call(key_a_, "POST", "/v1/messages",
           {{"to", "+966501231009"}, {"body", "Your biopsy results are ready"}, {"content_retention", "discard"}},
           202)["id"];
  auto m = gw_->wait_for_status(key_a_, id, "delivered");
  ASSERT_TRUE(m["body"].is_null()) << m.dump();
  receiver_.answer(200);
  auto got = receiver_.wait_for("/d", 2);
  ASSERT_EQ(got.size(), 2u);
  for (const auto& g : got) {
    EXPECT_EQ(g.body["data"]["id"], id);
    EXPECT_TRUE(g.body["data"]["body"].is_null()) << g.request.body;
    EXPECT_EQ(g.request.body.find("biopsy"), std::string::npos);
  }
}

// The receiver answers 500 for 30 s, then recovers: every event arrives,
// each message's in the order they happened.
TEST_F(WebhooksE2E, AReceiverDownForThirtySecondsLosesNothingAndKeepsEachMessagesOrder) {
  start();
  const json a = endpoint(key_a_, "/a");
  receiver_.answer(500);
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(send(key_a_, "+9665012320" + std::to_string(10 + i), "r-" + std::to_string(i)));
  for (const auto& id : ids) gw_->wait_for_status(key_a_, id, "delivered");
  std::this_thread::sleep_for(30s);
  EXPECT_TRUE(receiver_.delivered("/a").empty());
  EXPECT_GE(receiver_.all().size(), 20u);  // it was tried
  receiver_.answer(200);
  auto got = receiver_.wait_for("/a", 40, 60s);
  ASSERT_EQ(got.size(), 40u) << receiver_.all().size() << " requests; pending: "
                             << db_.scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'")
                             << "; " << db_.scalar("SELECT GROUP_CONCAT(DISTINCT CONCAT(status, ' ', attempts, ' ', "
                                                   "COALESCE(last_error, ''), ' ', next_attempt_at > UTC_TIMESTAMP(6))) "
                                                   "FROM webhook_deliveries")
                             << "\n" << gw_->log().substr(gw_->log().size() > 3000 ? gw_->log().size() - 3000 : 0);
  std::map<std::string, std::vector<std::string>> per_message;
  for (const auto& g : got) {
    EXPECT_TRUE(verifies(a["secret"], g.request));
    per_message[g.body["data"]["id"]].push_back(g.body["type"]);
  }
  ASSERT_EQ(per_message.size(), 20u);
  for (const auto& [id, types] : per_message)
    EXPECT_EQ(types, (std::vector<std::string>{"message.sent", "message.delivered"})) << id;
  // The failures are on record, and so is every delivery once the last
  // answers' record is written (the sender records answers in groups).
  int failed = 0, delivered = 0;
  const auto recorded = std::chrono::steady_clock::now() + 10s;
  do {
    auto attempts = call(key_a_, "GET", "/v1/webhooks/" + a["id"].get<std::string>() + "/deliveries?limit=1000", nullptr, 200);
    failed = delivered = 0;
    for (const auto& at : attempts["deliveries"]) (at["delivered"] == true ? delivered : failed) += 1;
  } while (delivered < 40 && std::chrono::steady_clock::now() < recorded &&
           (std::this_thread::sleep_for(50ms), true));
  EXPECT_GE(failed, 20);
  EXPECT_GE(delivered, 40);
}

// Killed with -9 while events wait: they are delivered after the restart.
TEST_F(WebhooksE2E, AGatewayKilledWhileEventsArePendingDeliversThemAfterItsRestart) {
  start();
  const json a = endpoint(key_a_, "/a");
  receiver_.answer(503);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(send(key_a_, "+9665012330" + std::to_string(10 + i), "k-" + std::to_string(i)));
  for (const auto& id : ids) gw_->wait_for_status(key_a_, id, "delivered");
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (receiver_.all().size() < 5 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
  gw_->kill9();
  EXPECT_NE(db_.scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'"), "0");
  receiver_.answer(200);
  start();
  auto got = receiver_.wait_for("/a", 10, 60s);
  EXPECT_EQ(got.size(), 10u);
  for (const auto& g : got) EXPECT_TRUE(verifies(a["secret"], g.request));
}

// Rotations, with a 5 s overlap (webhooks.secret_overlap): during the
// overlap both secrets sign; a second rotation within it ends the first
// secret at once (the current secret and the one before it sign); once the
// overlap is over, the current secret alone signs.
TEST_F(WebhooksE2E, BothSecretsSignDuringARotationsOverlapAndOnlyTheNewOneAfterIt) {
  std::string yaml = sections(receiver_.port());
  const std::string timeout = "timeout: 2s}";
  yaml.replace(yaml.find(timeout), timeout.size(), "timeout: 2s, secret_overlap: 5s}");
  start(yaml);
  const json a = endpoint(key_a_, "/a");
  const std::string rotate = "/v1/webhooks/" + a["id"].get<std::string>() + "/rotate-secret";
  // The events of one message (sent and delivered), as the receiver got them.
  std::size_t events = 0;
  auto events_of_a_message = [&](const std::string& reference) {
    send(key_a_, "+966501234001", reference);
    events += 2;
    auto got = receiver_.wait_for("/a", events);
    if (got.size() != events) {
      ADD_FAILURE() << got.size() << " events arrived, not " << events;
      return std::vector<Receiver::Got>();
    }
    return std::vector<Receiver::Got>(got.end() - 2, got.end());
  };
  auto signatures = [](const Receiver::Got& g) {
    const std::string h = g.request.header("webhook-signature");
    return 1 + std::count(h.begin(), h.end(), ' ');
  };

  const auto before = core::now_us();
  auto b = call(key_a_, "POST", rotate, json::object(), 200);
  ASSERT_NE(b["secret"], a["secret"]);
  const auto overlap_end = core::parse_iso8601(b["previous_secret_expires_at"].get<std::string>());
  ASSERT_TRUE(overlap_end.has_value()) << b.dump();
  EXPECT_GE(*overlap_end, before + std::chrono::seconds(5));
  EXPECT_LE(*overlap_end, core::now_us() + std::chrono::seconds(5));
  for (const auto& g : events_of_a_message("rot-1")) {
    EXPECT_TRUE(verifies(a["secret"], g.request));
    EXPECT_TRUE(verifies(b["secret"], g.request));
    EXPECT_EQ(signatures(g), 2) << g.request.header("webhook-signature");
  }

  // A second rotation within the overlap: the first secret is done.
  auto c = call(key_a_, "POST", rotate, json::object(), 200);
  ASSERT_NE(c["secret"], b["secret"]);
  const auto second_end = core::parse_iso8601(c["previous_secret_expires_at"].get<std::string>());
  ASSERT_TRUE(second_end.has_value()) << c.dump();
  EXPECT_GT(*second_end, *overlap_end);
  for (const auto& g : events_of_a_message("rot-2")) {
    EXPECT_FALSE(verifies(a["secret"], g.request));
    EXPECT_TRUE(verifies(b["secret"], g.request));
    EXPECT_TRUE(verifies(c["secret"], g.request));
    EXPECT_EQ(signatures(g), 2) << g.request.header("webhook-signature");
  }

  // Once the overlap is over, the current secret alone.
  ASSERT_TRUE(eventually([&] { return core::now_us() > *second_end; }, 10s, 100ms));
  for (const auto& g : events_of_a_message("rot-3")) {
    EXPECT_FALSE(verifies(a["secret"], g.request));
    EXPECT_FALSE(verifies(b["secret"], g.request));
    EXPECT_TRUE(verifies(c["secret"], g.request));
    EXPECT_EQ(signatures(g), 1) << g.request.header("webhook-signature");
  }
  EXPECT_EQ(verify_with_the_library(c["secret"], {receiver_.delivered("/a").back().request}), "");
  // Each rotation is in the tenant's audit log.
  auto audit = call(key_a_, "GET", "/v1/audit", nullptr, 200);
  int rotations = 0;
  for (const auto& e : audit["entries"])
    if (e["action"] == "webhook.secret_rotated" && e["subject"] == a["id"]) ++rotations;
  EXPECT_EQ(rotations, 2) << audit.dump();
}

// A patient's answer and their STOP reach the clinic as events; a 410 Gone
// disables the endpoint (the reason is shown), and a replay after enabling
// it sends what it missed.
TEST_F(WebhooksE2E, RepliesInboundAndOptOutsAreEventsAndGoneDisablesTheEndpoint) {
  start();
  const json a = endpoint(key_a_, "/a", {{"events", {"message.replied", "inbound.received", "recipient.opted_out"}}});
  const std::string asked =
      call(key_a_, "POST", "/v1/messages",
           {{"to", "+966501235001"}, {"body", "Reply 1 to confirm, 2 to cancel"}, {"reference", "appt-9"},
            {"replies", {{"1", "confirm"}, {"2", "cancel"}}}},
           202)["id"];
  gw_->wait_for_status(key_a_, asked, "delivered");
  auto inbound = [&](const std::string& body, const std::string& id) {
    EXPECT_EQ(gw_->request("POST", "/webhooks/mock-sms/inbound",
                           json{{"from", "+966501235001"}, {"body", body}, {"id", id}}.dump()).status, 200);
  };
  inbound("٢", "in-1");
  auto got = receiver_.wait_for("/a", 2);
  ASSERT_EQ(got.size(), 2u);
  std::map<std::string, json> by_type;
  for (const auto& g : got) by_type[g.body["type"]] = g.body["data"];
  ASSERT_TRUE(by_type.count("message.replied")) << got[0].request.body;
  EXPECT_EQ(by_type["message.replied"]["message_id"], asked);
  EXPECT_EQ(by_type["message.replied"]["reference"], "appt-9");
  EXPECT_EQ(by_type["message.replied"]["intent"], "cancel");
  EXPECT_EQ(by_type["message.replied"]["text"], "٢");
  ASSERT_TRUE(by_type.count("inbound.received"));
  EXPECT_EQ(by_type["inbound.received"]["from"], "+966501235001");
  EXPECT_EQ(by_type["inbound.received"]["answers"]["intent"], "cancel");
  EXPECT_FALSE(by_type["inbound.received"].contains("body"));

  receiver_.answer(410);
  inbound("STOP", "in-2");
  const std::string path = "/v1/webhooks/" + a["id"].get<std::string>();
  json view;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    view = call(key_a_, "GET", path, nullptr, 200);
    if (view["enabled"] == false) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(view["enabled"], false);
  EXPECT_NE(view["disabled_reason"].get<std::string>().find("410"), std::string::npos);
  receiver_.answer(200);
  call(key_a_, "PATCH", path, {{"enabled", true}}, 200);
  auto replayed = call(key_a_, "POST", path + "/replay", {{"since", "2000-01-01T00:00:00Z"}}, 202);
  EXPECT_EQ(replayed["replayed"], 4);  // replied, inbound x2, opted_out
  auto all = receiver_.wait_for("/a", 4);
  std::set<std::string> types;
  for (const auto& g : all) types.insert(g.body["type"]);
  EXPECT_TRUE(types.count("recipient.opted_out"));
  for (const auto& g : all) {
    if (g.body["type"] == "recipient.opted_out") {
      EXPECT_EQ(g.body["data"]["phone"], "+966501235001");
    }
  }
}

// A replay queues at most webhooks.replay_limit events and says where the
// rest begin; a second replay while the first one's events are pending is
// refused with 409, and goes once they are delivered.
TEST_F(WebhooksE2E, AReplayQueuesAtMostTheLimitAndASecondWaitsForTheFirst) {
  std::string yaml = sections(receiver_.port());
  yaml.replace(yaml.find("timeout: 2s}"), 12, "timeout: 2s, replay_limit: 4}");
  start(yaml);
  const json a = endpoint(key_a_, "/a");
  const std::string path = "/v1/webhooks/" + a["id"].get<std::string>();
  for (int i = 0; i < 3; ++i) send(key_a_, "+96650123600" + std::to_string(i), "rp-" + std::to_string(i));
  ASSERT_EQ(receiver_.wait_for("/a", 6).size(), 6u);  // sent and delivered of each
  // ... and recorded (answers are recorded in groups, a moment later).
  const auto recorded = std::chrono::steady_clock::now() + 10s;
  while (db_.scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'") != "0" &&
         std::chrono::steady_clock::now() < recorded)
    std::this_thread::sleep_for(20ms);

  receiver_.answer(503);  // the replayed events stay pending
  auto first = call(key_a_, "POST", path + "/replay", {{"since", "2000-01-01T00:00:00Z"}}, 202);
  EXPECT_EQ(first["replayed"], 4) << first.dump();
  ASSERT_TRUE(first["next_since"].is_string()) << first.dump();
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'"), "4");
  auto refused = call(key_a_, "POST", path + "/replay", {{"since", first["next_since"]}}, 409);
  EXPECT_NE(refused.value("detail", "").find("previous replay"), std::string::npos) << refused.dump();

  receiver_.answer(200);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (db_.scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'") != "0" &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  auto rest = call(key_a_, "POST", path + "/replay", {{"since", first["next_since"]}}, 202);
  EXPECT_GE(rest["replayed"].get<int>(), 2) << rest.dump();  // the two left out (and any at the same time)
  EXPECT_LE(rest["replayed"].get<int>(), 4) << rest.dump();
  EXPECT_TRUE(rest["next_since"].is_null()) << rest.dump();
}

// include_body sends message texts and numbers: a key with `manage` alone
// cannot turn it on (403 naming `read`); turning it on is audited as
// webhook.body_enabled, and every delivered event with a body is a read by
// the endpoint (actor webhook:<id>).
TEST_F(WebhooksE2E, IncludeBodyNeedsTheReadScopeAndEveryBodyDeliveredIsAuditedAsARead) {
  start();
  const std::string op = gw_->create_operator_key();
  long status = 0;
  const json made = gw_->json("POST", "/v1/admin/tenants/clinic-a/keys", {{"label", "integrations"}, {"scopes", {"manage"}}},
                              op, &status);
  ASSERT_EQ(status, 201) << made.dump();
  const std::string manager = made["key"];

  auto refused = call(manager, "POST", "/v1/webhooks", {{"url", receiver_.url("/m")}, {"include_body", true}}, 403);
  EXPECT_NE(refused.value("detail", "").find("'read'"), std::string::npos) << refused.dump();
  const json w = endpoint(manager, "/m");  // without bodies it may
  const std::string id = w["id"];
  refused = call(manager, "PATCH", "/v1/webhooks/" + id, {{"include_body", true}}, 403);
  EXPECT_NE(refused.value("detail", "").find("'read'"), std::string::npos) << refused.dump();
  EXPECT_EQ(call(key_a_, "GET", "/v1/webhooks/" + id, nullptr, 200)["include_body"], false);
  call(manager, "PATCH", "/v1/webhooks/" + id, {{"include_body", false}, {"description", "no bodies"}}, 200);
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'webhook.body_enabled'"), "0");

  // A key with read too may; that is its own entry in the audit log.
  call(key_a_, "PATCH", "/v1/webhooks/" + id, {{"include_body", true}}, 200);
  auto page = call(key_a_, "GET", "/v1/audit?limit=200", nullptr, 200);
  std::vector<json> enabled;
  for (const auto& e : page["entries"])
    if (e["action"] == "webhook.body_enabled") enabled.push_back(e);
  ASSERT_EQ(enabled.size(), 1u) << page.dump();
  EXPECT_EQ(enabled[0]["subject"], id);
  EXPECT_EQ(enabled[0]["actor"].get<std::string>().rfind("key:", 0), 0u) << enabled[0].dump();

  // Each event delivered with a body is a read by the endpoint.
  const std::string message = send(key_a_, "+966501236100", "body-1");
  auto got = receiver_.wait_for("/m", 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].body["data"]["body"], "Your appointment is tomorrow");
  std::vector<json> reads;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  std::size_t seen = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    reads.clear();
    seen = 0;
    page = call(key_a_, "GET", "/v1/audit?limit=200", nullptr, 200);
    for (const auto& e : page["entries"])
      if (e["action"] == "message.body_read" && e["actor"] == "webhook:" + id) {
        reads.push_back(e);
        const std::string detail = e["detail"];
        for (std::size_t at = detail.find(message); at != std::string::npos; at = detail.find(message, at + 1)) ++seen;
      }
    if (seen >= 2) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(seen, 2u) << page.dump();  // message.sent and message.delivered
  ASSERT_FALSE(reads.empty());
  EXPECT_EQ(reads[0]["subject"], message);
}

class WebhooksUnderLoadE2E : public WebhooksE2E {};

// Clinic A's endpoint answers after 9 s, with over 1,000 events waiting for it;
// clinic B's events still arrive within 2 s of happening (p99), and A never
// has more than webhooks.endpoint_concurrency (8 by default) requests under way.
TEST_F(WebhooksUnderLoadE2E, ASlowEndpointWithABacklogDoesNotHoldBackAnotherTenantsEvents) {
  std::string yaml = sections(receiver_.port());
  yaml.replace(yaml.find("timeout: 2s}"), 12, "timeout: 15s}");
  start(yaml);
  receiver_.slow("/a", 9s);
  endpoint(key_a_, "/a", {{"events", {"message.sent", "message.delivered"}}});
  endpoint(key_b_, "/b");
  json recipients = json::array();
  for (int i = 0; i < 550; ++i) recipients.push_back("+9665013" + std::to_string(10000 + i));
  call(key_a_, "POST", "/v1/messages/bulk", {{"body", "Your appointment is tomorrow"}, {"recipients", recipients}}, 202);
  const auto backlog_deadline = std::chrono::steady_clock::now() + 60s;
  std::string pending;
  while (std::chrono::steady_clock::now() < backlog_deadline) {
    pending = db_.scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'");
    if (std::stoi(pending) >= 1000) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_GE(std::stoi(pending), 1000) << "A's backlog did not build up";

  // B's events, while A's 9 s requests are under way.
  for (int i = 0; i < 20; ++i) {
    send(key_b_, "+96650137" + std::to_string(1000 + i), "b-" + std::to_string(i));
    std::this_thread::sleep_for(100ms);
  }
  auto got = receiver_.wait_for("/b", 40, 30s);
  ASSERT_EQ(got.size(), 40u) << "B's events are held back; A pending: "
                             << db_.scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'");
  std::vector<double> lags;
  for (const auto& g : got) {
    auto occurred = core::parse_iso8601(g.body["data"]["occurred_at"].get<std::string>());
    ASSERT_TRUE(occurred.has_value()) << g.request.body;
    lags.push_back(std::chrono::duration<double>(g.at - std::chrono::time_point_cast<std::chrono::system_clock::duration>(
                                                           *occurred))
                       .count());
  }
  std::sort(lags.begin(), lags.end());
  const double p99 = lags[static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(lags.size()))) - 1];
  EXPECT_LT(p99, 2.0) << "B's event lag p99 " << p99 << " s (p50 " << lags[lags.size() / 2] << " s)";

  // A: at most 8 requests under way at a time, so at most 8 arrived in the
  // 8.5 s after its first one (each is answered after 9 s).
  std::vector<std::chrono::system_clock::time_point> to_a;
  for (const auto& g : receiver_.all())
    if (g.request.path == "/a") to_a.push_back(g.at);
  ASSERT_FALSE(to_a.empty());
  std::sort(to_a.begin(), to_a.end());
  const auto within = std::count_if(to_a.begin(), to_a.end(), [&](auto t) { return t - to_a.front() < 8500ms; });
  EXPECT_LE(within, 8) << to_a.size() << " requests to A";
}

// A clinic's endpoint that answers each event and closes the connection (an
// HTTP/1.0 server, one request at a time): the 1,000 events of 500 messages
// arrive within 5 s of the bulk, each message's in order. (The sender that
// waited for the database between an endpoint's requests delivered 175
// events/s to bench/webhooks' closing receiver: about 6 s for these.)
TEST_F(WebhooksUnderLoadE2E, AnEndpointThatClosesEveryConnectionGetsItsEventsInSeconds) {
  Http10Receiver http10;
  start(sections(http10.port()));
  call(key_a_, "POST", "/v1/webhooks", {{"url", "http://127.0.0.1:" + std::to_string(http10.port()) + "/events"}}, 201);
  json recipients = json::array();
  for (int i = 0; i < 500; ++i) recipients.push_back("+9665014" + std::to_string(10000 + i));
  const auto sent_at = std::chrono::steady_clock::now();
  call(key_a_, "POST", "/v1/messages/bulk", {{"body", "Your appointment is tomorrow"}, {"recipients", recipients}}, 202);
  std::vector<Http10Receiver::Got> got;
  std::set<std::string> ids;
  const auto deadline = sent_at + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    got = http10.all();
    ids.clear();
    for (const auto& g : got) ids.insert(g.id);
    if (ids.size() >= 1000) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(ids.size(), 1000u) << "events that arrived within a minute";
  const double seconds = std::chrono::duration<double>(got.back().at - sent_at).count();
  EXPECT_LT(seconds, 5.0) << "the 1,000 events took " << seconds << " s";
  // In order per message: its message.sent before its message.delivered.
  std::map<std::string, std::vector<std::string>> per_message;
  for (const auto& g : got)
    if (g.body.is_object()) per_message[g.body["data"]["id"].get<std::string>()].push_back(g.body["type"]);
  ASSERT_EQ(per_message.size(), 500u);
  for (const auto& [id, types] : per_message) {
    ASSERT_GE(types.size(), 2u) << id;
    EXPECT_EQ(types.front(), "message.sent") << id;
    EXPECT_EQ(types.back(), "message.delivered") << id;
  }
}

// A node with its own dispatch.node_id, killed (-9) while it holds leases
// of deliveries (some of them under way to an endpoint that takes 20 s),
// then started again: it takes back what its previous run held at once, so
// every event arrives before those leases would have ended (a node that
// waited for them would miss that deadline by construction).
TEST_F(WebhooksUnderLoadE2E, ANodeStartedAgainAfterACrashDeliversWhatItHeldWithoutWaitingForItsLeases) {
  std::string yaml = sections(receiver_.port());
  const std::string dispatch = "dispatch: {poll_interval: 50ms, lease: 30s}";
  yaml.replace(yaml.find(dispatch), dispatch.size(), "dispatch: {poll_interval: 50ms, lease: 30s, node_id: clinic-node-1}");
  start(yaml);
  receiver_.slow("/a", 20s);
  endpoint(key_a_, "/a");
  json recipients = json::array();
  for (int i = 0; i < 30; ++i) recipients.push_back("+9665015" + std::to_string(10000 + i));
  call(key_a_, "POST", "/v1/messages/bulk", {{"body", "Your appointment is tomorrow"}, {"recipients", recipients}}, 202);
  // Every message delivered (its two events written), and the node holding
  // leases of at least 20 of the 60 events.
  const std::string events = "SELECT COUNT(*) FROM webhook_deliveries";
  const std::string held = "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending' AND lease_owner = 'clinic-node-1'";
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((std::stoi(db_.scalar(events)) < 60 || std::stoi(db_.scalar(held)) < 20) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  ASSERT_EQ(db_.scalar(events), "60") << "not every message was delivered";
  ASSERT_GE(std::stoi(db_.scalar(held)), 20) << "the node did not claim the events";
  gw_->kill9();
  // The soonest any of the dead run's leases would have ended.
  const auto left_us = std::stoll(db_.scalar(
      "SELECT TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), MIN(lease_expires_at)) FROM webhook_deliveries WHERE "
      "status = 'pending' AND lease_owner = 'clinic-node-1'"));
  const auto leases_end = std::chrono::steady_clock::now() + std::chrono::microseconds(left_us);
  ASSERT_GT(left_us, 0);
  receiver_.slow("/a", 0ms);
  start(yaml);
  auto got = receiver_.wait_for("/a", 60, 60s);
  ASSERT_EQ(got.size(), 60u);
  const auto last = std::max_element(got.begin(), got.end(), [](const auto& x, const auto& y) { return x.at < y.at; })->at;
  const auto last_steady = std::chrono::steady_clock::now() - (std::chrono::system_clock::now() - last);
  EXPECT_LT(last_steady, leases_end) << "the last event came "
                                     << std::chrono::duration<double>(last_steady - leases_end).count()
                                     << " s after the dead run's leases would have ended";
}

}  // namespace
}  // namespace barid::testing
