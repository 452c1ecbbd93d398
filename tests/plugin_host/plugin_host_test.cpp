// Loading plugins through the real loader: a good plugin, and one plugin
// broken in each way the host must refuse with an error that names the file
// (and the plugin, when it has one) and says what is wrong.
#include <barid/core/plugin_host.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

namespace barid::core {
namespace {

using ::testing::HasSubstr;

std::string abi_text(std::uint16_t major, std::uint16_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

const std::string kHostAbi = abi_text(sdk::kAbiVersion.major, sdk::kAbiVersion.minor);

// Loads `file` and expects a refusal whose message contains every one of
// `parts`; returns the message.
std::string expect_refused(PluginHost& host, const std::string& file, std::initializer_list<std::string> parts) {
  auto r = host.load(file);
  EXPECT_FALSE(r.ok()) << file << " was loaded";
  if (r.ok()) return {};
  const std::string& message = r.error().message;
  EXPECT_EQ(r.error().kind, ErrorKind::invalid);
  EXPECT_EQ(r.error().field, "plugins");
  EXPECT_THAT(message, HasSubstr(file)) << "the error does not name the file";
  for (const auto& part : parts) EXPECT_THAT(message, HasSubstr(part));
  EXPECT_TRUE(host.plugins().empty()) << "a refused plugin was registered";
  return message;
}

TEST(PluginHost, LoadsAGoodPlugin) {
  PluginHost host;
  auto r = host.load(BARID_TP_GOOD_SO);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& plugin = **r;
  EXPECT_EQ(plugin.path(), BARID_TP_GOOD_SO);
  EXPECT_EQ(plugin.abi().major, sdk::kAbiVersion.major);
  EXPECT_EQ(plugin.abi().minor, sdk::kAbiVersion.minor);
  const auto& d = plugin.descriptor();
  EXPECT_EQ(d.name, "testgood");
  EXPECT_EQ(d.version, "0.0.7");
  EXPECT_TRUE(d.serves(sdk::Channel::sms));
  EXPECT_TRUE(d.serves(sdk::Channel::whatsapp));
  EXPECT_FALSE(d.serves(sdk::Channel::email));
  EXPECT_TRUE(d.has(sdk::Capability::status_polling));
  EXPECT_TRUE(d.has(sdk::Capability::status_webhooks));
  EXPECT_FALSE(d.has(sdk::Capability::cost_reporting));
  ASSERT_EQ(d.config_keys.size(), 4u);
  EXPECT_EQ(d.config_keys[1].name, "token");
  EXPECT_TRUE(d.config_keys[1].required);
  EXPECT_TRUE(d.config_keys[1].secret);
  EXPECT_EQ(d.config_keys[2].default_value, "hello");

  EXPECT_EQ(host.find("testgood"), *r);
  EXPECT_EQ(host.find("other"), nullptr);
  ASSERT_EQ(host.plugins().size(), 1u);
  EXPECT_EQ(host.plugins()[0], *r);
}

#ifdef BARID_MOCK_SO
TEST(PluginHost, LoadsTheBundledMockPlugin) {
  PluginHost host;
  auto r = host.load(BARID_MOCK_SO);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)->descriptor().name, "mock");
  EXPECT_TRUE((*r)->descriptor().has(sdk::Capability::cost_reporting));
}
#endif

// --- the ABI handshake ------------------------------------------------------
// The broken-ABI plugins throw from their descriptor and factory: had the host
// read either, its error would be about them and not about the ABI.

TEST(PluginHost, RefusesAnotherAbiMajorNamingBothVersions) {
  PluginHost host;
  const std::string m = expect_refused(host, BARID_TP_WRONG_ABI_MAJOR_SO, {"SDK ABI 2.0", kHostAbi, "rebuild"});
  EXPECT_THAT(m, ::testing::Not(HasSubstr("descriptor")));
}

TEST(PluginHost, RefusesAnOlderAbiMajor) {
  PluginHost host;
  expect_refused(host, BARID_TP_OLD_ABI_MAJOR_SO, {"SDK ABI 0.9", kHostAbi});
}

TEST(PluginHost, RefusesAPluginBuiltAgainstANewerMinor) {
  PluginHost host;
  const std::string plugin_abi = abi_text(sdk::kAbiVersion.major, sdk::kAbiVersion.minor + 1);
  const std::string m = expect_refused(
      host, BARID_TP_NEWER_MINOR_SO,
      {"SDK ABI " + plugin_abi, "provides " + kHostAbi, "minor at most " + std::to_string(sdk::kAbiVersion.minor)});
  EXPECT_THAT(m, ::testing::Not(HasSubstr("descriptor")));
}

// --- missing entry points -----------------------------------------------------

TEST(PluginHost, RefusesALibraryWithoutTheAbiEntryPoint) {
  PluginHost host;
  expect_refused(host, BARID_TP_PLAIN_SO, {"missing entry point 'barid_plugin_abi'", "not a Barid plugin"});
  // Entry-point names exported as plain functions are not aliases: refused
  // before they are read (reading one as an alias would crash).
  expect_refused(host, BARID_TP_RAW_ABI_SO, {"not exported by BARID_PROVIDER_PLUGIN"});
}

TEST(PluginHost, RefusesAPluginWithoutAFactory) {
  PluginHost host;
  expect_refused(host, BARID_TP_NO_CREATE_SO, {"missing entry point 'barid_plugin_create'", "BARID_PROVIDER_PLUGIN"});
}

TEST(PluginHost, RefusesAFileThatIsNotALibrary) {
  PluginHost host;
  expect_refused(host, BARID_TP_GARBAGE_SO, {"cannot be loaded"});
}

TEST(PluginHost, RefusesAFileThatDoesNotExist) {
  PluginHost host;
  const std::string missing = std::string(BARID_TEST_PLUGIN_DIR) + "/no-such-plugin.so";
  expect_refused(host, missing, {"cannot be loaded"});
}

// --- the descriptor -----------------------------------------------------------

TEST(PluginHost, RefusesAnInvalidPluginName) {
  PluginHost host;
  expect_refused(host, BARID_TP_BAD_NAME_SO, {"plugin name 'Bad.Name' is not valid", "lower-case"});
}

TEST(PluginHost, RefusesAPluginWithNoChannel) {
  PluginHost host;
  expect_refused(host, BARID_TP_NO_CHANNELS_SO, {"plugin 'nochannels' declares no channel"});
}

TEST(PluginHost, RefusesAConfigKeyDeclaredTwice) {
  PluginHost host;
  expect_refused(host, BARID_TP_DUPLICATE_KEY_SO, {"plugin 'dupkey' declares config key 'token' twice"});
}

TEST(PluginHost, RefusesADescriptorThatThrows) {
  PluginHost host;
  expect_refused(host, BARID_TP_DESCRIPTOR_THROWS_SO, {"descriptor could not be read", "descriptor exploded"});
}

// --- names are unique -----------------------------------------------------------

TEST(PluginHost, RefusesASecondPluginWithTheSameName) {
  PluginHost host;
  auto first = host.load(BARID_TP_DUP_A_SO);
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = host.load(BARID_TP_DUP_B_SO);
  ASSERT_FALSE(second.ok());
  const std::string& m = second.error().message;
  EXPECT_THAT(m, HasSubstr("plugin name 'dup' is provided twice"));
  EXPECT_THAT(m, HasSubstr(BARID_TP_DUP_A_SO));
  EXPECT_THAT(m, HasSubstr(BARID_TP_DUP_B_SO));
  // The first one stays in service.
  ASSERT_EQ(host.plugins().size(), 1u);
  EXPECT_EQ(host.find("dup")->path(), BARID_TP_DUP_A_SO);
}

TEST(PluginHost, LoadingTheSameFileTwiceIsADuplicate) {
  PluginHost host;
  ASSERT_TRUE(host.load(BARID_TP_GOOD_SO).ok());
  auto again = host.load(BARID_TP_GOOD_SO);
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.error().message, HasSubstr("'testgood' is provided twice"));
}

