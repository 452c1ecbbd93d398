// The gateway's YAML configuration: parse_config with an injected
// environment and file check, so nothing is read from the process or the
// disk.
#include "config.hpp"

#include <barid/sdk/encoding.hpp>

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace barid::gateway {
namespace {

using std::chrono::milliseconds;

const std::filesystem::path kBase = "/etc/barid";

// The smallest configuration that loads.
const std::string kMinimal = R"(
storage:
  user: barid
  database: barid
plugins:
  path: plugins
providers:
  mock-sms:
    plugin: mock
routing:
  sms:
    provider: mock-sms
)";

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// The files that exist, for storage.tls.
std::optional<std::string> fake_files(const std::filesystem::path& p) {
  static const std::set<std::string> files = {"/etc/barid/tls/ca.pem", "/etc/barid/tls/client.pem",
                                              "/etc/barid/tls/client.key", "/srv/db-ca.pem"};
  if (files.count(p.string())) return std::nullopt;
  return "No such file or directory";
}

core::Result<GatewayConfig> parse(const std::string& yaml, std::map<std::string, std::string> vars = {}) {
  return parse_config(yaml, kBase, env_of(std::move(vars)), fake_files);
}

// kMinimal with `storage.tls: <tls>` (a flow mapping, or whatever is tried).
std::string with_storage_tls(const std::string& tls) {
  std::string yaml = kMinimal;
  const std::string after = "  database: barid\n";
  yaml.insert(yaml.find(after) + after.size(), "  tls: " + tls + "\n");
  return yaml;
}

// The configuration must be refused with an error on `field` whose message
// names the key and says `what`.
void expect_error(const std::string& yaml, const std::string& field, const std::string& what,
                  std::map<std::string, std::string> vars = {}) {
  auto r = parse(yaml, std::move(vars));
  ASSERT_FALSE(r.ok()) << "accepted:\n" << yaml;
  EXPECT_EQ(r.error().kind, core::ErrorKind::invalid);
  EXPECT_EQ(r.error().field, field) << r.error().message;
  if (!field.empty()) {
    EXPECT_NE(r.error().message.find(field), std::string::npos) << r.error().message;
  }
  EXPECT_NE(r.error().message.find(what), std::string::npos)
      << "message '" << r.error().message << "' does not say '" << what << "'";
}

TEST(Config, MinimalConfigurationLoadsWithDefaults) {
  auto r = parse(kMinimal);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const GatewayConfig& c = *r;
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.mysql.user, "barid");
  EXPECT_EQ(c.mysql.database, "barid");
  ASSERT_EQ(c.plugin_paths.size(), 1u);
  EXPECT_EQ(c.plugin_paths[0], "/etc/barid/plugins");
  ASSERT_EQ(c.providers.size(), 1u);
  EXPECT_EQ(c.providers[0].name, "mock-sms");
  EXPECT_EQ(c.providers[0].plugin, "mock");
  EXPECT_TRUE(c.providers[0].config.empty());
  EXPECT_EQ(c.providers[0].rate_limit, 0.0);
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].channel, sdk::Channel::sms);
  EXPECT_EQ(c.routes[0].provider, "mock-sms");
  EXPECT_TRUE(c.routes[0].fallback.empty());
  EXPECT_EQ(c.routes[0].primary_attempts, 0);
  EXPECT_EQ(c.retry.max_attempts, 3);
  EXPECT_TRUE(c.dispatch_enabled);
  EXPECT_EQ(c.default_region, "");
  EXPECT_EQ(c.log_level, core::LogLevel::info);
}

