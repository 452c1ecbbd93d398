#pragma once
// What every handler uses: the reply (JSON, problem+json, keep-alive, the
// drain counter), request headers, the actor of an audit event, and a
// strict reader for JSON request bodies (unknown members are refused and
// every error names its field: "template.code", "recipients[3].to").

#include "client_address.hpp"
#include "representations.hpp"
#include "request_readers.hpp"

#include <barid/core/message.hpp>
#include <barid/core/result.hpp>

#include <pistache/http.h>
#include <pistache/router.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace barid::gateway {

// The value of a request header whether Pistache parsed it into a typed
// header or kept it raw; empty when absent.
std::string header_value(const Pistache::Http::Header::Collection& headers, const std::string& name);

// `who` with the client's address (see TrustedProxies) and user agent.
core::Actor actor_of(const Pistache::Rest::Request& request, const TrustedProxies& proxies, const std::string& who);

// A response that may be sent from any thread (Pistache queues the write for
// the connection's reactor). It counts as outstanding until written, so that
// a drain does not cut it; one that is never sent answers 500.
class Reply {
 public:
  Reply(Pistache::Http::ResponseWriter response, bool close, std::atomic<int>& outstanding);
  Reply(Reply&& o) noexcept;
  Reply(const Reply&) = delete;
  ~Reply();

  // The id every answer carries in X-Request-Id and every problem body in
  // `request_id`; the log names a failure's detail under the same id.
  void set_request_id(std::string id) { request_id_ = std::move(id); }
  const std::string& request_id() const { return request_id_; }

  void send_json(int status, const nlohmann::json& body);
  void send_problem(const Problem& p);
  void send(int status, const std::string& body, const std::string& content_type);
  void header(const std::string& name, const std::string& value);

 private:
  Pistache::Http::ResponseWriter response_;
  bool close_ = false;
  bool sent_ = false;
  std::atomic<int>* outstanding_;
  std::string request_id_;
};

bool wants_close(const Pistache::Rest::Request& request);

// RFC 3986 percent-decoding of one query component: "%2B966" -> "+966",
// "%D9%85" -> "م". A '+' stays a '+' (it is not form encoding: E.164 numbers
// and time offsets carry one). Nullopt for a '%' not followed by two hex
// digits.
std::optional<std::string> percent_decode(std::string_view text);

// Replaces the query parameters of `request` (a copy the caller owns) with
// their percent-decoded names and values. On a malformed escape it leaves
// them as they were and returns the offending parameter's name.
std::optional<std::string> decode_query(Pistache::Rest::Request& request);

// An incoming X-Request-Id worth keeping: 1 to 64 characters of
// [A-Za-z0-9._:-]; anything else is replaced by a new id.
bool acceptable_request_id(std::string_view id);


}  // namespace barid::gateway
