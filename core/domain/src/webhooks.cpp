#include <barid/core/webhooks.hpp>

#include <barid/core/base64.hpp>

#include <barid/sdk/encoding.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace barid::core {

bool is_webhook_event_type(std::string_view type) {
  return std::find(kWebhookEventTypes.begin(), kWebhookEventTypes.end(), type) != kWebhookEventTypes.end();
}

std::string webhook_event_for(MessageStatus status) {
  switch (status) {
    case MessageStatus::sent:
    case MessageStatus::delivered:
    case MessageStatus::read:
    case MessageStatus::failed:
    case MessageStatus::undelivered:
    case MessageStatus::expired:
    case MessageStatus::suppressed:
      return "message." + std::string(sdk::to_string(status));
    default:
      return {};
  }
}

bool webhook_event_carries_body(const WebhookEndpoint& endpoint, std::string_view type) {
  if (!endpoint.include_body) return false;
  return type == "inbound.received" || (type.rfind("message.", 0) == 0 && type != "message.replied");
}

std::string webhook_url_problem(std::string_view url, const std::vector<std::string>& allow_http_hosts) {
  if (url.size() > 2048) return "at most 2048 characters";
  for (char ch : url)
    if (static_cast<unsigned char>(ch) <= 0x20 || static_cast<unsigned char>(ch) >= 0x7F)
      return "a URL has no spaces, control or non-ASCII characters (percent-encode them)";
  const bool https = url.rfind("https://", 0) == 0;
  const bool http = url.rfind("http://", 0) == 0;
  if (!https && !http) return "an https:// URL";
  std::string_view rest = url.substr(https ? 8 : 7);
  const auto end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (authority.find('@') != std::string_view::npos) return "a URL without user information";
  std::string host(authority);
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string::npos) return "the host is not valid";
    host = host.substr(0, close + 1);
  } else if (const auto colon = host.rfind(':'); colon != std::string::npos) {
    const std::string port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit)) return "the port is not valid";
    host = host.substr(0, colon);
  }
  if (host.empty()) return "the URL has no host";
  std::transform(host.begin(), host.end(), host.begin(), ::tolower);
  if (http && std::find(allow_http_hosts.begin(), allow_http_hosts.end(), host) == allow_http_hosts.end())
    return "an https:// URL (http only to the hosts in webhooks.allow_http_hosts)";
  return {};
}

std::string new_webhook_secret() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) std::abort();  // no entropy: never guess
  return "whsec_" + sdk::base64_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
}

std::string sign_webhook(std::string_view secret, std::string_view id, std::int64_t timestamp, std::string_view body) {
  if (secret.rfind("whsec_", 0) != 0) return {};
  auto key = base64_decode(secret.substr(6));
  if (!key || key->empty()) return {};
  std::string content;
  content.reserve(id.size() + body.size() + 24);
  content.append(id).append(".").append(std::to_string(timestamp)).append(".").append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
            reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &len))
    return {};
  return "v1," + sdk::base64_encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

}  // namespace barid::core