TEST(Config, ReadsEverySection) {
  const std::string yaml = R"(
server:
  listen: "0.0.0.0:9090"
  threads: 4
  public_base_url: https://gw.example.com
  drain_timeout: 30s
storage:
  driver: mysql
  host: db.internal
  port: 3307
  user: barid
  password: "${DB_PASSWORD}"
  database: barid
  pool_size: 16
  connect_timeout: 2s
plugins:
  path: [/opt/barid/plugins, extra]
providers:
  twilio-main:
    plugin: twilio-sms
    config:
      account_sid: AC123
      auth_token: "${TWILIO_TOKEN}"
    rate_limit: 50
    burst: 100
    http:
      timeout: 10s
      connect_timeout: 500ms
  backup:
    plugin: mock
    rate_limit: 2.5
routing:
  sms:
    provider: twilio-main
    fallback: [backup]
    primary_attempts: 2
  whatsapp:
    provider: backup
retry:
  max_attempts: 5
  initial_backoff: 500ms
  max_backoff: 10m
  multiplier: 3
  jitter: 0.1
dispatch:
  enabled: false
  senders: 8
  lease: 2m
messaging:
  default_region: SA
log:
  level: debug
)";
  auto r = parse(yaml, {{"DB_PASSWORD", "pw"}, {"TWILIO_TOKEN", "tok"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  const GatewayConfig& c = *r;
  EXPECT_EQ(c.server.host, "0.0.0.0");
  EXPECT_EQ(c.server.port, 9090);
  EXPECT_EQ(c.server.threads, 4);
  EXPECT_EQ(c.server.public_base_url, "https://gw.example.com");
  EXPECT_EQ(c.server.drain_timeout, milliseconds(30000));
  EXPECT_EQ(c.mysql.host, "db.internal");
  EXPECT_EQ(c.mysql.port, 3307);
  EXPECT_EQ(c.mysql.password, "pw");
  EXPECT_EQ(c.mysql.pool_size, 16);
  ASSERT_EQ(c.plugin_paths.size(), 2u);
  EXPECT_EQ(c.plugin_paths[0], "/opt/barid/plugins");
  EXPECT_EQ(c.plugin_paths[1], "/etc/barid/extra");
  ASSERT_EQ(c.providers.size(), 2u);
  const auto& twilio = c.providers[1].name == "twilio-main" ? c.providers[1] : c.providers[0];
  const auto& backup = c.providers[1].name == "twilio-main" ? c.providers[0] : c.providers[1];
  EXPECT_EQ(twilio.plugin, "twilio-sms");
  EXPECT_EQ(twilio.config.at("account_sid"), "AC123");
  EXPECT_EQ(twilio.config.at("auth_token"), "tok");
  EXPECT_EQ(twilio.rate_limit, 50.0);
  EXPECT_EQ(twilio.burst, 100.0);
  EXPECT_EQ(twilio.http.total_timeout, milliseconds(10000));
  EXPECT_EQ(twilio.http.connect_timeout, milliseconds(500));
  EXPECT_EQ(backup.rate_limit, 2.5);
  EXPECT_EQ(backup.burst, 1.0);  // by default sends are evenly spaced
  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_EQ(c.routes[0].provider, "twilio-main");
  EXPECT_EQ(c.routes[0].fallback, std::vector<std::string>{"backup"});
  EXPECT_EQ(c.routes[0].primary_attempts, 2);
  EXPECT_EQ(c.routes[1].channel, sdk::Channel::whatsapp);
  EXPECT_EQ(c.retry.max_attempts, 5);
  EXPECT_EQ(c.retry.initial_backoff, milliseconds(500));
  EXPECT_EQ(c.retry.max_backoff, milliseconds(600000));
  EXPECT_DOUBLE_EQ(c.retry.multiplier, 3.0);
  EXPECT_DOUBLE_EQ(c.retry.jitter, 0.1);
  EXPECT_FALSE(c.dispatch_enabled);
  EXPECT_EQ(c.dispatch.senders, 8);
  EXPECT_EQ(c.default_region, "SA");
  EXPECT_EQ(c.log_level, core::LogLevel::debug);
}

TEST(Config, AFallbackMakesOnePrimaryAttemptTheDefault) {
  auto r = parse(R"(
storage: {user: u, database: d}
plugins: {path: p}
providers: {a: {plugin: mock}, b: {plugin: mock}}
routing: {sms: {provider: a, fallback: b}}
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->routes[0].fallback, std::vector<std::string>{"b"});
  EXPECT_EQ(r->routes[0].primary_attempts, 1);
}

// --- keys nobody asked for --------------------------------------------------

TEST(Config, UnknownTopLevelKey) { expect_error(kMinimal + "bogus: 1\n", "bogus", "unknown key"); }

TEST(Config, UnknownTopLevelKeyListsTheKnownOnes) {
  auto r = parse(kMinimal + "provider: {}\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("providers"), std::string::npos) << r.error().message;
}

TEST(Config, UnknownNestedKeys) {
  expect_error(kMinimal + "server:\n  listn: 0.0.0.0:80\n", "server.listn", "unknown key");
  expect_error(kMinimal + "server:\n  tls:\n    certificate: x\n", "server.tls.certificate", "unknown key");
  expect_error(kMinimal + "retry:\n  max_retries: 3\n", "retry.max_retries", "unknown key");
  expect_error(kMinimal + "log:\n  format: json\n", "log.format", "unknown key");
  expect_error(R"(
storage: {user: u, database: d, passwd: x}
plugins: {path: p}
providers: {a: {plugin: mock}}
routing: {sms: {provider: a}}
)",
               "storage.passwd", "unknown key");
  expect_error(R"(
storage: {user: u, database: d}
plugins: {path: p}
providers: {a: {plugin: mock, ratelimit: 5}}
routing: {sms: {provider: a}}
)",
               "providers.a.ratelimit", "unknown key");
  expect_error(R"(
storage: {user: u, database: d}
plugins: {path: p}
providers: {a: {plugin: mock, http: {read_timeout: 5s}}}
routing: {sms: {provider: a}}
)",
               "providers.a.http.read_timeout", "unknown key");
  expect_error(R"(
storage: {user: u, database: d}
plugins: {path: p}
providers: {a: {plugin: mock}}
routing: {sms: {provider: a}, email: {provider: a}}
)",
               "routing.email", "unknown key");
}

// --- values of the wrong kind -------------------------------------------------

TEST(Config, BadDuration) {
  expect_error(kMinimal + "retry:\n  initial_backoff: 2 weeks\n", "retry.initial_backoff", "not a duration");
  expect_error(kMinimal + "retry:\n  initial_backoff: 10\n", "retry.initial_backoff", "not a duration");
  expect_error(kMinimal + "dispatch:\n  lease: -5s\n", "dispatch.lease", "not a duration");
  expect_error(kMinimal + "server:\n  drain_timeout: 1.5s\n", "server.drain_timeout", "not a duration");
}

TEST(Config, BadInteger) {
  expect_error(kMinimal + "server:\n  threads: two\n", "server.threads", "not an integer");
  expect_error(kMinimal + "server:\n  threads: 2.5\n", "server.threads", "not an integer");
  expect_error(kMinimal + "retry:\n  max_attempts: \"\"\n", "retry.max_attempts", "not an integer");
}

TEST(Config, BadNumber) {
  expect_error(R"(
storage: {user: u, database: d}
plugins: {path: p}
providers: {a: {plugin: mock, rate_limit: fast}}
routing: {sms: {provider: a}}
)",
               "providers.a.rate_limit", "not a number");
}

