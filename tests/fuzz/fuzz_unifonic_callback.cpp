// Unifonic's delivery reports on arbitrary bodies, JSON or form, with and
// without a webhook secret. The first byte picks the case.
#include "test_host.hpp"
#include "unifonic/unifonic_provider.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace {

using namespace barid;

std::unique_ptr<sdk::Provider> make(plugins::testing::TestHost& host, bool secret) {
  std::vector<std::pair<std::string, std::string>> values = {
      {"app_sid", "uf-app-sid-secret-789"}, {"sender_id", "Clinic"}, {"base_url", "https://unifonic.test"}};
  if (secret) values.push_back({"webhook_secret", "hook-secret-0123456789"});
  auto created =
      plugins::unifonic::create_provider(plugins::testing::config_of(plugins::unifonic::config_keys(), values), host);
  if (!created.provider) {
    std::fprintf(stderr, "cannot make the provider: %s\n", created.error.c_str());
    std::abort();
  }
  return std::move(created.provider);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static plugins::testing::TestHost host;
  static auto open = make(host, false);
  static auto guarded = make(host, true);
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  sdk::CallbackRequest r;
  r.kind = (mode & 1) ? "inbound" : "status";
  r.method = "POST";
  r.url = host.webhook_url(r.kind) + ((mode & 2) ? "?token=hook-secret-0123456789" : "");
  r.body.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  r.headers = {{"Content-Type", (mode & 4) ? "application/json" : "application/x-www-form-urlencoded"}};
  sdk::Provider& p = (mode & 8) ? *guarded : *open;
  (void)p.parse_callback(r);
  return 0;
}
