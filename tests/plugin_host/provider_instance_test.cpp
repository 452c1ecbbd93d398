// Provider instances: configuration validated against the plugin's declared
// keys, the factory called with a HostContext, and the library kept loaded
// while anything made from it lives.
#include "test_host_context.hpp"

#include <barid/core/host_context.hpp>
#include <barid/core/plugin_host.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <dlfcn.h>

#include <memory>

namespace barid::core {
namespace {

using ::testing::HasSubstr;
using test_host::Journal;
using test_host::TestHostContextFactory;

using Raw = std::map<std::string, std::string>;

// True while the dynamic linker has `file` loaded (in this process).
bool is_loaded(const char* file) {
  void* handle = dlopen(file, RTLD_NOW | RTLD_NOLOAD);
  if (!handle) return false;
  dlclose(handle);
  return true;
}

std::shared_ptr<const LoadedPlugin> load_or_die(PluginHost& host, const char* file) {
  auto r = host.load(file);
  if (!r.ok()) ADD_FAILURE() << r.error().message;
  return r.ok() ? *r : nullptr;
}

sdk::OutboundMessage message_to(std::string to, std::string body = "hi") {
  sdk::OutboundMessage m;
  m.id = "0190f0e4-0000-7000-8000-000000000001";
  m.to = std::move(to);
  m.body = std::move(body);
  m.segments = 2;
  return m;
}

// --- validate_provider_config ---------------------------------------------------

class ValidateConfig : public ::testing::Test {
 protected:
  void SetUp() override { plugin_ = load_or_die(host_, BARID_TP_GOOD_SO); }
  const sdk::PluginDescriptor& descriptor() const { return plugin_->descriptor(); }