TEST(Config, OutOfRange) {
  expect_error(kMinimal + "server:\n  threads: 0\n", "server.threads", "between 1 and 64");
  expect_error(kMinimal + "server:\n  threads: 65\n", "server.threads", "between 1 and 64");
  expect_error(kMinimal + "retry:\n  max_attempts: 11\n", "retry.max_attempts", "between 1 and 10");
  expect_error(kMinimal + "retry:\n  jitter: 1.5\n", "retry.jitter", "between");
  expect_error(kMinimal + "server:\n  threads: 99999999999999999999\n", "server.threads", "out of range");
  expect_error(R"(
storage: {user: u, database: d, port: 70000}
plugins: {path: p}
providers: {a: {plugin: mock}}
routing: {sms: {provider: a}}
)",
               "storage.port", "between 1 and 65535");
}

TEST(Config, BadBoolean) {
  expect_error(kMinimal + "dispatch:\n  enabled: maybe\n", "dispatch.enabled", "true or false");
}

TEST(Config, BadListenAddress) {
  expect_error(kMinimal + "server:\n  listen: localhost\n", "server.listen", "host:port");
  expect_error(kMinimal + "server:\n  listen: \"127.0.0.1:99999\"\n", "server.listen", "not a port");
  expect_error(kMinimal + "server:\n  listen: \"127.0.0.1:http\"\n", "server.listen", "not a port");
}

TEST(Config, BadPublicBaseUrl) {
  expect_error(kMinimal + "server:\n  public_base_url: gw.example.com\n", "server.public_base_url",
               "http:// or https://");
}

// Real providers need a public_base_url they can reach; mock does not.
TEST(Config, PublicUrlWarning) {
  auto with = [](const std::string& plugin, const std::string& public_url) {
    GatewayConfig c;
    c.providers.push_back({});
    c.providers.back().name = "tw";
    c.providers.back().plugin = plugin;
    c.server.public_base_url = public_url;
    return public_url_warning(c);
  };
  EXPECT_EQ(with("mock", ""), "");
  EXPECT_EQ(with("mock", "http://127.0.0.1:8080"), "");
  EXPECT_EQ(with("twilio-sms", "https://gw.example.com"), "");
  EXPECT_EQ(with("twilio-sms", "https://gw.example.com:8443/barid"), "");
  EXPECT_EQ(with("twilio-sms", "https://127.0.0.1.example.com"), "");
  const std::string unset = with("twilio-sms", "");
  EXPECT_NE(unset.find("server.public_base_url is not set"), std::string::npos) << unset;
  EXPECT_NE(unset.find("tw"), std::string::npos) << unset;
  for (const std::string url : {"http://127.0.0.1:8080", "http://localhost:8080/x", "https://LOCALHOST",
                                "http://0.0.0.0:8080", "http://[::1]:8080", "http://[::]:80", "http://127.1.2.3",
                                "http://user@localhost:8080", "http://app.localhost"}) {
    const std::string w = with("unifonic-sms", url);
    EXPECT_NE(w.find("loopback or unspecified"), std::string::npos) << url << ": " << w;
  }
  auto c = parse(kMinimal);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(public_url_warning(*c), "");
}

TEST(Config, TlsNeedsBothCertAndKey) {
  expect_error(kMinimal + "server:\n  tls:\n    cert: c.pem\n", "server.tls", "both cert and key");
  auto r = parse(kMinimal + "server:\n  tls:\n    cert: tls/c.pem\n    key: /abs/k.pem\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->server.tls_cert, "/etc/barid/tls/c.pem");
  EXPECT_EQ(r->server.tls_key, "/abs/k.pem");
}

TEST(Config, StorageTlsIsPreferredByDefault) {
  auto r = parse(kMinimal);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->mysql.tls.mode, core::MySqlTlsMode::preferred);
  EXPECT_EQ(r->mysql.tls.ca, "");
  EXPECT_EQ(r->mysql.tls.cert, "");
  EXPECT_EQ(r->mysql.tls.key, "");
}

