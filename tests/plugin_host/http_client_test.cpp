// The gateway's HTTP client against a server on 127.0.0.1: how much of a
// response it reads (providers fail past the limit with response-too-large;
// webhooks keep the status and cut the body), which addresses it refuses to
// connect to when asked to (webhooks), and requests started without a
// thread each (start(), for webhooks).

#include "streaming_server.hpp"

#include <barid/core/http_client.hpp>

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace barid::core {
namespace {

using barid::testing::StreamingServer;
using namespace std::chrono_literals;

StreamingServer::Options answering(int status, std::size_t body_bytes) {
  StreamingServer::Options o;
  o.status = status;
  o.body_bytes = body_bytes;
  return o;
}

sdk::HttpRequest post(const std::string& url) {
  sdk::HttpRequest r;
  r.method = "POST";
  r.url = url;
  r.body = "{}";
  return r;
}

TEST(HttpClientLimits, AProviderResponsePastTheLimitFailsWithResponseTooLarge) {
  StreamingServer server(answering(200, (1u << 20) + 1));
  CurlHttpClient http;  // a provider's: 1 MiB by default
  auto r = http.perform(post(server.url("/send")));
  EXPECT_TRUE(r.transport_failed());
  EXPECT_EQ(r.error, sdk::TransportError::other);
  EXPECT_EQ(r.error_message, "response-too-large");
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(http.stats().transport_errors, 1u);

  // At the limit exactly: read whole.
  StreamingServer fits(answering(200, 1u << 20));
  auto ok = http.perform(post(fits.url("/send")));
  EXPECT_FALSE(ok.transport_failed()) << ok.error_message;
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body.size(), 1u << 20);
}

TEST(HttpClientLimits, AnEndlessProviderResponseStopsAtTheLimit) {
  StreamingServer server(answering(200, 0));
  HttpClientOptions o;
  o.max_response_bytes = 64 * 1024;
  CurlHttpClient http(o);
  auto r = http.perform(post(server.url("/send")));
  EXPECT_EQ(r.error_message, "response-too-large");
  EXPECT_LT(r.elapsed, 5s);
}

TEST(HttpClientLimits, AWebhookResponseIsCutAndKeepsItsStatus) {
  StreamingServer server(answering(200, 0));  // without end
  StreamingServer failing(answering(503, 0));
  HttpClientOptions o;
  o.max_response_bytes = 64 * 1024;
  o.fail_large_responses = false;
  CurlHttpClient http(o);
  for (int i = 0; i < 3; ++i) {  // the connection is closed each time, never reused half-read
    auto r = http.perform(post(server.url("/hook")));
    EXPECT_FALSE(r.transport_failed()) << r.error_message;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.size(), 64u * 1024);
    EXPECT_EQ(r.header("content-type"), "text/plain");
  }
  EXPECT_EQ(server.requests(), 3u);
  auto r = http.perform(post(failing.url("/hook")));
  EXPECT_EQ(r.status, 503);
  EXPECT_FALSE(r.transport_failed());
}

HttpClientOptions guarded(std::function<bool(const std::string&)> listed = {}) {
  HttpClientOptions o;
  o.connect_timeout = 2000ms;
  o.total_timeout = 5000ms;
  o.refuse_internal_addresses = true;
  o.may_reach_any_address = std::move(listed);
  return o;
}

TEST(HttpClientAddresses, RefusesLoopbackAddressesAndNamesThatResolveToThem) {
  StreamingServer server(answering(200, 2));
  CurlHttpClient http(guarded());
  const std::string port = std::to_string(server.port());
  for (const std::string& url : {"http://127.0.0.1:" + port + "/h", "http://localhost:" + port + "/h",
                                 "http://127.1:" + port + "/h", "http://[::1]:" + port + "/h"}) {
    auto r = http.perform(post(url));
    EXPECT_TRUE(r.transport_failed()) << url;
    EXPECT_EQ(r.error, sdk::TransportError::connect) << url;
    EXPECT_EQ(r.error_message, "address-not-allowed") << url;
  }
  EXPECT_EQ(server.requests(), 0u);  // not one connection made
}