  PluginHost host_;
  std::shared_ptr<const LoadedPlugin> plugin_;
};

TEST_F(ValidateConfig, FillsDefaultsAndKeepsOnlyDeclaredKeys) {
  auto r = validate_provider_config(descriptor(), "acme-sms", {{"endpoint", "https://api.acme"}, {"token", "t0k"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->instance_name, "acme-sms");
  EXPECT_EQ(r->values, (Raw{{"endpoint", "https://api.acme"}, {"token", "t0k"}, {"greeting", "hello"}, {"region", ""}}));
}

TEST_F(ValidateConfig, GivenValuesOverrideDefaults) {
  auto r = validate_provider_config(descriptor(), "x",
                                    {{"endpoint", "e"}, {"token", "t"}, {"greeting", "salam"}, {"region", "SA"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get("greeting"), "salam");
  EXPECT_EQ(r->get("region"), "SA");
}

// An empty value (e.g. a YAML null, or ${VAR:-} with VAR unset) is not given.
TEST_F(ValidateConfig, AnOptionalKeyGivenEmptyTakesItsDefault) {
  auto r = validate_provider_config(descriptor(), "x", {{"endpoint", "e"}, {"token", "t"}, {"greeting", ""}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->get("greeting"), "hello");
}

TEST_F(ValidateConfig, RejectsAnUnknownKeyNamingInstancePluginAndKey) {
  auto r = validate_provider_config(descriptor(), "acme-sms",
                                    {{"endpoint", "e"}, {"token", "t"}, {"tokne", "typo"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::invalid);
  EXPECT_EQ(r.error().field, "providers.acme-sms.config.tokne");
  const std::string& m = r.error().message;
  EXPECT_THAT(m, HasSubstr("provider instance 'acme-sms'"));
  EXPECT_THAT(m, HasSubstr("plugin 'testgood'"));
  EXPECT_THAT(m, HasSubstr("unknown config key 'tokne'"));
  EXPECT_THAT(m, HasSubstr("known keys: endpoint, greeting, region, token"));
}

TEST_F(ValidateConfig, RejectsAMissingRequiredKeyNamingInstancePluginAndKey) {
  auto r = validate_provider_config(descriptor(), "acme-sms", {{"endpoint", "e"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "providers.acme-sms.config.token");
  const std::string& m = r.error().message;
  EXPECT_THAT(m, HasSubstr("provider instance 'acme-sms'"));
  EXPECT_THAT(m, HasSubstr("plugin 'testgood'"));
  EXPECT_THAT(m, HasSubstr("missing required config key 'token'"));
  EXPECT_THAT(m, HasSubstr("the API token"));  // the key's description says what it is
}

TEST_F(ValidateConfig, AnEmptyRequiredValueIsMissing) {
  // What an unset ${TOKEN:-} becomes.
  auto r = validate_provider_config(descriptor(), "acme-sms", {{"endpoint", "e"}, {"token", ""}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "providers.acme-sms.config.token");
  EXPECT_THAT(r.error().message, HasSubstr("missing required config key 'token'"));
}

TEST_F(ValidateConfig, AnEmptyConfigNamesTheFirstRequiredKey) {
  auto r = validate_provider_config(descriptor(), "acme-sms", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "providers.acme-sms.config.endpoint");
}

// --- instantiate -------------------------------------------------------------------

TEST(Instantiate, CallsTheFactoryWithTheValidatedConfigAndAContext) {
  PluginHost host;
  load_or_die(host, BARID_TP_GOOD_SO);
  TestHostContextFactory contexts;
  auto r = host.instantiate("testgood", "acme-sms", {{"endpoint", "https://api.acme"}, {"token", "t0k"}}, contexts);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto& instance = **r;
  EXPECT_EQ(instance.name(), "acme-sms");
  EXPECT_EQ(instance.descriptor().name, "testgood");
  EXPECT_EQ(&instance.plugin(), host.find("testgood").get());
  EXPECT_EQ(instance.config().get("greeting"), "hello");

  ASSERT_EQ(contexts.calls().size(), 1u);
  EXPECT_EQ(contexts.calls()[0].instance, "acme-sms");
  EXPECT_EQ(contexts.calls()[0].plugin, "testgood");
  EXPECT_EQ(contexts.calls()[0].config.values, instance.config().values);
  EXPECT_EQ(&instance.context(), contexts.context_of("acme-sms"));
  EXPECT_TRUE(contexts.journal()->contains("info acme-sms: created"));

  // The provider works, with three outcomes.
  auto sent = instance.provider().send(message_to("+966501234567"));
  EXPECT_EQ(sent.outcome, sdk::Outcome::ok);
  EXPECT_EQ(sent.provider_message_id, "hello/acme-sms/+966501234567/1");
  EXPECT_EQ(sent.segments, 2);
  auto retry = instance.provider().send(message_to("+966501234567", "retry"));
  EXPECT_EQ(retry.outcome, sdk::Outcome::retry);
  EXPECT_EQ(retry.retry_after, std::chrono::milliseconds(3000));
  auto rejected = instance.provider().send(message_to("+966501234567", "reject"));
  EXPECT_EQ(rejected.outcome, sdk::Outcome::permanent);
  EXPECT_TRUE(rejected.recipient_opted_out);
  // An exception inside the plugin is turned into a result by sdk::guard.
  auto thrown = instance.provider().send(message_to("+966501234567", "throw"));
  EXPECT_EQ(thrown.outcome, sdk::Outcome::retry);
  EXPECT_EQ(thrown.error.message, "internal error: asked to throw");

  EXPECT_EQ(instance.provider().check_health().detail, "endpoint https://api.acme");
  sdk::CallbackRequest webhook;
  webhook.kind = "status";
  webhook.headers = {{"X-Token", "t0k"}};
  webhook.body = "P1";
  auto cb = instance.provider().parse_callback(webhook);
  EXPECT_EQ(cb.verdict, sdk::CallbackResult::Verdict::accepted);
  ASSERT_EQ(cb.status_updates.size(), 1u);
  EXPECT_EQ(cb.status_updates[0].provider_message_id, "P1");
  webhook.headers = {{"X-Token", "forged"}};
  EXPECT_EQ(instance.provider().parse_callback(webhook).verdict, sdk::CallbackResult::Verdict::forbidden);
}

TEST(Instantiate, RefusesInvalidConfigBeforeMakingAContext) {
  PluginHost host;
  load_or_die(host, BARID_TP_GOOD_SO);
  TestHostContextFactory contexts;
  auto r = host.instantiate("testgood", "acme-sms", {{"endpoint", "e"}}, contexts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "providers.acme-sms.config.token");
  EXPECT_TRUE(contexts.calls().empty());
}

TEST(Instantiate, RefusesAnUnknownPluginListingTheLoadedOnes) {
  PluginHost host;
  TestHostContextFactory contexts;
  auto none = host.instantiate("twilio-sms", "main", {}, contexts);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().field, "providers.main.plugin");
  EXPECT_THAT(none.error().message, HasSubstr("no plugin named 'twilio-sms' is loaded (loaded: none)"));

  load_or_die(host, BARID_TP_GOOD_SO);
  auto some = host.instantiate("twilio-sms", "main", {}, contexts);
  ASSERT_FALSE(some.ok());
  EXPECT_THAT(some.error().message, HasSubstr("provider instance 'main'"));
  EXPECT_THAT(some.error().message, HasSubstr("(loaded: testgood)"));
}

TEST(Instantiate, AFactoryThatThrowsIsAnError) {
  PluginHost host;
  load_or_die(host, BARID_TP_FACTORY_THROWS_SO);
  TestHostContextFactory contexts;
  auto r = host.instantiate("throwing", "boom", {{"endpoint", "e"}, {"token", "t"}}, contexts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "providers.boom");
  const std::string& m = r.error().message;
  EXPECT_THAT(m, HasSubstr("provider instance 'boom'"));
  EXPECT_THAT(m, HasSubstr("plugin 'throwing'"));
  EXPECT_THAT(m, HasSubstr("the plugin's factory threw: factory exploded for boom"));
}

TEST(Instantiate, AFactoryErrorIsPassedOnNamingInstanceAndPlugin) {
  PluginHost host;
  load_or_die(host, BARID_TP_FACTORY_FAILS_SO);
  TestHostContextFactory contexts;
  auto r = host.instantiate("failing", "acme", {{"endpoint", "http://plain"}, {"token", "t"}}, contexts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "providers.acme");
  const std::string& m = r.error().message;
  EXPECT_THAT(m, HasSubstr("provider instance 'acme' (plugin 'failing') could not be created"));
  EXPECT_THAT(m, HasSubstr("config key 'endpoint' must start with https:// (got 'http://plain')"));
}

// A factory that returns neither a provider nor an error (a plugin bug) must
// still give the operator a reason, not "could not be created: ".
TEST(Instantiate, AFactoryThatReturnsNothingIsExplained) {
  PluginHost host;
  load_or_die(host, BARID_TP_FACTORY_NOTHING_SO);
  TestHostContextFactory contexts;
  auto r = host.instantiate("nothing", "acme", {{"endpoint", "e"}, {"token", "t"}}, contexts);
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message;
  EXPECT_THAT(m, HasSubstr("provider instance 'acme' (plugin 'nothing') could not be created"));
  EXPECT_THAT(m, HasSubstr("returned no provider"));
}

#ifdef BARID_MOCK_SO
TEST(Instantiate, TheMockPluginValidatesItsOwnValues) {
  PluginHost host;
  load_or_die(host, BARID_MOCK_SO);
  TestHostContextFactory contexts;
  auto unknown = host.instantiate("mock", "mock-sms", {{"latency", "5"}}, contexts);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().field, "providers.mock-sms.config.latency");
  EXPECT_THAT(unknown.error().message, HasSubstr("plugin 'mock'"));
  auto bad = host.instantiate("mock", "mock-sms", {{"channel", "email"}}, contexts);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("config key 'channel' must be 'sms' or 'whatsapp'"));
}
#endif

TEST(Instantiate, OnePluginBacksTwoInstancesWithDifferentConfigs) {
  PluginHost host;
  load_or_die(host, BARID_TP_GOOD_SO);
  TestHostContextFactory contexts;
  auto a = host.instantiate("testgood", "account-a", {{"endpoint", "https://a"}, {"token", "ta"}}, contexts);
  auto b = host.instantiate("testgood", "account-b",
                            {{"endpoint", "https://b"}, {"token", "tb"}, {"greeting", "salam"}}, contexts);
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(&(*a)->plugin(), &(*b)->plugin());
  EXPECT_NE(&(*a)->context(), &(*b)->context());

  EXPECT_EQ((*a)->provider().send(message_to("+1")).provider_message_id, "hello/account-a/+1/1");
  EXPECT_EQ((*b)->provider().send(message_to("+2")).provider_message_id, "salam/account-b/+2/1");
  // Each keeps its own state.
  EXPECT_EQ((*a)->provider().send(message_to("+1")).provider_message_id, "hello/account-a/+1/2");
  EXPECT_EQ((*a)->provider().check_health().detail, "endpoint https://a");
  EXPECT_EQ((*b)->provider().check_health().detail, "endpoint https://b");

  sdk::CallbackRequest webhook;
  webhook.headers = {{"X-Token", "tb"}};
  EXPECT_EQ((*a)->provider().parse_callback(webhook).verdict, sdk::CallbackResult::Verdict::forbidden);
  EXPECT_EQ((*b)->provider().parse_callback(webhook).verdict, sdk::CallbackResult::Verdict::accepted);
}

// --- lifetime ------------------------------------------------------------------------

TEST(ProviderInstance, DestroysTheProviderBeforeItsContext) {
  auto journal = std::make_shared<Journal>();
  {
    PluginHost host;
    load_or_die(host, BARID_TP_GOOD_SO);
    TestHostContextFactory contexts(journal);
    auto r = host.instantiate("testgood", "acme", {{"endpoint", "e"}, {"token", "t"}}, contexts);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  const auto lines = journal->lines();
  auto provider_gone = std::find(lines.begin(), lines.end(), "info acme: provider acme destroyed");
  auto context_gone = std::find(lines.begin(), lines.end(), "context acme destroyed");
  ASSERT_NE(provider_gone, lines.end());
  ASSERT_NE(context_gone, lines.end());
  EXPECT_LT(provider_gone, context_gone);
}

TEST(ProviderInstance, KeepsItsLibraryLoadedAfterTheHostIsGone) {
  ASSERT_FALSE(is_loaded(BARID_TP_GOOD_SO)) << "loaded before the test began";
  auto journal = std::make_shared<Journal>();
  TestHostContextFactory contexts(journal);
  std::shared_ptr<ProviderInstance> instance;
  {
    PluginHost host;
    load_or_die(host, BARID_TP_GOOD_SO);
    auto r = host.instantiate("testgood", "acme", {{"endpoint", "e"}, {"token", "t"}}, contexts);
    ASSERT_TRUE(r.ok()) << r.error().message;
    instance = *r;
    EXPECT_TRUE(is_loaded(BARID_TP_GOOD_SO));
  }
  // The host (and its own reference to the plugin) is gone; the instance
  // holds the library.
  EXPECT_TRUE(is_loaded(BARID_TP_GOOD_SO));
  EXPECT_EQ(instance->descriptor().name, "testgood");
  EXPECT_EQ(instance->plugin().path(), BARID_TP_GOOD_SO);
  EXPECT_EQ(instance->provider().send(message_to("+966501234567")).outcome, sdk::Outcome::ok);
  EXPECT_EQ(instance->provider().fetch_status("x").status, sdk::MessageStatus::delivered);
  EXPECT_EQ(instance->provider().check_health().state, sdk::HealthState::healthy);

  // The last object from the library goes, and the library with it.
  instance.reset();
  EXPECT_TRUE(journal->contains("provider acme destroyed"));
  EXPECT_FALSE(is_loaded(BARID_TP_GOOD_SO)) << "the library was not unloaded with its last object";
}

TEST(ProviderInstance, ALoadedPluginHandleAloneKeepsTheLibrary) {
  std::shared_ptr<const LoadedPlugin> plugin;
  {
    PluginHost host;
    plugin = load_or_die(host, BARID_TP_GOOD_SO);
  }
  EXPECT_TRUE(is_loaded(BARID_TP_GOOD_SO));
  EXPECT_EQ(plugin->descriptor().name, "testgood");
  plugin.reset();
  EXPECT_FALSE(is_loaded(BARID_TP_GOOD_SO));
}

TEST(ProviderInstance, AFailedInstantiationLeavesNothingBehind) {
  {
    PluginHost host;
    load_or_die(host, BARID_TP_FACTORY_THROWS_SO);
    TestHostContextFactory contexts;
    EXPECT_FALSE(host.instantiate("throwing", "x", {{"endpoint", "e"}, {"token", "t"}}, contexts).ok());
  }
  EXPECT_FALSE(is_loaded(BARID_TP_FACTORY_THROWS_SO));
}

#ifdef BARID_MOCK_SO
// The bundled mock plugin, with its delivery-report thread running, outlives
// the host that loaded it and shuts down cleanly afterwards.
TEST(ProviderInstance, TheMockProviderWorksAfterTheHostIsGone) {
  TestHostContextFactory contexts;
  std::shared_ptr<ProviderInstance> sms, whatsapp;
  {
    PluginHost host;
    load_or_die(host, BARID_MOCK_SO);
    auto a = host.instantiate("mock", "mock-sms",
                              {{"report_mode", "poll"}, {"cost_micros_per_segment", "7500"}, {"delivered_after_ms", "0"}},
                              contexts);
    ASSERT_TRUE(a.ok()) << a.error().message;
    sms = *a;
    // report_mode webhook starts the report thread; this context publishes
    // no webhook URL, so reports are logged and dropped.
    auto b = host.instantiate("mock", "mock-whatsapp", {{"channel", "whatsapp"}, {"fail_numbers", "+15550001"}},
                              contexts);
    ASSERT_TRUE(b.ok()) << b.error().message;
    whatsapp = *b;
  }
  EXPECT_TRUE(is_loaded(BARID_MOCK_SO));

  auto sent = sms->provider().send(message_to("+966501234567"));
  ASSERT_EQ(sent.outcome, sdk::Outcome::ok) << sent.error.message;
  ASSERT_TRUE(sent.cost.has_value());
  EXPECT_EQ(sent.cost->micros, 15000);  // 2 segments
  EXPECT_EQ(sent.cost->currency, "USD");
  auto status = sms->provider().fetch_status(sent.provider_message_id);
  EXPECT_EQ(status.outcome, sdk::Outcome::ok);
  EXPECT_EQ(status.status, sdk::MessageStatus::delivered);

  auto failed = whatsapp->provider().send(message_to("+15550001"));
  EXPECT_EQ(failed.outcome, sdk::Outcome::permanent);
  EXPECT_EQ(failed.error.code, "MOCK-INVALID-NUMBER");
  EXPECT_EQ(whatsapp->provider().send(message_to("+15550002")).outcome, sdk::Outcome::ok);
  EXPECT_EQ(whatsapp->provider().check_health().detail, "mock provider (whatsapp)");

  whatsapp.reset();  // joins the report thread
  sms.reset();
}
#endif

// The gateway's own context factory: the logger a plugin gets redacts the
// instance's secret values (here the plugin logs its token on purpose).
TEST(GatewayHostContextFactory, RedactsTheInstancesSecretsFromPluginLogs) {
  PluginHost host;
  load_or_die(host, BARID_TP_GOOD_SO);
  GatewayHostContextFactory contexts(std::make_shared<PublicUrl>("https://gw.example.com"), HttpClientOptions{});
  auto r = host.instantiate("testgood", "acme", {{"endpoint", "https://api.acme"}, {"token", "sup3r-s3cret"}},
                            contexts);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)->context().webhook_url("status"), "https://gw.example.com/webhooks/acme/status");

  ::testing::internal::CaptureStderr();
  (*r)->provider().send(message_to("+966501234567", "log-token"));
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(logged, HasSubstr("using token [redacted]"));
  EXPECT_THAT(logged, HasSubstr("acme"));  // the line names the instance
  EXPECT_THAT(logged, ::testing::Not(HasSubstr("sup3r-s3cret")));
}

}  // namespace
}  // namespace barid::core