TEST(Config, ReadsStorageTls) {
  auto r = parse(with_storage_tls("{mode: verify_identity, ca: tls/ca.pem, cert: tls/client.pem, "
                                  "key: /etc/barid/tls/client.key}"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->mysql.tls.mode, core::MySqlTlsMode::verify_identity);
  EXPECT_EQ(r->mysql.tls.ca, "/etc/barid/tls/ca.pem");  // relative to the configuration's folder
  EXPECT_EQ(r->mysql.tls.cert, "/etc/barid/tls/client.pem");
  EXPECT_EQ(r->mysql.tls.key, "/etc/barid/tls/client.key");

  auto from_env = parse(with_storage_tls("{mode: required, ca: \"${DB_CA}\"}"), {{"DB_CA", "/srv/db-ca.pem"}});
  ASSERT_TRUE(from_env.ok()) << from_env.error().message;
  EXPECT_EQ(from_env->mysql.tls.ca, "/srv/db-ca.pem");
}

TEST(Config, EveryStorageTlsMode) {
  for (auto mode : {core::MySqlTlsMode::disabled, core::MySqlTlsMode::preferred, core::MySqlTlsMode::required,
                    core::MySqlTlsMode::verify_identity}) {
    const std::string name(core::to_string(mode));
    auto r = parse(with_storage_tls("{mode: " + name + (name == "verify_identity" ? ", ca: tls/ca.pem}" : "}")));
    ASSERT_TRUE(r.ok()) << name << ": " << r.error().message;
    EXPECT_EQ(r->mysql.tls.mode, mode) << name;
  }
  EXPECT_EQ(core::to_string(core::MySqlTlsMode::verify_identity), "verify_identity");
}

TEST(Config, UnknownStorageTlsModeOrKey) {
  expect_error(with_storage_tls("{mode: require}"), "storage.tls.mode",
               "'require' is not a mode (disabled, preferred, required, verify_identity)");
  // The names are the contract, spelled one way.
  expect_error(with_storage_tls("{mode: VERIFY_IDENTITY, ca: tls/ca.pem}"), "storage.tls.mode", "is not a mode");
  expect_error(with_storage_tls("{mode: true}"), "storage.tls.mode", "is not a mode");
  expect_error(with_storage_tls("{mode: required, capath: /etc/ssl/certs}"), "storage.tls.capath",
               "unknown key (known keys: mode, ca, cert, key)");
  expect_error(with_storage_tls("required"), "storage.tls", "must be a mapping");
}

TEST(Config, StorageTlsCertAndKeyGoTogether) {
  expect_error(with_storage_tls("{mode: required, cert: tls/client.pem}"), "storage.tls", "both cert and key");
  expect_error(with_storage_tls("{mode: required, key: tls/client.key}"), "storage.tls", "both cert and key");
}

TEST(Config, StorageTlsVerifyIdentityNeedsACa) {
  expect_error(with_storage_tls("{mode: verify_identity}"), "storage.tls.ca", "is required with mode verify_identity");
  expect_error(with_storage_tls("{mode: verify_identity, cert: tls/client.pem, key: tls/client.key}"),
               "storage.tls.ca", "is required with mode verify_identity");
}

TEST(Config, StorageTlsFilesMustBeReadable) {
  expect_error(with_storage_tls("{mode: required, ca: tls/missing.pem}"), "storage.tls.ca",
               "cannot read /etc/barid/tls/missing.pem: No such file or directory");
  expect_error(with_storage_tls("{mode: preferred, cert: tls/client.pem, key: tls/missing.key}"), "storage.tls.key",
               "cannot read /etc/barid/tls/missing.key");
  expect_error(with_storage_tls("{mode: verify_identity, ca: tls/ca.pem, cert: /tmp/nope.pem, key: tls/client.key}"),
               "storage.tls.cert", "cannot read /tmp/nope.pem");
}

TEST(Config, StorageTlsFilesAreRefusedWithDisabled) {
  expect_error(with_storage_tls("{mode: disabled, ca: tls/ca.pem}"), "storage.tls.ca", "not used with mode disabled");
  expect_error(with_storage_tls("{mode: disabled, cert: tls/client.pem, key: tls/client.key}"), "storage.tls.cert",
               "not used with mode disabled");
}

// The one check of the real file check: it reads nothing, it only fails.
TEST(ReadableFile, SaysWhyAFileCannotBeRead) {
  EXPECT_EQ(readable_file("/nonexistent-barid-folder/ca.pem"), std::optional<std::string>("No such file or directory"));
  EXPECT_EQ(readable_file("/"), std::optional<std::string>("it is a folder"));
  EXPECT_EQ(readable_file("/dev/null"), std::optional<std::string>("it is not a regular file"));
}

TEST(Config, BadLogLevel) { expect_error(kMinimal + "log:\n  level: verbose\n", "log.level", "debug, info"); }

TEST(Config, BackoffCapBelowInitial) {
  expect_error(kMinimal + "retry:\n  initial_backoff: 10s\n  max_backoff: 5s\n", "retry.max_backoff",
               "initial_backoff");
}

// Found by fuzz_config: a mapping key that is not a word, or a list where a
// word belongs, used to throw out of the loader and end the process.
TEST(Config, ValuesOfTheWrongShapeAreErrorsNotCrashes) {
  expect_error(kMinimal + "dispatch:\n  [a, b]: 1\n", "dispatch", "plain word");
  expect_error("storage:\n  user: barid\nplugins:\n  path: plugins\nproviders:\n  [mock-sms]:\n    plugin: mock\n", "",
               "wrong shape");
  expect_error(kMinimal + "dispatch:\n  ? {x: 1}\n  : 2\n", "dispatch", "plain word");
}

TEST(Config, LeaseTooShort) { expect_error(kMinimal + "dispatch:\n  lease: 500ms\n", "dispatch.lease", "1s"); }

TEST(Config, SectionThatIsNotAMapping) {
  expect_error(kMinimal + "retry: 3\n", "retry", "mapping");
}

TEST(Config, NotYaml) {
  auto r = parse("storage: [unclosed\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not valid YAML"), std::string::npos) << r.error().message;
}

TEST(Config, TopLevelMustBeAMapping) {
  auto r = parse("- a\n- b\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("mapping"), std::string::npos) << r.error().message;
}

// --- what must be there -----------------------------------------------------

TEST(Config, MissingStorage) {
  expect_error(R"(
plugins: {path: p}
providers: {a: {plugin: mock}}
routing: {sms: {provider: a}}
)",
               "storage", "required");
  expect_error("", "storage", "required");
}

TEST(Config, MissingStorageUserOrDatabase) {
  expect_error(R"(
storage: {database: d}
plugins: {path: p}
providers: {a: {plugin: mock}}
routing: {sms: {provider: a}}
)",
               "storage.user", "required");
  // The database has a default ("barid"), but it cannot be set to nothing.
  expect_error(R"(
storage: {user: u, database: ""}
plugins: {path: p}
providers: {a: {plugin: mock}}
routing: {sms: {provider: a}}
)",
               "storage.database", "required");
  auto defaulted = parse(R"(
storage: {user: u}
plugins: {path: p}
providers: {a: {plugin: mock}}
routing: {sms: {provider: a}}
)");
  ASSERT_TRUE(defaulted.ok()) << defaulted.error().message;
  EXPECT_EQ(defaulted->mysql.database, "barid");
}

