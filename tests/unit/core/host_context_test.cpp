// What the gateway lends a provider instance: secret redaction, digests and
// the instance's webhook URLs.
#include <barid/core/host_context.hpp>
#include <barid/sdk/encoding.hpp>

#include <gtest/gtest.h>

namespace barid::core {
namespace {

// What is left once every "[redacted]" marker is taken out.
std::string without_markers(std::string s) {
  for (auto pos = s.find("[redacted]"); pos != std::string::npos; pos = s.find("[redacted]")) s.erase(pos, 10);
  return s;
}

TEST(Redact, ReplacesEveryOccurrenceOfEverySecret) {
  EXPECT_EQ(redact("token=s3cr3t&again=s3cr3t", {"s3cr3t"}), "token=[redacted]&again=[redacted]");
  EXPECT_EQ(redact("user=AC123 pass=hunter2", {"AC123", "hunter2"}), "user=[redacted] pass=[redacted]");
  // Back to back: nothing of either copy remains.
  EXPECT_EQ(without_markers(redact("s3cr3ts3cr3t", {"s3cr3t"})), "");
}

TEST(Redact, LeavesTextWithoutSecretsAlone) {
  EXPECT_EQ(redact("nothing to hide", {"s3cr3t"}), "nothing to hide");
  EXPECT_EQ(redact("", {"s3cr3t"}), "");
  EXPECT_EQ(redact("text", {}), "text");
}

TEST(Redact, IgnoresEmptySecrets) {
  // An empty secret (an optional secret key left unset) must not match
  // everywhere.
  EXPECT_EQ(redact("some text", {""}), "some text");
  EXPECT_EQ(redact("key=abc", {"", "abc"}), "key=[redacted]");
}

TEST(Redact, ASecretThatLooksLikeTheMarkerDoesNotLoop) {
  EXPECT_EQ(redact("x[redacted]y", {"[redacted]"}), "x[redacted]y");
  EXPECT_EQ(without_markers(redact("aaaa", {"a"})), "");
}

// Two secrets where one contains the other (an account's API key and a
// webhook secret built from it, say): nothing of the longer may remain.
TEST(Redact, NoPartOfALongerSecretSurvivesAShorterOne) {
  const std::string out = redact("auth=abc123xyz", {"abc123", "abc123xyz"});
  EXPECT_EQ(without_markers(out), "auth=") << out;
}

// Two secrets that overlap without either containing the other.
TEST(Redact, NoPartOfOverlappingSecretsSurvives) {
  const std::string out = redact("auth=abc123xyz;", {"abc123", "123xyz"});
  EXPECT_EQ(without_markers(out), "auth=;") << out;
}

std::string hex(const std::string& raw) { return sdk::hex_encode(raw); }

TEST(OpenSslCrypto, HmacSha256MatchesRfc4231) {
  OpenSslCrypto crypto;
  // RFC 4231 test case 2.
  EXPECT_EQ(hex(crypto.hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 1: key 20 x 0x0b, "Hi There".
  EXPECT_EQ(hex(crypto.hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(OpenSslCrypto, HmacSha1MatchesRfc2202) {
  OpenSslCrypto crypto;
  EXPECT_EQ(hex(crypto.hmac_sha1("Jefe", "what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(hex(crypto.hmac_sha1(std::string(20, '\x0b'), "Hi There")),
            "b617318655057264e28bc0b6fb378c8ef146be00");
}

TEST(OpenSslCrypto, Sha256MatchesFips180) {
  OpenSslCrypto crypto;
  EXPECT_EQ(hex(crypto.sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(crypto.sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(OpenSslCrypto, DigestsAreRawBytes) {
  OpenSslCrypto crypto;
  EXPECT_EQ(crypto.hmac_sha1("k", "d").size(), 20u);
  EXPECT_EQ(crypto.hmac_sha256("k", "d").size(), 32u);
  EXPECT_EQ(crypto.sha256("d").size(), 32u);
  // Binary keys and data with NUL bytes are taken whole.
  EXPECT_NE(crypto.hmac_sha256(std::string("a\0b", 3), "x"), crypto.hmac_sha256("a", "x"));
}

TEST(GatewayHostContext, BuildsWebhookUrlsFromThePublicBaseUrl) {
  GatewayHostContext ctx("twilio-main", std::make_shared<PublicUrl>("https://gw.example.com/"), HttpClientOptions{},
                         {});
  EXPECT_EQ(ctx.webhook_url("status"), "https://gw.example.com/webhooks/twilio-main/status");
  GatewayHostContext no_slash("mock-sms", std::make_shared<PublicUrl>("http://127.0.0.1:8080"), HttpClientOptions{},
                              {});
  EXPECT_EQ(no_slash.webhook_url("inbound"), "http://127.0.0.1:8080/webhooks/mock-sms/inbound");
}

TEST(GatewayHostContext, HasNoWebhookUrlWithoutAPublicBaseUrl) {
  GatewayHostContext empty("mock-sms", std::make_shared<PublicUrl>(""), HttpClientOptions{}, {});
  EXPECT_EQ(empty.webhook_url("status"), "");
  GatewayHostContext none("mock-sms", nullptr, HttpClientOptions{}, {});
  EXPECT_EQ(none.webhook_url("status"), "");
}

// The gateway learns its bound address after the instances exist (port 0):
// contexts made earlier follow the shared URL.
TEST(GatewayHostContext, FollowsAPublicUrlSetLater) {
  auto url = std::make_shared<PublicUrl>();
  GatewayHostContext ctx("mock-sms", url, HttpClientOptions{}, {});
  EXPECT_EQ(ctx.webhook_url("status"), "");
  url->set("http://127.0.0.1:41234");
  EXPECT_EQ(ctx.webhook_url("status"), "http://127.0.0.1:41234/webhooks/mock-sms/status");
}

TEST(GatewayHostContext, ClockIsTheSystemClock) {
  GatewayHostContext ctx("mock-sms", nullptr, HttpClientOptions{}, {});
  const auto before = std::chrono::system_clock::now();
  const auto t = ctx.now();
  EXPECT_GE(t, before);
  EXPECT_LE(t, std::chrono::system_clock::now());
}

}  // namespace
}  // namespace barid::core
