#pragma once
// What the gateway lends each provider instance: its own HTTP client (so
// latency and errors are counted per instance), a logger that names the
// instance and redacts its secret configuration values, OpenSSL digests, the
// clock and the instance's public webhook URLs.

#include <barid/core/http_client.hpp>
#include <barid/core/plugin_host.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace barid::core {

// The gateway's public base URL, shared by every instance's context. It can
// be set after the provider instances exist: when the configuration gives
// none, the gateway uses the address it actually bound (port 0 included).
class PublicUrl {
 public:
  explicit PublicUrl(std::string url = {}) : url_(std::move(url)) {}
  void set(std::string url) {
    std::lock_guard lock(mutex_);
    url_ = std::move(url);
  }
  std::string get() const {
    std::lock_guard lock(mutex_);
    return url_;
  }

 private:
  mutable std::mutex mutex_;
  std::string url_;
};

class OpenSslCrypto final : public sdk::Crypto {
 public:
  std::string hmac_sha1(std::string_view key, std::string_view data) const noexcept override;
  std::string hmac_sha256(std::string_view key, std::string_view data) const noexcept override;
  std::string sha256(std::string_view data) const noexcept override;
};

// Replaces every occurrence of each secret in `text` with "[redacted]".
std::string redact(std::string text, const std::vector<std::string>& secrets);

class GatewayHostContext final : public sdk::HostContext {
 public:
  GatewayHostContext(std::string instance, std::shared_ptr<const PublicUrl> public_url, HttpClientOptions http,
                     std::vector<std::string> secrets);

  sdk::HttpClient& http() noexcept override { return http_; }
  sdk::Logger& logger() noexcept override { return logger_; }
  const sdk::Crypto& crypto() const noexcept override { return crypto_; }
  std::chrono::system_clock::time_point now() const noexcept override {
    return std::chrono::system_clock::now();
  }
  std::string webhook_url(std::string_view kind) const override;

  const CurlHttpClient& http_client() const noexcept { return http_; }

 private:
  class InstanceLogger final : public sdk::Logger {
   public:
    InstanceLogger(std::string component, std::vector<std::string> secrets)
        : component_(std::move(component)), secrets_(std::move(secrets)) {}
    void log(sdk::LogLevel level, std::string_view message) noexcept override;

   private:
    std::string component_;
    std::vector<std::string> secrets_;
  };

  std::string instance_;
  std::shared_ptr<const PublicUrl> public_url_;
  CurlHttpClient http_;
  InstanceLogger logger_;
  OpenSslCrypto crypto_;
};

class GatewayHostContextFactory final : public HostContextFactory {
 public:
  GatewayHostContextFactory(std::shared_ptr<const PublicUrl> public_url, HttpClientOptions http)
      : public_url_(std::move(public_url)), http_(std::move(http)) {}

  std::unique_ptr<sdk::HostContext> make(const std::string& instance_name,
                                         const sdk::PluginDescriptor& plugin,
                                         const sdk::ProviderConfig& config) override;

 private:
  std::shared_ptr<const PublicUrl> public_url_;
  HttpClientOptions http_;
};

}  // namespace barid::core