TEST(Config, UnsupportedStorageDriver) {
  expect_error(R"(
storage: {driver: postgres, user: u, database: d}
plugins: {path: p}
providers: {a: {plugin: mock}}
routing: {sms: {provider: a}}
)",
               "storage.driver", "not supported");
}

TEST(Config, MissingPluginPath) {
  expect_error(R"(
storage: {user: u, database: d}
providers: {a: {plugin: mock}}
routing: {sms: {provider: a}}
)",
               "plugins.path", "at least one directory");
}

TEST(Config, MissingProviders) {
  expect_error(R"(
storage: {user: u, database: d}
plugins: {path: p}
routing: {sms: {provider: a}}
)",
               "providers", "at least one provider instance");
}

TEST(Config, ProviderWithoutPlugin) {
  expect_error(R"(
storage: {user: u, database: d}
plugins: {path: p}
providers: {a: {rate_limit: 1}}
routing: {sms: {provider: a}}
)",
               "providers.a.plugin", "required");
}

TEST(Config, BadInstanceName) {
  expect_error(R"(
storage: {user: u, database: d}
plugins: {path: p}
providers: {Twilio Main: {plugin: twilio-sms}}
routing: {sms: {provider: Twilio Main}}
)",
               "providers.Twilio Main", "lower-case");
}

TEST(Config, MissingRouting) {
  expect_error(R"(
storage: {user: u, database: d}
plugins: {path: p}
providers: {a: {plugin: mock}}
)",
               "routing", "at least one channel");
}

TEST(Config, RouteToAnUnknownInstance) {
  expect_error(R"(
storage: {user: u, database: d}
plugins: {path: p}
providers: {a: {plugin: mock}}
routing: {sms: {provider: twilio}}
)",
               "routing.sms.provider", "no provider instance named 'twilio'");
  expect_error(R"(
storage: {user: u, database: d}
plugins: {path: p}
providers: {a: {plugin: mock}}
routing: {whatsapp: {provider: a, fallback: [a, b]}}
)",
               "routing.whatsapp.fallback", "no provider instance named 'b'");
  expect_error(R"(
storage: {user: u, database: d}
plugins: {path: p}
providers: {a: {plugin: mock}}
routing: {sms: {fallback: [a]}}
)",
               "routing.sms.provider", "required");
}

// --- ${VAR} -------------------------------------------------------------------

TEST(Config, UnsetVariableWithoutDefault) {
  expect_error(R"(
storage: {user: u, database: d, password: "${DB_PASSWORD}"}
plugins: {path: p}
providers: {a: {plugin: mock}}
routing: {sms: {provider: a}}
)",
               "storage.password", "DB_PASSWORD is not set");
  // Inside a plugin's config block too, named by its full path.
  expect_error(R"(
storage: {user: u, database: d}
plugins: {path: p}
providers: {a: {plugin: mock, config: {webhook_secret: "${MOCK_SECRET}"}}}
routing: {sms: {provider: a}}
)",
               "providers.a.config.webhook_secret", "MOCK_SECRET is not set");
}

TEST(Config, VariableWithDefault) {
  const std::string yaml = R"(
server: {listen: "127.0.0.1:${PORT:-8080}"}
storage: {user: "${DB_USER:-barid}", database: d, password: "${DB_PASSWORD:-}"}
plugins: {path: ["${PLUGIN_DIR:-../build/plugins}"]}
providers: {a: {plugin: mock}}
routing: {sms: {provider: a}}
)";
  auto unset = parse(yaml);
  ASSERT_TRUE(unset.ok()) << unset.error().message;
  EXPECT_EQ(unset->server.port, 8080);
  EXPECT_EQ(unset->mysql.user, "barid");
  EXPECT_EQ(unset->mysql.password, "");
  EXPECT_EQ(unset->plugin_paths[0], "/etc/build/plugins");

  auto set = parse(yaml, {{"PORT", "9000"}, {"DB_USER", "app"}, {"DB_PASSWORD", "pw"}, {"PLUGIN_DIR", "/p"}});
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->server.port, 9000);
  EXPECT_EQ(set->mysql.user, "app");
  EXPECT_EQ(set->mysql.password, "pw");
  EXPECT_EQ(set->plugin_paths[0], "/p");

  // As in the shell, ':-' also replaces a variable that is set but empty.
  auto empty = parse(yaml, {{"DB_USER", ""}});
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_EQ(empty->mysql.user, "barid");
}

TEST(Config, VariableSetToEmptyWithoutDefaultIsEmpty) {
  auto r = parse(R"(
storage: {user: u, database: d, password: "${DB_PASSWORD}"}
plugins: {path: p}
providers: {a: {plugin: mock}}
routing: {sms: {provider: a}}
)",
                 {{"DB_PASSWORD", ""}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->mysql.password, "");
}

TEST(Config, InterpolateDirectly) {
  const auto env = env_of({{"A", "1"}, {"B", "two"}});
  EXPECT_EQ(*interpolate("x${A}y${B}z", "k", env), "x1ytwoz");
  EXPECT_EQ(*interpolate("no variables", "k", env), "no variables");
  EXPECT_EQ(*interpolate("$A and $", "k", env), "$A and $");  // only ${...} is special
  EXPECT_EQ(*interpolate("${C:-a:-b}", "k", env), "a:-b");
  auto unterminated = interpolate("${A", "server.listen", env);
  ASSERT_FALSE(unterminated.ok());
  EXPECT_EQ(unterminated.error().field, "server.listen");
  EXPECT_NE(unterminated.error().message.find("unterminated"), std::string::npos);
  auto bad_name = interpolate("${1A}", "k", env);
  ASSERT_FALSE(bad_name.ok());
  EXPECT_NE(bad_name.error().message.find("not an environment variable name"), std::string::npos);
  EXPECT_FALSE(interpolate("${}", "k", env).ok());
}

