#include <barid/core/webhooks.hpp>

#include <barid/core/base64.hpp>
#include <barid/core/net_address.hpp>

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

namespace {

struct UrlParts {
  std::string problem;  // empty when the URL could be read
  bool https = false;
  std::string host;  // lower-case; an IPv6 address in brackets
  long port = 0;
};

UrlParts read_url(std::string_view url) {
  UrlParts p;
  auto fail = [&p](const char* why) {
    p.problem = why;
    return p;
  };
  if (url.size() > 2048) return fail("at most 2048 characters");
  for (char ch : url)
    if (static_cast<unsigned char>(ch) <= 0x20 || static_cast<unsigned char>(ch) >= 0x7F)
      return fail("a URL has no spaces, control or non-ASCII characters (percent-encode them)");
  p.https = url.rfind("https://", 0) == 0;
  const bool http = url.rfind("http://", 0) == 0;
  if (!p.https && !http) return fail("an https:// URL");
  std::string_view rest = url.substr(p.https ? 8 : 7);
  const auto end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (authority.find('@') != std::string_view::npos) return fail("a URL without user information");
  std::string host(authority);
  std::string port;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string::npos) return fail("the host is not valid");
    const std::string after = host.substr(close + 1);
    if (!after.empty() && after.front() != ':') return fail("the host is not valid");
    if (!after.empty()) port = after.substr(1);
    host = host.substr(0, close + 1);
    if (port.empty() && !after.empty()) return fail("the port is not valid");
  } else if (const auto colon = host.rfind(':'); colon != std::string::npos) {
    port = host.substr(colon + 1);
    if (port.empty()) return fail("the port is not valid");
    host = host.substr(0, colon);
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit)) return fail("the port is not valid");
    p.port = std::stol(port);
    if (p.port < 1 || p.port > 65535) return fail("the port is not valid");
  } else {
    p.port = p.https ? 443 : 80;
  }
  if (host.empty()) return fail("the URL has no host");
  std::transform(host.begin(), host.end(), host.begin(), ::tolower);
  p.host = std::move(host);
  return p;
}

bool listed(const UrlParts& p, const WebhookHostRules& rules) {
  const std::string host_port = p.host + ":" + std::to_string(p.port);
  return std::find(rules.allow_hosts.begin(), rules.allow_hosts.end(), host_port) != rules.allow_hosts.end() ||
         std::find(rules.any_port_hosts.begin(), rules.any_port_hosts.end(), p.host) != rules.any_port_hosts.end();
}

}  // namespace

bool webhook_host_listed(std::string_view url, const WebhookHostRules& rules) {
  const UrlParts p = read_url(url);
  return p.problem.empty() && listed(p, rules);
}

bool webhook_address_refused(std::string_view url, const WebhookHostRules& rules) {
  const UrlParts p = read_url(url);
  if (!p.problem.empty() || listed(p, rules)) return false;
  const auto kind = refused_literal_kind(p.host);
  return kind && !kind->empty();
}

std::string webhook_url_problem(std::string_view url, const WebhookHostRules& rules) {
  const UrlParts p = read_url(url);
  if (!p.problem.empty()) return p.problem;
  if (listed(p, rules)) return {};
  if (!p.https) return "an https:// URL (http only to a host:port listed in webhooks.allow_hosts)";
  if (const auto kind = refused_literal_kind(p.host); kind && !kind->empty())
    return "not an address events may go to (" + *kind + "); webhooks.allow_hosts lists the exceptions";
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
