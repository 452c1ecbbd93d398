#pragma once
// The gateway's HTTP client, lent to plugins through HostContext: libcurl
// easy handles kept in a pool so that connections (and TLS sessions) are
// reused across requests, connect and total timeouts, TLS verification on
// unless a CA bundle says otherwise, and counters for /metrics.
//
// Besides perform(), which blocks its caller, start() runs a request on the
// client's own thread with libcurl's multi interface, and calls back when
// it ends: a request under way costs a socket, not a thread, so that many
// can be under way (the webhook sender's) without a thread each waiting.

#include <barid/sdk/http.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace barid::core {

// What perform() answers, in HttpResponse::error_message, for a response
// past max_response_bytes (fail_large_responses) and for a connection to a
// refused address (refuse_internal_addresses).
inline constexpr const char* kResponseTooLarge = "response-too-large";
inline constexpr const char* kAddressNotAllowed = "address-not-allowed";

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{15000};
  std::string ca_file;  // empty: the system's CA store
  std::string user_agent = "barid-gateway";
  // A response (its headers and its body, each) is read at most this far,
  // then the connection is closed; 0: no limit.
  std::size_t max_response_bytes = 1024 * 1024;
  // Past max_response_bytes: true, the request fails (TransportError::other,
  // error_message kResponseTooLarge); false, the response keeps its status
  // and headers, with the body cut at the limit.
  bool fail_large_responses = true;
  // When set, a connection is opened only to a public address
  // (net_address.hpp), checked as the socket is opened (so the address
  // connected to is the one checked, whatever DNS answers next), unless
  // `may_reach_any_address` says yes for the request's URL. A refused
  // connection fails the request: TransportError::connect, error_message
  // kAddressNotAllowed. Redirects are never followed and no proxy is used.
  bool refuse_internal_addresses = false;
  std::function<bool(const std::string& url)> may_reach_any_address;
};

struct HttpClientStats {
  std::uint64_t requests = 0;
  std::uint64_t transport_errors = 0;
  std::uint64_t http_errors = 0;  // status >= 400
  std::uint64_t total_latency_us = 0;
};

class CurlHttpClient final : public sdk::HttpClient {
 public:
  explicit CurlHttpClient(HttpClientOptions options = {});
  ~CurlHttpClient() override;

  sdk::HttpResponse perform(const sdk::HttpRequest& request) noexcept override;
  // Starts `request` and returns at once; `done` is called with its
  // response on the client's thread, so it must not block. A client
  // destroyed with requests under way ends them (TransportError::other).
  using Done = std::function<void(sdk::HttpResponse)>;
  void start(sdk::HttpRequest request, Done done);
  HttpClientStats stats() const noexcept;

  // Call once before any thread uses libcurl.
  static void global_init();

 private:
  struct Transfer;
  struct Multi;
  void* acquire();
  void release(void* handle);
  // Sets `handle` up for the transfer; and reads its outcome into t's response.
  void prepare(void* handle, Transfer& t);
  void conclude(void* handle, int curl_code, Transfer& t);
  void run_multi();

  HttpClientOptions options_;
  std::mutex mutex_;
  std::vector<void*> idle_;  // CURL* handles, each with its own connection cache
  std::unique_ptr<Multi> multi_;  // start()'s thread, made by the first start()
  std::atomic<std::uint64_t> requests_{0}, transport_errors_{0}, http_errors_{0}, latency_us_{0};
};

}  // namespace barid::core