// --- regions and paths ----------------------------------------------------------

TEST(Config, BadRegion) {
  expect_error(kMinimal + "messaging:\n  default_region: KSA\n", "messaging.default_region", "not a region");
  expect_error(kMinimal + "messaging:\n  default_region: sa\n", "messaging.default_region", "not a region");
  auto ok = parse(kMinimal + "messaging:\n  default_region: AE\n");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->default_region, "AE");
}

TEST(Config, RelativePluginPathsResolveAgainstTheBaseDirectory) {
  auto r = parse(R"(
storage: {user: u, database: d}
plugins:
  path:
    - plugins
    - ./more/../other
    - ../lib/barid/plugins
    - /usr/lib/barid/plugins
providers: {a: {plugin: mock}}
routing: {sms: {provider: a}}
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->plugin_paths.size(), 4u);
  EXPECT_EQ(r->plugin_paths[0], "/etc/barid/plugins");
  EXPECT_EQ(r->plugin_paths[1], "/etc/barid/other");
  EXPECT_EQ(r->plugin_paths[2], "/etc/lib/barid/plugins");
  EXPECT_EQ(r->plugin_paths[3], "/usr/lib/barid/plugins");
}

TEST(Config, APluginPathIsOneDirectoryEvenWithAComma) {
  auto r = parse(R"(
storage: {user: u, database: d}
plugins: {path: "/opt/acme,inc/plugins"}
providers: {a: {plugin: mock}}
routing: {sms: {provider: a}}
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->plugin_paths.size(), 1u);
  EXPECT_EQ(r->plugin_paths[0], "/opt/acme,inc/plugins");
}

// The quick-start form "path: ${BARID_PLUGIN_DIR:-...}" written as a single
// value rather than a list.
TEST(Config, APluginPathWithAVariableMayBeASingleValue) {
  const std::string yaml = R"(
storage: {user: u, database: d}
plugins:
  path: "${PLUGIN_DIR:-../build/plugins}"
providers: {a: {plugin: mock}}
routing: {sms: {provider: a}}
)";
  std::optional<core::Result<GatewayConfig>> r;
  ASSERT_NO_THROW(r.emplace(parse(yaml)));
  ASSERT_TRUE(r->ok()) << r->error().message;
  ASSERT_EQ((*r)->plugin_paths.size(), 1u);
  EXPECT_EQ((*r)->plugin_paths[0], "/etc/build/plugins");
  ASSERT_NO_THROW(r.emplace(parse(yaml, {{"PLUGIN_DIR", "/opt/p"}})));
  ASSERT_TRUE(r->ok()) << r->error().message;
  EXPECT_EQ((*r)->plugin_paths[0], "/opt/p");
}

// --- numbers that are not numbers ---------------------------------------------

TEST(Config, NotANumberIsRefused) {
  expect_error(kMinimal + "retry:\n  jitter: nan\n", "retry.jitter", "not a number");
  expect_error(kMinimal + "retry:\n  multiplier: NaN\n", "retry.multiplier", "not a number");
}

TEST(Config, HugeDurationIsAnErrorNotAnException) {
  std::optional<core::Result<GatewayConfig>> r;
  ASSERT_NO_THROW(r.emplace(parse(kMinimal + "retry:\n  max_backoff: 99999999999999999999s\n")));
  ASSERT_FALSE(r->ok());
  EXPECT_EQ(r->error().field, "retry.max_backoff");
}

TEST(Config, WebhooksEndpointConcurrencyAndReplayLimit) {
  auto r = parse(kMinimal);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->webhooks.endpoint_concurrency, 8);
  EXPECT_EQ(r->webhooks.replay_limit, 10000);
  auto set = parse(kMinimal + "webhooks:\n  endpoint_concurrency: 16\n  replay_limit: 500\n");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->webhooks.endpoint_concurrency, 16);
  EXPECT_EQ(set->webhooks.replay_limit, 500);
  expect_error(kMinimal + "webhooks:\n  endpoint_concurrency: 0\n", "webhooks.endpoint_concurrency", "between 1 and 64");
  expect_error(kMinimal + "webhooks:\n  replay_limit: 0\n", "webhooks.replay_limit", "between 1 and 1000000");
}

TEST(Config, JobsHaveTheDocumentedDefaults) {
  auto r = parse(kMinimal);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const JobsConfig& j = r->jobs;
  EXPECT_EQ(j.status_refresh.schedule.every, std::chrono::minutes(5));
  EXPECT_EQ(j.refresh_window, std::chrono::hours(24));
  EXPECT_EQ(j.retry_sweep.schedule.every, std::chrono::hours(1));
  EXPECT_EQ(j.sweep_max_attempts, 3);
  EXPECT_EQ(j.retention.schedule.daily_hour, 2);
  EXPECT_EQ(j.retention.schedule.daily_minute, 0);
  EXPECT_EQ(j.retention_days, 90);
  EXPECT_EQ(j.provider_health.schedule.every, std::chrono::minutes(15));
  EXPECT_TRUE(j.status_refresh.enabled && j.retry_sweep.enabled && j.retention.enabled && j.provider_health.enabled);
}

