#pragma once
// What a plugin declares about itself (its descriptor), what the host hands it
// (HostContext, ProviderConfig) and the factory signature. The entry macro
// that exports these lives in <barid/sdk/plugin_entry.hpp>.

#include <barid/sdk/http.hpp>
#include <barid/sdk/provider.hpp>
#include <barid/sdk/types.hpp>
#include <barid/sdk/version.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace barid::sdk {

enum class Capability : std::uint32_t {
  status_polling = 1u << 0,      // fetch_status works
  status_webhooks = 1u << 1,     // parse_callback understands delivery reports
  inbound_messages = 1u << 2,    // parse_callback understands inbound messages (STOP/START)
  provider_templates = 1u << 3,  // OutboundMessage::provider_template is honoured
  cost_reporting = 1u << 4,      // results carry cost
};

constexpr std::uint32_t operator|(Capability a, Capability b) noexcept {
  return static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b);
}
constexpr std::uint32_t operator|(std::uint32_t a, Capability b) noexcept {
  return a | static_cast<std::uint32_t>(b);
}

inline constexpr std::string_view to_string(Capability c) noexcept {
  switch (c) {
    case Capability::status_polling: return "status_polling";
    case Capability::status_webhooks: return "status_webhooks";
    case Capability::inbound_messages: return "inbound_messages";
    case Capability::provider_templates: return "provider_templates";
    case Capability::cost_reporting: return "cost_reporting";
  }
  return "unknown";
}

inline constexpr Capability kAllCapabilities[] = {
    Capability::status_polling, Capability::status_webhooks, Capability::inbound_messages,
    Capability::provider_templates, Capability::cost_reporting};

// One configuration key a plugin accepts. The host rejects keys that are not
// declared and required keys that are missing, and never logs secret values.
struct ConfigKey {
  std::string name;
  bool required = false;
  bool secret = false;
  std::string default_value;  // applied when the key is absent and not required
  std::string description;
};

struct PluginDescriptor {
  std::string name;     // unique among loaded plugins, [a-z0-9_-]+
  std::string version;  // the plugin's own version
  std::string description;
  std::vector<Channel> channels;
  std::uint32_t capabilities = 0;  // bitwise or of Capability
  std::vector<ConfigKey> config_keys;

  bool has(Capability c) const noexcept {
    return (capabilities & static_cast<std::uint32_t>(c)) != 0;
  }
  bool serves(Channel c) const noexcept {
    for (auto ch : channels)
      if (ch == c) return true;
    return false;
  }
};

// The validated configuration of one provider instance: every declared key
// with its value or default, nothing else.
struct ProviderConfig {
  std::string instance_name;
  std::map<std::string, std::string> values;

  std::string get(const std::string& key) const {
    auto it = values.find(key);
    return it == values.end() ? std::string() : it->second;
  }
};

enum class LogLevel : std::uint8_t { debug, info, warn, error };

// The host's logger. It prefixes the instance name and redacts the
// instance's secret values; still, never log message bodies or secrets.
class Logger {
 public:
  virtual ~Logger() = default;
  virtual void log(LogLevel level, std::string_view message) noexcept = 0;

  void debug(std::string_view m) noexcept { log(LogLevel::debug, m); }
  void info(std::string_view m) noexcept { log(LogLevel::info, m); }
  void warn(std::string_view m) noexcept { log(LogLevel::warn, m); }
  void error(std::string_view m) noexcept { log(LogLevel::error, m); }
};

// Digests for webhook signatures; results are raw bytes (see encoding.hpp
// for base64 and hex).
class Crypto {
 public:
  virtual ~Crypto() = default;
  virtual std::string hmac_sha1(std::string_view key, std::string_view data) const noexcept = 0;
  virtual std::string hmac_sha256(std::string_view key, std::string_view data) const noexcept = 0;
  virtual std::string sha256(std::string_view data) const noexcept = 0;
};

// Everything the host lends a provider instance. It outlives the instance.
class HostContext {
 public:
  virtual ~HostContext() = default;
  virtual HttpClient& http() noexcept = 0;
  virtual Logger& logger() noexcept = 0;
  virtual const Crypto& crypto() const noexcept = 0;
  virtual std::chrono::system_clock::time_point now() const noexcept = 0;
  // The public URL of this instance's webhook of the given kind
  // ({public_base_url}/webhooks/{instance}/{kind}); empty when the gateway
  // has no public base URL configured.
  virtual std::string webhook_url(std::string_view kind) const = 0;
};

struct CreateResult {
  std::unique_ptr<Provider> provider;
  std::string error;  // set when provider is null: what is wrong, naming the key
  // Empty when this instance checks every webhook request for proof that
  // its provider sent it (a signature, a secret token). An instance that
  // cannot (no secret configured, or a provider that signs nothing) says
  // why and what would fix it, e.g. "no webhook_secret is set"; the gateway
  // then refuses to start it unless the operator sets
  // providers.<instance>.allow_unauthenticated_callbacks: true.
  std::string unauthenticated_callbacks;
  // The sender a message goes out from when it names none (OutboundMessage::
  // from empty), as a send's `from` would name it: the configured number or
  // sender ID. Empty when the provider picks it (a Twilio Messaging
  // Service). The gateway stores it as the message's sender, so that a
  // patient's reply to that number finds the clinic that wrote from it, and
  // a tenant on a shared instance may name no other sender without the
  // operator's leave.
  std::string default_sender;

  static CreateResult ok(std::unique_ptr<Provider> p) {
    CreateResult r;
    r.provider = std::move(p);
    return r;
  }
  static CreateResult fail(std::string why) {
    CreateResult r;
    r.error = std::move(why);
    return r;
  }
};

// The three functions a plugin exports (through BARID_PROVIDER_PLUGIN).
using AbiFunction = AbiVersion();
using DescriptorFunction = const PluginDescriptor&();
using CreateFunction = CreateResult(const ProviderConfig&, HostContext&);

// Exported symbol names, in the order the host reads them.
inline constexpr const char* kAbiSymbol = "barid_plugin_abi";
inline constexpr const char* kDescriptorSymbol = "barid_plugin_descriptor";
inline constexpr const char* kCreateSymbol = "barid_plugin_create";

}  // namespace barid::sdk
