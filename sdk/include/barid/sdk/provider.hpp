#pragma once
// The provider interface: what one provider instance (one account at one
// provider) does for the gateway. Every method is noexcept: a plugin turns its
// own failures into results (see guard() below); the process terminates if an
// exception escapes one of these methods.

#include <barid/sdk/http.hpp>
#include <barid/sdk/types.hpp>

#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace barid::sdk {

// A webhook request as it reached the gateway at
// POST /webhooks/{instance}/{kind}.
struct CallbackRequest {
  std::string kind;    // the {kind} path segment, e.g. "status" or "inbound"
  std::string method;  // "POST", "GET"
  // The public URL the provider was given, including the query string: the
  // gateway's configured public base URL, not what the socket saw, so that
  // signatures over the URL verify behind a proxy.
  std::string url;
  HttpHeaders headers;
  std::string body;  // raw bytes, exactly as received

  std::string header(std::string_view name) const { return find_header(headers, name); }
};

struct CallbackResult {
  enum class Verdict : std::uint8_t {
    accepted,       // authentic and understood: apply the updates
    forbidden,      // the signature (or other proof of origin) did not verify: 403
    bad_request,    // authentic but malformed, or a kind this plugin does not handle: 400
  };
  Verdict verdict = Verdict::bad_request;
  std::string reason;  // why it was not accepted (logged; never includes secrets)
  std::vector<StatusUpdate> status_updates;
  std::vector<InboundMessage> inbound_messages;
  // What to answer the provider on acceptance (most want an empty 200).
  int http_status = 200;
  std::string response_body;
  std::string response_content_type = "text/plain";

  static CallbackResult forbidden(std::string why) {
    CallbackResult r;
    r.verdict = Verdict::forbidden;
    r.reason = std::move(why);
    return r;
  }
  static CallbackResult malformed(std::string why) {
    CallbackResult r;
    r.verdict = Verdict::bad_request;
    r.reason = std::move(why);
    return r;
  }
  static CallbackResult accept() {
    CallbackResult r;
    r.verdict = Verdict::accepted;
    return r;
  }
};

class Provider {
 public:
  virtual ~Provider() = default;

  // Hands one message to the provider.
  virtual SendResult send(const OutboundMessage& message) noexcept = 0;

  // Asks the provider for the current status of a message it accepted
  // (Capability::status_polling).
  virtual StatusResult fetch_status(const std::string& provider_message_id) noexcept = 0;

  // Checks the authenticity of a webhook request and turns it into status
  // updates and inbound messages (Capability::status_webhooks,
  // Capability::inbound_messages).
  virtual CallbackResult parse_callback(const CallbackRequest& request) noexcept = 0;

  // A cheap call that proves the credentials and the provider work.
  virtual HealthReport check_health() noexcept = 0;
};

// Runs `body` and turns an escaping exception into `on_error(what)`, so that a
// noexcept method cannot terminate the gateway:
//   return guard([&] { return do_send(m); },
//                [](std::string w) { return SendResult::transient({"", w}); });
template <typename Body, typename OnError>
auto guard(Body&& body, OnError&& on_error) noexcept -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    return on_error(std::string("internal error: ") + e.what());
  } catch (...) {
    return on_error(std::string("internal error"));
  }
}

}  // namespace barid::sdk