TEST(HttpClientAddresses, AListedHostAndPortReachesIt) {
  StreamingServer server(answering(200, 2));
  const std::string listed = "http://127.0.0.1:" + std::to_string(server.port());
  CurlHttpClient http(guarded([listed](const std::string& url) { return url.rfind(listed + "/", 0) == 0; }));
  auto r = http.perform(post(listed + "/h"));
  EXPECT_FALSE(r.transport_failed()) << r.error_message;
  EXPECT_EQ(r.status, 200);
  // Another port of the same host is not listed.
  StreamingServer other(answering(200, 2));
  auto refused = http.perform(post("http://127.0.0.1:" + std::to_string(other.port()) + "/h"));
  EXPECT_EQ(refused.error_message, "address-not-allowed");
  EXPECT_EQ(other.requests(), 0u);
}

TEST(HttpClientAddresses, AnUnguardedClientConnectsAnywhere) {
  StreamingServer server(answering(200, 2));
  CurlHttpClient http;
  auto r = http.perform(post("http://localhost:" + std::to_string(server.port()) + "/h"));
  EXPECT_EQ(r.status, 200) << r.error_message;
}

// Waits for `n` answers of start() (or 10 s).
struct Answers {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<sdk::HttpResponse> got;
  CurlHttpClient::Done collect() {
    return [this](sdk::HttpResponse r) {
      std::lock_guard lock(mutex);
      got.push_back(std::move(r));
      cv.notify_all();
    };
  }
  std::vector<sdk::HttpResponse> wait(std::size_t n) {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, 10s, [&] { return got.size() >= n; });
    return got;
  }
};

// Many requests under way at once on the client's one thread, each answered
// on its own, with the same limits and address checks as perform().
TEST(HttpClientStart, ManyRequestsAreUnderWayAtOnceEachWithItsOwnAnswer) {
  StreamingServer ok(answering(200, 2));
  StreamingServer failing(answering(503, 2));
  StreamingServer endless(answering(200, 0));
  HttpClientOptions o = guarded([&](const std::string& url) { return url.find("127.0.0.1") != std::string::npos; });
  o.max_response_bytes = 64 * 1024;
  o.fail_large_responses = false;
  CurlHttpClient http(o);
  Answers answers;
  for (int i = 0; i < 40; ++i) http.start(post(ok.url("/h")), answers.collect());
  for (int i = 0; i < 5; ++i) http.start(post(failing.url("/h")), answers.collect());
  http.start(post(endless.url("/h")), answers.collect());
  http.start(post("http://localhost:" + std::to_string(ok.port()) + "/h"), answers.collect());  // not listed
  auto got = answers.wait(47);
  ASSERT_EQ(got.size(), 47u);
  std::map<std::string, int> outcomes;
  for (const auto& r : got)
    ++outcomes[r.transport_failed() ? r.error_message : std::to_string(r.status) + "/" + std::to_string(r.body.size())];
  EXPECT_EQ(outcomes, (std::map<std::string, int>{{"200/2", 40}, {"503/2", 5}, {"200/65536", 1},
                                                  {"address-not-allowed", 1}}));
  EXPECT_EQ(ok.requests(), 40u);
  EXPECT_EQ(http.stats().requests, 47u);
}

// A client destroyed with requests under way ends them: each still gets
// its answer, a transport error.
TEST(HttpClientStart, AClientDestroyedWithRequestsUnderWayEndsThem) {
  StreamingServer endless(answering(200, 0));
  Answers answers;
  {
    HttpClientOptions o;
    o.max_response_bytes = 0;  // read without end
    CurlHttpClient http(o);
    for (int i = 0; i < 3; ++i) http.start(post(endless.url("/h")), answers.collect());
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (endless.connections() < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
    ASSERT_EQ(endless.connections(), 3u);
  }
  auto got = answers.wait(3);
  ASSERT_EQ(got.size(), 3u);
  for (const auto& r : got) {
    EXPECT_TRUE(r.transport_failed());
    EXPECT_EQ(r.error, sdk::TransportError::other);
  }
}

}  // namespace
}  // namespace barid::core