TEST(Config, ReadsTheJobs) {
  auto r = parse(kMinimal + R"(
jobs:
  poll: 1s
  status_refresh: {every: 2m, window: 12h, batch: 100}
  retry_sweep: {enabled: false}
  retention: {daily_at: "23:30", days: 30, batch: 500}
  provider_health: {every: 1m}
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const JobsConfig& j = r->jobs;
  EXPECT_EQ(j.poll, milliseconds(1000));
  EXPECT_EQ(j.status_refresh.schedule.every, std::chrono::minutes(2));
  EXPECT_EQ(j.refresh_window, std::chrono::hours(12));
  EXPECT_EQ(j.refresh_batch, 100);
  EXPECT_FALSE(j.retry_sweep.enabled);
  EXPECT_EQ(j.retention.schedule.daily_hour, 23);
  EXPECT_EQ(j.retention.schedule.daily_minute, 30);
  EXPECT_EQ(j.retention_days, 30);
  EXPECT_EQ(j.retention_batch, 500);
  EXPECT_EQ(j.provider_health.schedule.every, std::chrono::minutes(1));
}

TEST(Config, BadJobSchedules) {
  expect_error(kMinimal + "jobs:\n  retention: {daily_at: \"24:00\"}\n", "jobs.retention.daily_at", "HH:MM");
  expect_error(kMinimal + "jobs:\n  retention: {daily_at: \"2am\"}\n", "jobs.retention.daily_at", "HH:MM");
  expect_error(kMinimal + "jobs:\n  status_refresh: {every: 5m, daily_at: \"02:00\"}\n", "jobs.status_refresh",
               "either every or daily_at");
  expect_error(kMinimal + "jobs:\n  provider_health: {every: 100ms}\n", "jobs.provider_health.every", "at least 1s");
  expect_error(kMinimal + "jobs:\n  retention: {days: 0}\n", "jobs.retention.days", "");
  expect_error(kMinimal + "jobs:\n  retry_sweep: {tries: 3}\n", "jobs.retry_sweep.tries", "unknown key");
  expect_error(kMinimal + "jobs:\n  cleanup: {every: 1h}\n", "jobs.cleanup", "unknown key");
}

TEST(Config, TrustedProxies) {
  auto r = parse(kMinimal + "server:\n  trusted_proxies: [10.0.0.0/8, \"::1\"]\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->server.trusted_proxies.contains("10.3.2.1"));
  EXPECT_TRUE(r->server.trusted_proxies.contains("::1"));
  EXPECT_TRUE(parse(kMinimal)->server.trusted_proxies.empty());
  expect_error(kMinimal + "server:\n  trusted_proxies: [10.0.0.0/8, lb.internal]\n", "server.trusted_proxies[1]",
               "not an IP address");
}

TEST(ParseDuration, Units) {
  EXPECT_EQ(parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(parse_duration("2s"), milliseconds(2000));
  EXPECT_EQ(parse_duration("5m"), milliseconds(300000));
  EXPECT_EQ(parse_duration("1h"), milliseconds(3600000));
  EXPECT_EQ(parse_duration("1d"), milliseconds(86400000));
  EXPECT_EQ(parse_duration("0s"), milliseconds(0));
  EXPECT_EQ(parse_duration(" 30 s "), milliseconds(30000));
}

TEST(ParseDuration, RejectsWhatIsNotADuration) {
  for (const char* s : {"", "10", "s", "1.5s", "-1s", "1w", "1 min", "1S", "1s2", "ms"})
    EXPECT_FALSE(parse_duration(s).has_value()) << "'" << s << "'";
}

TEST(ParseDuration, OverflowIsRefusedNotThrown) {
  std::optional<std::optional<milliseconds>> r;
  ASSERT_NO_THROW(r.emplace(parse_duration("99999999999999999999s")));
  EXPECT_FALSE(r->has_value());
  // Fits in long long but not in milliseconds once multiplied.
  ASSERT_NO_THROW(r.emplace(parse_duration("9223372036854775807d")));
  EXPECT_FALSE(r->has_value());
}


TEST(Config, EncryptionKeysComeFromAnEnvironmentVariable) {
  const std::string k1 = "k1:" + sdk::base64_encode(std::string(32, 'a'));
  const std::string k2 = "k2:" + sdk::base64_encode(std::string(32, 'b'));
  auto c = parse(kMinimal + "privacy:\n  encryption:\n    key_env: BARID_CONTENT_KEYS\n",
                 {{"BARID_CONTENT_KEYS", k2 + "," + k1}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE(c->mysql.cipher);
  EXPECT_EQ(c->mysql.cipher->sealing_key_id(), "k2");
  EXPECT_EQ(c->mysql.cipher->key_ids(), (std::vector<std::string>{"k2", "k1"}));
  // Without privacy, nothing is sealed.
  auto plain = parse(kMinimal);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->mysql.cipher);
}

TEST(Config, EncryptionKeysThatCannotBeReadAreRefused) {
  const std::string env = kMinimal + "privacy:\n  encryption:\n    key_env: BARID_CONTENT_KEYS\n";
  expect_error(env, "privacy.encryption.key_env", "is not set");
  expect_error(env, "privacy.encryption.key_env", "line 1", {{"BARID_CONTENT_KEYS", "k1:tooshort"}});
  expect_error(kMinimal + "privacy:\n  encryption:\n    key_file: /nonexistent/keys\n    key_env: X\n",
               "privacy.encryption", "not both");
  expect_error(kMinimal + "privacy:\n  encryption:\n    key_file: /nonexistent/keys\n",
               "privacy.encryption.key_file", "cannot be read");
  expect_error(kMinimal + "privacy:\n  encryption:\n    keys: [a]\n", "privacy.encryption.keys", "unknown key");
}

TEST(Config, SealedNumbersNeedAnIndexKey) {
  const std::string k1 = "k1:" + sdk::base64_encode(std::string(32, 'a'));
  const std::string index = "index:" + sdk::base64_encode(std::string(32, 'i'));
  const std::string yaml = kMinimal + "privacy:\n  encryption:\n    key_env: KEYS\n    numbers: true\n";
  auto c = parse(yaml, {{"KEYS", k1 + "," + index}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->mysql.cipher->seals_numbers());
  expect_error(yaml, "privacy.encryption.numbers", "index:", {{"KEYS", k1}});
  expect_error(kMinimal + "privacy:\n  encryption:\n    numbers: true\n", "privacy.encryption.numbers",
               "key_file or key_env");
  auto off = parse(kMinimal + "privacy:\n  encryption:\n    key_env: KEYS\n", {{"KEYS", k1 + "," + index}});
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->mysql.cipher->seals_numbers());
}

TEST(Config, RetentionCannotExceedTheOperatorsMaximum) {
  auto c = parse(kMinimal + "jobs:\n  retention: {days: 30, max_days: 60}\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->jobs.retention_max_days, 60);
  EXPECT_EQ(core::effective_retention_days(std::nullopt, c->jobs), 30);
  EXPECT_EQ(core::effective_retention_days(90, c->jobs), 60);
  EXPECT_EQ(core::effective_retention_days(10, c->jobs), 10);
  expect_error(kMinimal + "jobs:\n  retention: {days: 90, max_days: 60}\n", "jobs.retention.days", "max_days");
}

TEST(Config, AuditEntriesOutliveATenantsShortRetention) {
  auto c = parse(kMinimal);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->jobs.retention_audit_min_days, 365);
  EXPECT_EQ(core::effective_audit_days(1, c->jobs), 365);  // a tenant's retention_days: 1
  EXPECT_EQ(core::effective_audit_days(std::nullopt, c->jobs), 365);
  auto shorter = parse(kMinimal + "jobs:\n  retention: {days: 30, max_days: 60}\n");
  ASSERT_TRUE(shorter.ok());
  EXPECT_EQ(core::effective_audit_days(1, shorter->jobs), 60);  // never past the operator's maximum
  auto set = parse(kMinimal + "jobs:\n  retention: {max_days: 3650, audit_min_days: 730}\n");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(core::effective_audit_days(1, set->jobs), 730);
  EXPECT_EQ(core::effective_audit_days(1000, set->jobs), 1000);
  expect_error(kMinimal + "jobs:\n  retention: {days: 30, max_days: 60, audit_min_days: 90}\n",
               "jobs.retention.audit_min_days",
               "max_days");
}

TEST(Config, WebhookHostsAreHostAndPort) {
  auto c = parse(kMinimal + "webhooks:\n  allow_hosts: [\"127.0.0.1:8080\", \"Hooks.Internal:443\", \"[::1]:9000\"]\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->webhooks.hosts.allow_hosts,
            (std::vector<std::string>{"127.0.0.1:8080", "hooks.internal:443", "[::1]:9000"}));
  EXPECT_TRUE(c->webhooks.hosts.any_port_hosts.empty());
  EXPECT_TRUE(c->warnings.empty());
  expect_error(kMinimal + "webhooks:\n  allow_hosts: [\"127.0.0.1\"]\n", "webhooks.allow_hosts[0]", "host:port");
  expect_error(kMinimal + "webhooks:\n  allow_hosts: [\"a:1\", \"b:70000\"]\n", "webhooks.allow_hosts[1]",
               "host:port");
  expect_error(kMinimal + "webhooks:\n  allow_hosts: [\"::1:80\"]\n", "webhooks.allow_hosts[0]", "host:port");
}

TEST(Config, TheDeprecatedAllowHttpHostsOpensEveryPortWithAWarning) {
  auto c = parse(kMinimal + "webhooks:\n  allow_http_hosts: [\"LocalHost\"]\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->webhooks.hosts.any_port_hosts, std::vector<std::string>{"localhost"});
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("webhooks.allow_http_hosts is deprecated"), std::string::npos);
  EXPECT_NE(c->warnings[0].find("webhooks.allow_hosts"), std::string::npos);
}

TEST(Config, ResponseLimits) {
  auto d = parse(kMinimal);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->webhooks.max_response_bytes, 64u * 1024);
  EXPECT_EQ(d->providers.at(0).http.max_response_bytes, 1024u * 1024);
  auto c = parse(kMinimal + "webhooks:\n  max_response_bytes: 16KiB\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->webhooks.max_response_bytes, 16u * 1024);
  std::string yaml = kMinimal;
  yaml.insert(yaml.find("    plugin: mock\n") + 17, "    http: {max_response_bytes: 2MiB}\n");
  auto p = parse(yaml);
  ASSERT_TRUE(p.ok()) << p.error().message << "\n" << yaml;
  EXPECT_EQ(p->providers.at(0).http.max_response_bytes, 2u * 1024 * 1024);
  expect_error(kMinimal + "webhooks:\n  max_response_bytes: lots\n", "webhooks.max_response_bytes", "size");
  expect_error(kMinimal + "webhooks:\n  max_response_bytes: 10\n", "webhooks.max_response_bytes", "between");
  EXPECT_EQ(parse_bytes("65536"), 65536u);
  EXPECT_EQ(parse_bytes("64KiB"), 65536u);
  EXPECT_EQ(parse_bytes("1MiB"), 1048576u);
  EXPECT_EQ(parse_bytes("1 GiB"), std::size_t{1} << 30);
  EXPECT_EQ(parse_bytes("1MB"), std::nullopt);
  EXPECT_EQ(parse_bytes("-1"), std::nullopt);
}

}  // namespace
}  // namespace barid::gateway
