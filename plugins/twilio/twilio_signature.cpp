#include "twilio/twilio_signature.hpp"

#include "support/url_parts.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace barid::plugins::twilio {

std::string signature_payload(std::string_view url, const sdk::FormFields& params) {
  std::map<std::string, std::set<std::string>> sorted;  // std::string compares bytes
  for (const auto& [name, value] : params) sorted[name].insert(value);
  std::string out(url);
  for (const auto& [name, values] : sorted)
    for (const auto& value : values) {
      out += name;
      out += value;
    }
  return out;
}

std::string compute_signature(const sdk::Crypto& crypto, std::string_view auth_token, std::string_view url,
                              const sdk::FormFields& params) {
  return sdk::base64_encode(crypto.hmac_sha1(auth_token, signature_payload(url, params)));
}

std::vector<std::string> url_variants(std::string_view url) {
  std::vector<std::string> out{std::string(url)};
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return out;
  const std::string_view scheme = url.substr(0, scheme_end);
  const std::size_t host_start = scheme_end + 3;
  std::size_t authority_end = url.find_first_of("/?#", host_start);
  if (authority_end == std::string_view::npos) authority_end = url.size();
  const std::string_view authority = url.substr(host_start, authority_end - host_start);
  // The port follows the last ':' unless that colon is inside an IPv6 literal.
  const auto colon = authority.rfind(':');
  const bool has_port = colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos;
  const std::string_view host = has_port ? authority.substr(0, colon) : authority;
  const std::string prefix = std::string(url.substr(0, host_start)) + std::string(host);
  const std::string rest(url.substr(authority_end));

  auto add = [&](std::string v) {
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(std::move(v));
  };
  if (has_port) {
    add(prefix + rest);
  } else if (scheme == "https") {
    add(prefix + ":443" + rest);
  } else if (scheme == "http") {
    add(prefix + ":80" + rest);
  }
  return out;
}

SignatureCheck verify_signature(const sdk::Crypto& crypto, std::string_view auth_token,
                                const sdk::CallbackRequest& request) {
  const std::string given = request.header("X-Twilio-Signature");
  if (given.empty()) return SignatureCheck::missing;

  sdk::FormFields params;
  const std::string body_hash = sdk::form_value(support::query_params(request.url), "bodySHA256");
  if (!body_hash.empty()) {
    const std::string actual = sdk::hex_encode(crypto.sha256(request.body));
    std::string expected = body_hash;
    for (auto& c : expected) c = static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    bool url_ok = false;
    for (const auto& url : url_variants(request.url))
      url_ok = sdk::constant_time_equals(given, compute_signature(crypto, auth_token, url, {})) || url_ok;
    if (!url_ok) return SignatureCheck::mismatch;
    return sdk::constant_time_equals(actual, expected) ? SignatureCheck::valid : SignatureCheck::body_hash_mismatch;
  }
  if (request.method != "GET") params = sdk::form_decode(request.body);
  bool ok = false;
  for (const auto& url : url_variants(request.url))
    ok = sdk::constant_time_equals(given, compute_signature(crypto, auth_token, url, params)) || ok;
  return ok ? SignatureCheck::valid : SignatureCheck::mismatch;
}

std::string_view to_string(SignatureCheck c) noexcept {
  switch (c) {
    case SignatureCheck::valid: return "valid";
    case SignatureCheck::missing: return "the X-Twilio-Signature header is missing";
    case SignatureCheck::mismatch: return "X-Twilio-Signature does not match the request";
    case SignatureCheck::body_hash_mismatch: return "the body does not match bodySHA256";
  }
  return "unknown";
}

}  // namespace barid::plugins::twilio
