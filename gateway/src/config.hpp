#pragma once
// The gateway's YAML configuration (config/gateway.yaml documents every key).
// Everything is validated at load, with messages that name the key; secrets
// come in as ${ENV_VAR} (or ${ENV_VAR:-default}) and never sit in the file.

#include "client_address.hpp"

#include <barid/core/money.hpp>
#include <barid/core/dispatcher.hpp>
#include <barid/core/http_client.hpp>
#include <barid/core/intake.hpp>
#include <barid/core/jobs.hpp>
#include <barid/core/log.hpp>
#include <barid/core/mysql_options.hpp>
#include <barid/core/result.hpp>
#include <barid/core/retry_policy.hpp>
#include <barid/core/webhook_sender.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace barid::gateway {

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (printed at start)
  int threads = 2;
  std::size_t max_request_bytes = 32 * 1024 * 1024;  // hard cap (bulk requests)
  std::size_t max_message_request_bytes = 64 * 1024;
  std::string public_base_url;  // how providers reach this gateway (provider callbacks)
  std::string tls_cert;
  std::string tls_key;
  int handler_threads = 8;  // for handlers that wait on the database
  std::size_t handler_queue = 1000;  // requests waiting for a handler thread, at most (then 503)
  std::chrono::milliseconds drain_timeout{10000};
  TrustedProxies trusted_proxies;  // whose X-Forwarded-For is believed
  std::string metrics_token;  // when set, GET /metrics wants 'Authorization: Bearer <token>'
};

struct ProviderInstanceConfig {
  std::string name;
  std::string plugin;
  std::map<std::string, std::string> config;
  double rate_limit = 0;  // sends per second; 0: unlimited
  double burst = 0;
  core::HttpClientOptions http;
  std::optional<sdk::Money> price_per_segment;  // for cost estimates (preflight, usage, spend caps)
  // Start the instance even though its callbacks cannot be authenticated.
  bool allow_unauthenticated_callbacks = false;
  std::string default_tenant;  // the tenant inbound messages belong to when no recent send explains them
};

struct RouteConfig {
  sdk::Channel channel = sdk::Channel::sms;
  std::string provider;
  std::vector<std::string> fallback;
  int primary_attempts = 0;
};

// The jobs section: core's (jobs.hpp), where the jobs are wired.
using JobConfig = core::JobConfig;
using JobsConfig = core::JobsConfig;

struct GatewayConfig {
  std::filesystem::path source;
  ServerConfig server;
  core::MySqlOptions mysql;
  std::vector<std::filesystem::path> plugin_paths;
  std::vector<ProviderInstanceConfig> providers;
  std::vector<RouteConfig> routes;
  core::RetryPolicy retry;
  core::DispatcherOptions dispatch;
  bool dispatch_enabled = true;
  core::IntakeWriterOptions intake;
  core::IntakeLimits limits;
  std::size_t max_bulk_recipients = 100000;
  std::chrono::milliseconds template_cache_ttl{10000};
  // How long after a tenant last sent to a number a message from that
  // number is taken to be for that tenant (messaging.inbound_assignment_window).
  std::chrono::seconds inbound_assignment_window{std::chrono::hours(24 * 7)};
  JobsConfig jobs;
  std::string default_region;
  core::LogLevel log_level = core::LogLevel::info;
  std::chrono::seconds api_key_cache_ttl{30};
  std::chrono::milliseconds revocation_poll{1000};  // how often each node asks which keys were revoked
  core::WebhookOptions webhooks;  // the webhooks section: delivery of tenants' event webhooks
  std::vector<std::string> warnings;  // for the log at start (deprecated keys)
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// Reads the environment of this process.
std::optional<std::string> process_env(const std::string& name);

// Why a file the configuration names cannot be read ("No such file or
// directory"), or nothing when it can. Passed in like the environment, so
// that tests need no files.
using FileCheck = std::function<std::optional<std::string>(const std::filesystem::path&)>;

// Opens the file for reading (and closes it): a regular file, not a folder.
std::optional<std::string> readable_file(const std::filesystem::path& path);

// Parses YAML text; relative paths are resolved against `base_dir`. The
// files of storage.tls must pass `files`.
core::Result<GatewayConfig> parse_config(const std::string& yaml_text, const std::filesystem::path& base_dir,
                                         const EnvLookup& env = process_env, const FileCheck& files = readable_file);
core::Result<GatewayConfig> load_config(const std::filesystem::path& file, const EnvLookup& env = process_env,
                                        const FileCheck& files = readable_file);

// What to warn the operator about when providers cannot reach this gateway's
// callback URLs: an instance of a real provider (any plugin but mock) is
// configured and server.public_base_url is unset (the URLs then name the
// listen address) or names a loopback or unspecified host. Empty when there
// is nothing to say.
std::string public_url_warning(const GatewayConfig& config);

// "500ms", "2s", "5m", "1h", "1d"
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);
// "65536", "512B", "64KiB", "1MiB", "1GiB"
std::optional<std::size_t> parse_bytes(const std::string& text);
using core::parse_money;  // "0.0075" -> 7500 (millionths)

// Replaces ${VAR} and ${VAR:-default}; an unset VAR without a default is an
// error naming `key`.
core::Result<std::string> interpolate(const std::string& value, const std::string& key, const EnvLookup& env);

}  // namespace barid::gateway