TEST(PluginHost, TwoHostsLoadTheSamePluginIndependently) {
  PluginHost a, b;
  auto pa = a.load(BARID_TP_GOOD_SO);
  auto pb = b.load(BARID_TP_GOOD_SO);
  ASSERT_TRUE(pa.ok());
  ASSERT_TRUE(pb.ok());
  EXPECT_NE(*pa, *pb);
  EXPECT_EQ((*pa)->descriptor().name, (*pb)->descriptor().name);
}

// --- a whole directory ------------------------------------------------------------

TEST(PluginHost, LoadsADirectorySkippingAndReportingBrokenFiles) {
  PluginHost host;
  auto r = host.load_directory(BARID_TEST_PLUGIN_DIR);
  ASSERT_TRUE(r.ok()) << r.error().message;

  std::set<std::string> loaded;
  for (const auto& p : host.plugins()) loaded.insert(p->descriptor().name);
  EXPECT_EQ(loaded, (std::set<std::string>{"testgood", "dup", "throwing", "failing", "nothing"}));
  // The first "dup" in name order wins.
  EXPECT_EQ(host.find("dup")->path(), BARID_TP_DUP_A_SO);

  std::map<std::string, std::string> failures;
  for (const auto& f : *r) failures[f.path.string()] = f.error;
  const std::set<std::string> expected_failures = {
      BARID_TP_PLAIN_SO, BARID_TP_RAW_ABI_SO, BARID_TP_WRONG_ABI_MAJOR_SO, BARID_TP_OLD_ABI_MAJOR_SO,
      BARID_TP_NEWER_MINOR_SO, BARID_TP_NO_CREATE_SO,       BARID_TP_DUP_B_SO,
      BARID_TP_BAD_NAME_SO,    BARID_TP_NO_CHANNELS_SO,     BARID_TP_DUPLICATE_KEY_SO,
      BARID_TP_DESCRIPTOR_THROWS_SO, BARID_TP_GARBAGE_SO};
  std::set<std::string> failed;
  for (const auto& [path, error] : failures) {
    failed.insert(path);
    EXPECT_THAT(error, HasSubstr(path)) << "the error does not name its file";
  }
  EXPECT_EQ(failed, expected_failures);  // README.txt is not a candidate at all
  EXPECT_THAT(failures[BARID_TP_WRONG_ABI_MAJOR_SO], HasSubstr("SDK ABI 2.0"));
  EXPECT_THAT(failures[BARID_TP_DUP_B_SO], HasSubstr("provided twice"));
}

TEST(PluginHost, AMissingDirectoryIsAnError) {
  PluginHost host;
  const std::string dir = std::string(BARID_TEST_PLUGIN_DIR) + "/no-such-dir";
  auto r = host.load_directory(dir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "plugins.path");
  EXPECT_THAT(r.error().message, HasSubstr(dir));
  EXPECT_THAT(r.error().message, HasSubstr("does not exist"));
}

}  // namespace
}  // namespace barid::core
