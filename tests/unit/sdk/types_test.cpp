// SDK value types, the ABI rule and guard().
#include <barid/sdk/sdk.hpp>

#include <gtest/gtest.h>

#include <stdexcept>

namespace barid::sdk {
namespace {

TEST(AbiVersion, SameMajorAndNoNewerMinorIsCompatible) {
  EXPECT_TRUE(abi_compatible({1, 0}, {1, 0}));
  EXPECT_TRUE(abi_compatible({1, 3}, {1, 0}));
  EXPECT_TRUE(abi_compatible({1, 3}, {1, 3}));
  EXPECT_FALSE(abi_compatible({1, 3}, {1, 4}));  // the plugin expects more than the host has
  EXPECT_FALSE(abi_compatible({1, 0}, {2, 0}));
  EXPECT_FALSE(abi_compatible({2, 0}, {1, 0}));
  EXPECT_FALSE(abi_compatible({2, 5}, {1, 0}));
  EXPECT_FALSE(abi_compatible({1, 0}, {0, 9}));
}

TEST(AbiVersion, MacrosAndConstantAgree) {
  EXPECT_EQ(kAbiVersion.major, BARID_SDK_ABI_MAJOR);
  EXPECT_EQ(kAbiVersion.minor, BARID_SDK_ABI_MINOR);
  const std::string text = BARID_SDK_VERSION_STRING;
  EXPECT_EQ(text.rfind(std::to_string(BARID_SDK_ABI_MAJOR) + ".", 0), 0u) << text;
}

TEST(Channel, NamesRoundTrip) {
  for (Channel c : {Channel::sms, Channel::whatsapp, Channel::email}) {
    auto back = channel_from_string(to_string(c));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, c);
  }
  EXPECT_FALSE(channel_from_string("SMS").has_value());
  EXPECT_FALSE(channel_from_string("").has_value());
  EXPECT_FALSE(channel_from_string("fax").has_value());
}

TEST(Outcome, HasThreeNames) {
  EXPECT_EQ(to_string(Outcome::ok), "ok");
  EXPECT_EQ(to_string(Outcome::retry), "retry");
  EXPECT_EQ(to_string(Outcome::permanent), "permanent");
}

TEST(SendResult, FactoriesSetTheOutcome) {
  auto ok = SendResult::accepted("SM1");
  EXPECT_EQ(ok.outcome, Outcome::ok);
  EXPECT_EQ(ok.provider_message_id, "SM1");
  EXPECT_EQ(ok.status, MessageStatus::sent);
  EXPECT_EQ(SendResult::accepted("SM2", MessageStatus::delivered).status, MessageStatus::delivered);

  auto retry = SendResult::transient({"429", "slow down"}, std::chrono::milliseconds(1500));
  EXPECT_EQ(retry.outcome, Outcome::retry);
  EXPECT_EQ(retry.error.code, "429");
  ASSERT_TRUE(retry.retry_after.has_value());
  EXPECT_EQ(*retry.retry_after, std::chrono::milliseconds(1500));
  EXPECT_FALSE(SendResult::transient({"503", ""}).retry_after.has_value());

  auto permanent = SendResult::rejected({"21610", "unsubscribed"}, true);
  EXPECT_EQ(permanent.outcome, Outcome::permanent);
  EXPECT_TRUE(permanent.recipient_opted_out);
  EXPECT_FALSE(SendResult::rejected({"21211", "invalid number"}).recipient_opted_out);
  // A default-constructed result is not a success.
  EXPECT_EQ(SendResult{}.outcome, Outcome::permanent);
}

TEST(CallbackResult, FactoriesSetTheVerdict) {
  EXPECT_EQ(CallbackResult::accept().verdict, CallbackResult::Verdict::accepted);
  auto forbidden = CallbackResult::forbidden("bad signature");
  EXPECT_EQ(forbidden.verdict, CallbackResult::Verdict::forbidden);
  EXPECT_EQ(forbidden.reason, "bad signature");
  EXPECT_EQ(CallbackResult::malformed("x").verdict, CallbackResult::Verdict::bad_request);
  EXPECT_EQ(CallbackResult{}.verdict, CallbackResult::Verdict::bad_request);
}

TEST(PluginDescriptor, AnswersChannelAndCapabilityQuestions) {
  PluginDescriptor d;
  d.channels = {Channel::sms};
  d.capabilities = Capability::status_polling | Capability::cost_reporting;
  EXPECT_TRUE(d.serves(Channel::sms));
  EXPECT_FALSE(d.serves(Channel::whatsapp));
  EXPECT_TRUE(d.has(Capability::status_polling));
  EXPECT_TRUE(d.has(Capability::cost_reporting));
  EXPECT_FALSE(d.has(Capability::status_webhooks));
  EXPECT_FALSE(d.has(Capability::inbound_messages));
  EXPECT_FALSE(d.has(Capability::provider_templates));
  // The flags are distinct bits with distinct names.
  std::uint32_t all = 0;
  for (Capability c : kAllCapabilities) {
    EXPECT_EQ(all & static_cast<std::uint32_t>(c), 0u) << to_string(c);
    all |= static_cast<std::uint32_t>(c);
    EXPECT_NE(to_string(c), "unknown");
  }
}

TEST(ProviderConfig, GetReturnsEmptyForAbsentKeys) {
  ProviderConfig c;
  c.values["a"] = "1";
  EXPECT_EQ(c.get("a"), "1");
  EXPECT_EQ(c.get("b"), "");
}

TEST(Guard, PassesTheValueThrough) {
  auto r = guard([] { return SendResult::accepted("X"); },
                 [](std::string) { return SendResult::transient({"", "unreachable"}); });
  EXPECT_EQ(r.outcome, Outcome::ok);
}

TEST(Guard, TurnsAStdExceptionIntoTheErrorValue) {
  auto r = guard([]() -> SendResult { throw std::runtime_error("boom"); },
                 [](std::string why) { return SendResult::transient({"", why}); });
  EXPECT_EQ(r.outcome, Outcome::retry);
  EXPECT_EQ(r.error.message, "internal error: boom");
}

TEST(Guard, TurnsAnythingElseIntoTheErrorValue) {
  auto r = guard([]() -> CallbackResult { throw 42; },
                 [](std::string why) { return CallbackResult::malformed(why); });
  EXPECT_EQ(r.verdict, CallbackResult::Verdict::bad_request);
  EXPECT_EQ(r.reason, "internal error");
  static_assert(noexcept(guard([] { return 1; }, [](std::string) { return 0; })));
}

}  // namespace
}  // namespace barid::sdk
