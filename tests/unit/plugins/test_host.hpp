#pragma once
// A HostContext for driving a provider directly in unit tests: a scripted
// HTTP client (answers queued in advance, requests recorded), a logger that
// keeps every line, HMAC/SHA-256 from OpenSSL, a clock the test sets.

#include <barid/sdk/sdk.hpp>

#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace barid::plugins::testing {

class ScriptedHttpClient final : public sdk::HttpClient {
 public:
  sdk::HttpResponse perform(const sdk::HttpRequest& request) noexcept override;

  void answer(int status, std::string body, sdk::HttpHeaders headers = {});
  void answer_json(int status, std::string body, sdk::HttpHeaders headers = {});
  void fail(sdk::TransportError error, std::string message);

  std::vector<sdk::HttpRequest> requests;
  std::size_t pending() const { return answers_.size(); }

 private:
  std::deque<sdk::HttpResponse> answers_;
};

class RecordingLogger final : public sdk::Logger {
 public:
  void log(sdk::LogLevel level, std::string_view message) noexcept override;
  std::string all() const;
  // The lines logged at `level`.
  std::vector<std::string> at(sdk::LogLevel level) const;
  std::vector<std::string> lines;
  std::vector<sdk::LogLevel> levels;
};

class OpenSslCrypto final : public sdk::Crypto {
 public:
  std::string hmac_sha1(std::string_view key, std::string_view data) const noexcept override;
  std::string hmac_sha256(std::string_view key, std::string_view data) const noexcept override;
  std::string sha256(std::string_view data) const noexcept override;
};

class TestHost final : public sdk::HostContext {
 public:
  explicit TestHost(std::string webhook_base = "https://gw.example.com/webhooks/test")
      : webhook_base_(std::move(webhook_base)) {}
  sdk::HttpClient& http() noexcept override { return http_client; }
  sdk::Logger& logger() noexcept override { return log; }
  const sdk::Crypto& crypto() const noexcept override { return crypto_; }
  std::chrono::system_clock::time_point now() const noexcept override { return clock; }
  std::string webhook_url(std::string_view kind) const override {
    return webhook_base_.empty() ? std::string() : webhook_base_ + "/" + std::string(kind);
  }

  ScriptedHttpClient http_client;
  RecordingLogger log;
  std::chrono::system_clock::time_point clock = std::chrono::system_clock::from_time_t(1'700'000'000);

 private:
  std::string webhook_base_;
  OpenSslCrypto crypto_;
};

// The form fields of a request body, in order.
sdk::FormFields form_of(const sdk::HttpRequest& request);
// A config with the given values (as the host passes them: every declared key
// present, with its default when not given).
sdk::ProviderConfig config_of(const std::vector<sdk::ConfigKey>& keys,
                              const std::vector<std::pair<std::string, std::string>>& values);

}  // namespace barid::plugins::testing
