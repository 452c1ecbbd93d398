// The gateway's HTTP client against a server on 127.0.0.1: how much of a
// response it reads (providers fail past the limit with response-too-large;
// webhooks keep the status and cut the body).

#include "streaming_server.hpp"

#include <barid/core/http_client.hpp>

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace barid::core
