#pragma once
// The HTTP client a plugin uses to talk to its provider. The gateway supplies
// it through HostContext (libcurl underneath: connection reuse, timeouts, TLS
// verification, per-instance metrics), so plugins do not link an HTTP library
// and tests can swap it.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace barid::sdk {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// First value of a header, case-insensitively; empty when absent.
inline std::string find_header(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

struct BasicAuth {
  std::string user;
  std::string password;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HttpHeaders headers;
  std::string body;
  std::optional<BasicAuth> basic_auth;
  // Overrides the instance's configured total timeout for this request.
  std::optional<std::chrono::milliseconds> timeout;
};

enum class TransportError : std::uint8_t {
  none,     // a response arrived (any HTTP status)
  timeout,  // connect or total timeout
  connect,  // DNS failure, connection refused or reset
  tls,      // certificate or handshake failure
  other,
};

struct HttpResponse {
  int status = 0;  // 0 when no response arrived
  HttpHeaders headers;
  std::string body;
  TransportError error = TransportError::none;
  std::string error_message;  // set when error != none
  std::chrono::milliseconds elapsed{0};

  bool transport_failed() const noexcept { return error != TransportError::none; }
  std::string header(std::string_view name) const { return find_header(headers, name); }
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Never throws; transport failures come back in HttpResponse::error.
  virtual HttpResponse perform(const HttpRequest& request) noexcept = 0;
};

}  // namespace barid::sdk
