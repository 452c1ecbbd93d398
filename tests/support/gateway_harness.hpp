#pragma once
// The real barid-gateway binary for end-to-end tests: a configuration written
// to a temporary folder (storage = a TestDatabase, plugins = the build's
// plugin folder, listen on 127.0.0.1 port 0), started as a child process and
// talked to over HTTP.

#include "child_process.hpp"
#include "test_database.hpp"

#include <barid/core/http_client.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace barid::testing {

// Mock SMS and WhatsApp instances, each delivering after 50 ms (SMS at a
// cost), routed; quick retries and polls; Saudi numbers. For tests that
// need a working gateway and nothing particular of its providers.
inline constexpr const char* kMockGatewaySections = R"yaml(
providers:
  mock-sms:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, delivered_after_ms: "50", cost_micros_per_segment: "7500", currency: "USD"}
  mock-whatsapp:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: whatsapp, delivered_after_ms: "50"}
routing:
  sms: {provider: mock-sms}
  whatsapp: {provider: mock-whatsapp}
retry: {max_attempts: 3, initial_backoff: 50ms, max_backoff: 200ms, jitter: 0}
dispatch: {poll_interval: 50ms, lease: 30s}
messaging: {default_region: SA}
)yaml";

// Every periodic job switched off, for tests that must see only what they
// cause (append to the sections).
inline constexpr const char* kJobsOff = R"yaml(
jobs:
  status_refresh: {enabled: false}
  retry_sweep: {enabled: false}
  retention: {enabled: false}
  provider_health: {enabled: false}
)yaml";

class GatewayUnderTest {
 public:
  // `sections` is YAML for everything but server, storage and plugins
  // (providers, routing, retry, dispatch, ...). Without an `auth:` section
  // of their own, keys are cached for 1 s (auth.key_cache_ttl).
  GatewayUnderTest(const TestDatabase& db, std::string sections);
  GatewayUnderTest(const core::MySqlOptions& db, std::string sections);
  // A configuration file as it is (e.g. the repository's config/gateway.yaml),
  // its ${...} filled from the environment the binary gets: BARID_DB_HOST,
  // BARID_DB_PORT, BARID_DB_NAME, BARID_DB_USER and BARID_DB_PASSWORD name
  // the test database, BARID_PLUGIN_DIR this build's plugins, BARID_PORT is
  // 0. rewrite() and add_server_keys() do not apply to it.
  struct ConfigFile {
    std::string path;
  };
  GatewayUnderTest(const TestDatabase& db, ConfigFile file);
  ~GatewayUnderTest();

  // Starts the binary and waits until it listens (fails the test if not).
  void start(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Starts the binary for a configuration it should refuse: its exit status
  // (nullopt if it still runs after `timeout`; it is then killed).
  std::optional<int> start_expecting_exit(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void kill9();
  void signal(int sig);
  // Writes the configuration again with other sections (then SIGHUP it).
  void rewrite(const std::string& sections);
  // Adds keys to the server section (indented YAML lines), before start().
  void add_server_keys(const std::string& lines);
  // SIGTERM, then the exit status (nullopt if it did not exit in time).
  std::optional<int> terminate(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool running() { return process_ && process_->running(); }
  // The gateway's process id (-1 before start()).
  pid_t pid() const { return process_ ? process_->pid() : -1; }

  std::string base_url() const { return base_url_; }
  std::string create_api_key(const std::string& tenant);
  // An operator key (barid-gateway create-operator-key), for /v1/admin/.
  std::string create_operator_key();
  // Runs a command of the binary on this configuration (e.g. rotate-key):
  // its exit status (nullopt after `timeout`) and what it printed.
  struct CommandResult {
    std::optional<int> status;
    std::string out, err;
  };
  CommandResult run_command(const std::vector<std::string>& command,
                            std::chrono::milliseconds timeout = std::chrono::seconds(120));
  const std::string& config_path() const { return config_path_; }
  const std::string& dir() const { return dir_; }
  std::string log() const;

  sdk::HttpResponse request(const std::string& method, const std::string& path, const std::string& body = {},
                            const std::string& api_key = {}, sdk::HttpHeaders headers = {});
  // Sends JSON and parses the answer (null when it is not JSON).
  nlohmann::json json(const std::string& method, const std::string& path, const nlohmann::json& body,
                      const std::string& api_key, long* status = nullptr, sdk::HttpHeaders headers = {});
  // The same with `api_key`, expecting the status `expect` (a test failure
  // naming the route and the answer otherwise).
  nlohmann::json call(const std::string& api_key, const std::string& method, const std::string& path,
                      const nlohmann::json& body, long expect);
  // Polls GET /v1/messages/{id} until its status is `status`; the last
  // message seen is returned either way.
  nlohmann::json wait_for_status(const std::string& api_key, const std::string& id, const std::string& status,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(20));

 private:
  // With BARID_E2E_LOG_DIR set (ctest sets it for every test that starts
  // a gateway), the gateway's log (and every command's) is kept there, and
  // so is every phone number and body the test sent (record_sent), for the
  // scan that checks that no log holds one (log_scan.hpp).
  void archive_log() const;
  // Runs a key-creating command of the binary and returns the key it prints.
  std::string run_key_command(const std::vector<std::string>& command);

  std::string dir_;
  std::string config_path_;
  std::string sections_;
  std::string server_keys_;
  std::string base_url_;
  std::string db_password_;
  std::map<std::string, std::string> env_;  // for every run of the binary
  bool own_file_ = false;                   // config_path_ is not ours to write
  core::MySqlOptions db_;
  std::unique_ptr<ChildProcess> process_;
  core::CurlHttpClient http_{whole_responses()};
  static core::HttpClientOptions whole_responses() {
    core::HttpClientOptions o;
    o.max_response_bytes = 0;  // tests read lists and exports whole
    return o;
  }
};

// Audit events in the order their causes happened: a provider's delivery
// report can reach the gateway before the dispatcher has recorded the send
// it follows, so a "sent" that comes after "delivered"/"read" is moved in
// front of them. Everything else keeps its order.
std::vector<std::string> in_order_of_causes(std::vector<std::string> events);

// Path of the gateway binary and of the plugin folder of this build.
std::string gateway_binary();
std::string plugin_dir();

}  // namespace barid::testing
