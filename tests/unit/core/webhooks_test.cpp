// Event webhooks without a network or a database: the Standard Webhooks
// signature (the specification's own example), endpoint URLs, event types,
// and what follows each kind of answer (backoff, Retry-After, 410 Gone,
// giving up, disabling a failing endpoint).

#include <barid/core/webhook_sender.hpp>
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
  const std::vector<std::string> allow{"127.0.0.1"};
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
  EXPECT_NE(webhook_url_problem("https://clinic.example/" + std::string(2100, 'a'), {}), "");
  EXPECT_EQ(webhook_url_problem("http://127.0.0.1@evil.example/", allow).empty(), false);
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
