#pragma once
// A bare HTTP/1.1 server on 127.0.0.1 (any free port) for tests of how much
// of a response the gateway reads: it answers every request with `status`
// and then a body of `body_bytes` (with Content-Length), or, when
// body_bytes is 0, a body without end (no length: it ends when the client
// closes the connection, or after `cap_bytes` or `cap_time`, so that a test
// that fails stops by itself).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace barid::testing {

class StreamingServer {
 public:
  struct Options {
    int status = 200;
    std::size_t body_bytes = 0;                           // 0: without end
    std::size_t cap_bytes = std::size_t{256} << 20;       // per connection
    std::chrono::milliseconds cap_time{30000};            // per connection
  };
  explicit StreamingServer(Options options);
  ~StreamingServer();
  StreamingServer(const StreamingServer&) = delete;
  StreamingServer& operator=(const StreamingServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::size_t connections() const noexcept { return connections_.load(); }
  std::size_t requests() const noexcept { return requests_.load(); }
  // The requests' webhook-id headers, in order of arrival.
  std::vector<std::string> webhook_ids() const;
  // Bytes of body written to clients, all connections together.
  std::size_t bytes_sent() const noexcept { return sent_.load(); }

 private:
  void accept_loop();
  void serve(int fd);

  Options options_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> connections_{0}, requests_{0}, sent_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> ids_;
  std::vector<std::thread> threads_;  // under mutex_
  std::thread acceptor_;
};

}  // namespace barid::testing
