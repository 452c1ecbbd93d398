#pragma once
// X-Twilio-Signature: how Twilio proves that a webhook request came from it.
//
//   signed = the full URL Twilio requested (query string included), then for a
//            form-encoded POST every parameter sorted by name (byte order),
//            appended as name + value with no separators (decoded values;
//            repeated names: each distinct value, sorted)
//   header = base64(HMAC-SHA1(auth token, signed))
//
// A URL that carries bodySHA256=<hex> in its query string signs a JSON body:
// only the URL is signed and the body's SHA-256 must equal bodySHA256.
// Twilio's SDKs accept the signature over the URL with and without the
// default port; so does verify_signature.

#include <barid/sdk/encoding.hpp>
#include <barid/sdk/plugin.hpp>
#include <barid/sdk/provider.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace barid::plugins::twilio {

// The string that is signed.
std::string signature_payload(std::string_view url, const sdk::FormFields& params);

std::string compute_signature(const sdk::Crypto& crypto, std::string_view auth_token, std::string_view url,
                              const sdk::FormFields& params);

// The URL as given, without its port, and with the scheme's default port
// when it had none (duplicates removed, the given form first).
std::vector<std::string> url_variants(std::string_view url);

enum class SignatureCheck {
  valid,
  missing,             // no X-Twilio-Signature header
  mismatch,            // the header does not match any URL variant
  body_hash_mismatch,  // bodySHA256 in the URL does not match the body
};

// Checks the X-Twilio-Signature header of a webhook request (constant-time
// comparison): over the URL plus the form parameters of a POST body, or over
// the URL alone for a GET or a bodySHA256 request.
SignatureCheck verify_signature(const sdk::Crypto& crypto, std::string_view auth_token,
                                const sdk::CallbackRequest& request);

std::string_view to_string(SignatureCheck c) noexcept;

}  // namespace barid::plugins::twilio
