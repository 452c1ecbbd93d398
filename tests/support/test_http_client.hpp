#pragma once
// The host's HTTP client as tests use it: their own timeouts and user agent,
// every other option at its default.

#include <barid/core/http_client.hpp>

#include <chrono>

namespace barid::testing {

inline core::HttpClientOptions client_options(std::chrono::milliseconds connect, std::chrono::milliseconds total,
                                              const char* user_agent) {
  core::HttpClientOptions o;
  o.connect_timeout = connect;
  o.total_timeout = total;
  o.user_agent = user_agent;
  return o;
}

}  // namespace barid::testing
