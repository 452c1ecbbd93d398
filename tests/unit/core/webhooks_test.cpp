// Event webhooks without a network or a database: the Standard Webhooks
// signature (the specification's own example), endpoint URLs, event types,
// and what follows each kind of answer (backoff, Retry-After, 410 Gone,
// giving up, disabling a failing endpoint).

#include <barid/core/webhook_sender.hpp>
#include <barid/core/net_address.hpp>
#include <barid/core/webhooks.hpp>

#include <gtest/gtest.h>

#include <set>

namespace barid::core {
namespace {

using namespace std::chrono_literals;

TEST(WebhookSignature, MatchesTheStandardWebhooksExample) {
  // The example of the Standard Webhooks specification.
  EXPECT_EQ(sign_webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                         "{\"test\": 2432232314}"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  // Anything else signed differs.
  EXPECT_NE(sign_webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331,
                         "{\"test\": 2432232314}"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  EXPECT_EQ(sign_webhook("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "id", 1, "{}"), "");  // no whsec_ prefix
  EXPECT_EQ(sign_webhook("whsec_not*base64", "id", 1, "{}"), "");
}

TEST(WebhookSecret, IsWhsecAndBase64OfThirtyTwoRandomBytes) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string s = new_webhook_secret();
    ASSERT_EQ(s.rfind("whsec_", 0), 0u);
    EXPECT_EQ(s.size(), 6u + 44u);  // 32 bytes in base64
    EXPECT_FALSE(sign_webhook(s, "evt_1", 1, "{}").empty());
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(WebhookUrl, HttpsOrAnAllowedHttpHost) {
  const WebhookHostRules allow{{"127.0.0.1:8080"}, {}};
  EXPECT_EQ(webhook_url_problem("https://clinic.example/hooks/barid", {}), "");
  EXPECT_EQ(webhook_url_problem("https://clinic.example:8443/h?x=1", {}), "");
  EXPECT_EQ(webhook_url_problem("http://127.0.0.1:8080/hook", allow), "");
  EXPECT_NE(webhook_url_problem("http://127.0.0.1:8080/hook", {}), "");
  EXPECT_NE(webhook_url_problem("http://clinic.example/hook", allow), "");
  EXPECT_NE(webhook_url_problem("ftp://clinic.example/hook", allow), "");
  EXPECT_NE(webhook_url_problem("https://", {}), "");
  EXPECT_NE(webhook_url_problem("https://user:pw@clinic.example/", {}), "");
  EXPECT_NE(webhook_url_problem("https://clinic.example/a b", {}), "");
  EXPECT_NE(webhook_url_problem("https://clinic.example:99999999/", {}), "");
  EXPECT_NE(webhook_url_problem("https://clinic.example:99999/", {}), "");
  EXPECT_NE(webhook_url_problem("https://clinic.example:0/", {}), "");
  EXPECT_NE(webhook_url_problem("https://clinic.example/" + std::string(2100, 'a'), {}), "");
  EXPECT_EQ(webhook_url_problem("http://127.0.0.1@evil.example/", allow).empty(), false);
}

// allow_hosts opens one port of a host; the deprecated allow_http_hosts
// (any_port_hosts) every port.
TEST(WebhookUrl, AllowHostsListsHostAndPort) {
  const WebhookHostRules allow{{"127.0.0.1:8080", "[::1]:9000", "hooks.internal:443"}, {}};
  EXPECT_EQ(webhook_url_problem("http://127.0.0.1:8080/hook", allow), "");
  EXPECT_NE(webhook_url_problem("http://127.0.0.1:8081/hook", allow), "");
  EXPECT_NE(webhook_url_problem("https://127.0.0.1:22/", allow), "");
  EXPECT_EQ(webhook_url_problem("http://[::1]:9000/h", allow), "");
  EXPECT_NE(webhook_url_problem("http://[::1]:9001/h", allow), "");
  EXPECT_TRUE(webhook_host_listed("https://HOOKS.internal/x", allow));  // 443 when none is named
  EXPECT_FALSE(webhook_host_listed("http://hooks.internal/x", allow));  // 80
  EXPECT_FALSE(webhook_host_listed("https://127.0.0.1:8080@x/", allow));

  const WebhookHostRules old{{}, {"127.0.0.1"}};
  EXPECT_EQ(webhook_url_problem("http://127.0.0.1:8080/hook", old), "");
  EXPECT_EQ(webhook_url_problem("http://127.0.0.1:22/", old), "");
  EXPECT_TRUE(webhook_host_listed("http://127.0.0.1:1/", old));
}

// Addresses written in the URL are refused at registration, in every form
// the resolver reads them.
TEST(WebhookUrl, RefusesInternalAddressesWrittenInTheUrl) {
  for (const char* url :
       {"https://127.0.0.1/h", "https://10.0.0.1/h", "https://172.16.5.4/h", "https://192.168.1.1:8443/h",
        "https://169.254.169.254/latest/meta-data/", "https://169.254.1.1/", "https://100.64.0.1/", "https://0.0.0.0/",
        "https://224.0.0.1/", "https://255.255.255.255/", "https://[::1]/h", "https://[::]/", "https://[fe80::1]/",
        "https://[fd00::1]/", "https://[fc00::5]/", "https://[ff02::1]/", "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:a9fe:a9fe]/", "https://[64:ff9b::10.0.0.1]/", "https://127.1/", "https://2130706433/",
        "https://0x7f000001/", "https://017700000001/", "https://[fd00:ec2::254]/"}) {
    EXPECT_NE(webhook_url_problem(url, {}), "") << url;
    EXPECT_TRUE(webhook_address_refused(url, {})) << url;
  }
  for (const char* url : {"https://93.184.216.34/h", "https://[2606:4700::1111]/h", "https://1.1.1.1:8443/",
                          "https://127.0.0.1.example.com/", "https://10.example/", "https://localhost.clinic.example/"}) {
    EXPECT_EQ(webhook_url_problem(url, {}), "") << url;
    EXPECT_FALSE(webhook_address_refused(url, {})) << url;
  }
  EXPECT_NE(webhook_url_problem("https://[not-v6]/", {}), "");
  EXPECT_NE(webhook_url_problem("https://[::1]x/", {}), "");
  // Listed: allowed, port included.
  EXPECT_EQ(webhook_url_problem("https://10.0.0.1:8443/h", {{"10.0.0.1:8443"}, {}}), "");
  EXPECT_TRUE(webhook_address_refused("https://10.0.0.1:8444/h", {{"10.0.0.1:8443"}, {}}));
  // Names are judged by what they resolve to, at each delivery.
  EXPECT_FALSE(webhook_address_refused("https://localhost/h", {}));
}

TEST(NetAddress, KindsOfRefusedAddresses) {
  EXPECT_EQ(refused_literal_kind("127.0.0.1"), "loopback");
  EXPECT_EQ(refused_literal_kind("10.0.0.1"), "private (RFC 1918)");
  EXPECT_EQ(refused_literal_kind("172.31.255.255"), "private (RFC 1918)");
  EXPECT_EQ(refused_literal_kind("172.32.0.1"), "");
  EXPECT_EQ(refused_literal_kind("192.168.0.1"), "private (RFC 1918)");
  EXPECT_EQ(refused_literal_kind("169.254.169.254"), "cloud metadata");
  EXPECT_EQ(refused_literal_kind("169.254.0.9"), "link-local");
  EXPECT_EQ(refused_literal_kind("100.64.0.0"), "shared (CGNAT)");
  EXPECT_EQ(refused_literal_kind("100.127.255.255"), "shared (CGNAT)");
  EXPECT_EQ(refused_literal_kind("100.128.0.0"), "");
  EXPECT_EQ(refused_literal_kind("0.0.0.0"), "unspecified");
  EXPECT_EQ(refused_literal_kind("239.1.2.3"), "multicast");
  EXPECT_EQ(refused_literal_kind("8.8.8.8"), "");
  EXPECT_EQ(refused_literal_kind("[::1]"), "loopback");
  EXPECT_EQ(refused_literal_kind("[::]"), "unspecified");
  EXPECT_EQ(refused_literal_kind("[fe80::abcd]"), "link-local");
  EXPECT_EQ(refused_literal_kind("[fdaa::1]"), "unique-local");
  EXPECT_EQ(refused_literal_kind("[ff05::2]"), "multicast");
  EXPECT_EQ(refused_literal_kind("[::ffff:10.1.2.3]"), "private (RFC 1918)");
  EXPECT_EQ(refused_literal_kind("[2001:db8::1]"), "");
  EXPECT_EQ(refused_literal_kind("clinic.example"), std::nullopt);
  EXPECT_EQ(refused_literal_kind("localhost"), std::nullopt);
}

TEST(WebhookEvents, TypesAndTheStatusesThatAreEvents) {
  EXPECT_TRUE(is_webhook_event_type("message.delivered"));
  EXPECT_TRUE(is_webhook_event_type("recipient.opted_out"));
  EXPECT_FALSE(is_webhook_event_type("message.queued"));
  EXPECT_EQ(webhook_event_for(MessageStatus::delivered), "message.delivered");
  EXPECT_EQ(webhook_event_for(MessageStatus::suppressed), "message.suppressed");
  EXPECT_EQ(webhook_event_for(MessageStatus::expired), "message.expired");
  EXPECT_EQ(webhook_event_for(MessageStatus::queued), "");
  EXPECT_EQ(webhook_event_for(MessageStatus::sending), "");
  EXPECT_EQ(webhook_event_for(MessageStatus::canceled), "");
}

// What the audit counts as a read by the endpoint: the events that carry a
// message's text and number because of include_body.
TEST(WebhookEvents, ThoseThatCarryABodyAreTheIncludeBodyOnes) {
  WebhookEndpoint w;
  EXPECT_FALSE(webhook_event_carries_body(w, "message.delivered"));  // include_body off
  w.include_body = true;
  EXPECT_TRUE(webhook_event_carries_body(w, "message.sent"));
  EXPECT_TRUE(webhook_event_carries_body(w, "message.failed"));
  EXPECT_TRUE(webhook_event_carries_body(w, "inbound.received"));
  EXPECT_FALSE(webhook_event_carries_body(w, "message.replied"));
  EXPECT_FALSE(webhook_event_carries_body(w, "recipient.opted_out"));
}

class WebhookOutcome : public ::testing::Test {
 protected:
  WebhookOutcome() {
    options_.initial_backoff = 1s;
    options_.max_backoff = 60s;
    options_.give_up_after = 24h;
    options_.disable_after = 48h;
    d_.event.occurred_at = now_;
    d_.created_at = now_;
    d_.attempts = 1;
  }
  WebhookAttemptOutcome after(int status, std::optional<std::chrono::seconds> retry_after = std::nullopt) {
    return webhook_attempt_outcome(options_, d_, status, retry_after, status ? "HTTP " + std::to_string(status) : "",
                                   5ms, now_);
  }
  WebhookOptions options_;
  WebhookDelivery d_;
  TimePoint now_ = now_us();
};

TEST_F(WebhookOutcome, TwoHundredsAreDelivered) {
  for (int status : {200, 201, 204, 299}) {
    auto o = after(status);
    EXPECT_TRUE(o.delivered) << status;
    EXPECT_FALSE(o.next_attempt_at.has_value());
  }
}

TEST_F(WebhookOutcome, FailuresBackOffExponentiallyWithJitter) {
  for (int attempt = 1; attempt <= 10; ++attempt) {
    d_.attempts = attempt;
    const auto full = std::min<std::chrono::milliseconds>(1000ms * (1LL << (attempt - 1)), 60s);
    for (int k = 0; k < 20; ++k) {
      auto o = after(attempt % 2 ? 500 : 0);
      ASSERT_FALSE(o.delivered);
      ASSERT_TRUE(o.next_attempt_at.has_value());
      const auto delay = *o.next_attempt_at - now_;
      EXPECT_GE(delay, full / 2) << attempt;
      EXPECT_LE(delay, full) << attempt;
    }
  }
}

TEST_F(WebhookOutcome, RetryAfterOfA429Or503IsHonoured) {
  auto o = after(429, 30s);
  ASSERT_TRUE(o.next_attempt_at.has_value());
  EXPECT_GE(*o.next_attempt_at - now_, 30s);
  o = after(503, 7200s);  // at most an hour
  EXPECT_LE(*o.next_attempt_at - now_, std::chrono::hours(1));
  EXPECT_GE(*o.next_attempt_at - now_, std::chrono::hours(1));
  o = after(500, 30s);  // not for other statuses
  EXPECT_LE(*o.next_attempt_at - now_, 1s);
}

TEST_F(WebhookOutcome, GoneDisablesTheEndpoint) {
  auto o = after(410);
  EXPECT_FALSE(o.delivered);
  EXPECT_NE(o.disable_reason.find("410"), std::string::npos);
  EXPECT_TRUE(o.next_attempt_at.has_value());  // kept for when it is enabled again
}

TEST_F(WebhookOutcome, AnEndpointFailingForDaysIsDisabled) {
  d_.endpoint.failing_since = now_ - 47h;
  EXPECT_EQ(after(500).disable_reason, "");
  d_.endpoint.failing_since = now_ - 49h;
  auto o = after(500);
  EXPECT_EQ(o.disable_reason.rfind("failing since ", 0), 0u);
}

TEST_F(WebhookOutcome, AnEventIsGivenUpAfterItsTime) {
  d_.event.occurred_at = now_ - 25h;
  d_.created_at = now_ - 25h;
  auto o = after(500);
  EXPECT_FALSE(o.delivered);
  EXPECT_FALSE(o.next_attempt_at.has_value());
  d_.created_at = now_ - 1h;  // replayed an hour ago: its own day starts then
  EXPECT_TRUE(after(500).next_attempt_at.has_value());
}

}  // namespace
}  // namespace barid::core
