#include <barid/core/host_context.hpp>

#include <barid/core/log.hpp>

#include <algorithm>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

namespace barid::core {

namespace {
std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) noexcept {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out, &len))
    return {};
  return std::string(reinterpret_cast<const char*>(out), len);
}
}  // namespace

std::string OpenSslCrypto::hmac_sha1(std::string_view key, std::string_view data) const noexcept {
  return hmac(EVP_sha1(), key, data);
}

std::string OpenSslCrypto::hmac_sha256(std::string_view key, std::string_view data) const noexcept {
  return hmac(EVP_sha256(), key, data);
}

std::string OpenSslCrypto::sha256(std::string_view data) const noexcept {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  // Mark every byte that belongs to an occurrence of any secret first, then
  // replace each marked run once: a secret that contains or overlaps another
  // leaves nothing behind.
  std::vector<char> covered(text.size(), 0);
  bool any = false;
  for (const auto& s : secrets) {
    if (s.empty()) continue;
    for (std::size_t pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos + 1)) {
      std::fill(covered.begin() + static_cast<long>(pos), covered.begin() + static_cast<long>(pos + s.size()), 1);
      any = true;
    }
  }
  if (!any) return text;
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!covered[i]) {
      out.push_back(text[i]);
    } else if (i == 0 || !covered[i - 1]) {
      out += "[redacted]";
    }
  }
  return out;
}

void GatewayHostContext::InstanceLogger::log(sdk::LogLevel level, std::string_view message) noexcept {
  try {
    std::string text = redact(std::string(message), secrets_);
    switch (level) {
      case sdk::LogLevel::debug: log_debug(component_, text); break;
      case sdk::LogLevel::info: log_info(component_, text); break;
      case sdk::LogLevel::warn: log_warn(component_, text); break;
      case sdk::LogLevel::error: log_error(component_, text); break;
    }
  } catch (...) {
  }
}

GatewayHostContext::GatewayHostContext(std::string instance, std::shared_ptr<const PublicUrl> public_url,
                                       HttpClientOptions http, std::vector<std::string> secrets)
    : instance_(std::move(instance)),
      public_url_(std::move(public_url)),
      http_(std::move(http)),
      logger_("provider " + instance_, std::move(secrets)) {}

std::string GatewayHostContext::webhook_url(std::string_view kind) const {
  std::string base = public_url_ ? public_url_->get() : std::string();
  if (base.empty()) return {};
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/webhooks/" + instance_ + "/" + std::string(kind);
}

std::unique_ptr<sdk::HostContext> GatewayHostContextFactory::make(const std::string& instance_name,
                                                                  const sdk::PluginDescriptor& plugin,
                                                                  const sdk::ProviderConfig& config) {
  std::vector<std::string> secrets;
  for (const auto& key : plugin.config_keys) {
    if (!key.secret) continue;
    auto v = config.get(key.name);
    if (!v.empty()) secrets.push_back(v);
  }
  return std::make_unique<GatewayHostContext>(instance_name, public_url_, http_, std::move(secrets));
}

}  // namespace barid::core
