// Twilio's status and inbound webhooks on arbitrary request bodies, with
// signature checking on (most requests are refused before parsing) and off
// (every request reaches the parser). The first byte picks the case.
#include "test_host.hpp"
#include "twilio/twilio_provider.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace {

using namespace barid;

std::unique_ptr<sdk::Provider> make(plugins::testing::TestHost& host, sdk::Channel channel, bool validate) {
  const std::vector<std::pair<std::string, std::string>> values = {
      {"account_sid", "AC" + std::string(32, 'a')},
      {"auth_token", "tw-secret-token-123"},
      {"from", "+15017250604"},
      {"validate_signatures", validate ? "true" : "false"}};
  auto created = plugins::twilio::create_provider(
      plugins::testing::config_of(plugins::twilio::config_keys(channel), values), host, channel);
  if (!created.provider) {
    std::fprintf(stderr, "cannot make the provider: %s\n", created.error.c_str());
    std::abort();
  }
  return std::move(created.provider);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static plugins::testing::TestHost host;
  static auto sms = make(host, sdk::Channel::sms, false);
  static auto whatsapp = make(host, sdk::Channel::whatsapp, false);
  static auto signed_sms = make(host, sdk::Channel::sms, true);
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  sdk::CallbackRequest r;
  r.kind = (mode & 1) ? "inbound" : "status";
  r.method = "POST";
  r.url = host.webhook_url(r.kind) + ((mode & 2) ? "?mid=0f8e5b1c-3c1d-4a52-9c8e-2f1b7a6d9e10" : "");
  r.body.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"X-Twilio-Signature", "abc="}};
  sdk::Provider& p = (mode & 4) ? *signed_sms : (mode & 8) ? *whatsapp : *sms;
  const auto result = p.parse_callback(r);
  for (const auto& u : result.status_updates)
    if (u.segments < 0) std::abort();
  return 0;
}
