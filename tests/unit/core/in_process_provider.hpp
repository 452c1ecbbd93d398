#pragma once
// A provider instance made in process, without a plugin file, for unit tests
// of what drives providers (the dispatcher, the callback processor).

#include <barid/core/plugin_host.hpp>

#include <memory>
#include <string>

namespace barid::core {

// A HostContext that does nothing: no HTTP, no log, no digests, no webhook URL.
class NullHost final : public sdk::HostContext {
 public:
  class NoHttp final : public sdk::HttpClient {
   public:
    sdk::HttpResponse perform(const sdk::HttpRequest&) noexcept override { return {}; }
  };
  class NoLog final : public sdk::Logger {
   public:
    void log(sdk::LogLevel, std::string_view) noexcept override {}
  };
  class NoCrypto final : public sdk::Crypto {
   public:
    std::string hmac_sha1(std::string_view, std::string_view) const noexcept override { return {}; }
    std::string hmac_sha256(std::string_view, std::string_view) const noexcept override { return {}; }
    std::string sha256(std::string_view) const noexcept override { return {}; }
  };
  sdk::HttpClient& http() noexcept override { return http_; }
  sdk::Logger& logger() noexcept override { return log_; }
  const sdk::Crypto& crypto() const noexcept override { return crypto_; }
  std::chrono::system_clock::time_point now() const noexcept override { return std::chrono::system_clock::now(); }
  std::string webhook_url(std::string_view) const override { return {}; }

 private:
  NoHttp http_;
  NoLog log_;
  NoCrypto crypto_;
};

// An instance named `name` around `provider`, with no library behind it
// (its descriptor is not available).
inline std::shared_ptr<ProviderInstance> in_process_instance(const std::string& name,
                                                             std::unique_ptr<sdk::Provider> provider) {
  return std::make_shared<ProviderInstance>(name, nullptr, std::make_unique<NullHost>(), std::move(provider),
                                            sdk::ProviderConfig{});
}

}  // namespace barid::core
