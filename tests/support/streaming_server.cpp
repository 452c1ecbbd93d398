#include "streaming_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace barid::testing {

StreamingServer::StreamingServer(Options options) : options_(options) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) throw std::runtime_error("socket failed");
  int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listener_, 128) != 0)
    throw std::runtime_error("bind or listen failed");
  socklen_t len = sizeof a;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

StreamingServer::~StreamingServer() {
  stopping_ = true;
  ::shutdown(listener_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listener_);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

std::vector<std::string> StreamingServer::webhook_ids() const {
  std::lock_guard lock(mutex_);
  return ids_;
}

void StreamingServer::accept_loop() {
  while (!stopping_) {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++connections_;
    std::lock_guard lock(mutex_);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

void StreamingServer::serve(int fd) {
  const auto deadline = std::chrono::steady_clock::now() + options_.cap_time;
  auto remaining_ms = [&] {
    return static_cast<int>(std::max<long long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count()));
  };
  // One request per connection: its head, then Content-Length bytes.
  std::string in;
  char buf[16384];
  std::size_t head_end = std::string::npos;
  while ((head_end = in.find("\r\n\r\n")) == std::string::npos && !stopping_) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, std::min(remaining_ms(), 100)) <= 0) {
      if (remaining_ms() == 0) break;
      continue;
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
  }
  if (head_end == std::string::npos) {
    ::close(fd);
    return;
  }
  std::string head = in.substr(0, head_end);
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  auto header = [&](const std::string& name) -> std::string {
    const auto at = lower.find("\r\n" + name + ":");
    if (at == std::string::npos) return {};
    auto start = at + name.size() + 3;
    const auto end = head.find("\r\n", start);
    while (start < end && head[start] == ' ') ++start;
    return head.substr(start, end - start);
  };
  const std::string length = header("content-length");
  const std::size_t want = length.empty() ? 0 : std::stoul(length);
  std::size_t have = in.size() - head_end - 4;
  while (have < want && !stopping_ && remaining_ms() > 0) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    have += static_cast<std::size_t>(n);
  }
  ++requests_;
  {
    std::lock_guard lock(mutex_);
    ids_.push_back(header("webhook-id"));
  }
  std::string answer = "HTTP/1.1 " + std::to_string(options_.status) + " Whatever\r\nContent-Type: text/plain\r\n";
  if (options_.body_bytes) answer += "Content-Length: " + std::to_string(options_.body_bytes) + "\r\n";
  answer += "Connection: close\r\n\r\n";
  ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
  const std::string chunk(16384, 'x');
  const std::size_t total = options_.body_bytes ? options_.body_bytes : options_.cap_bytes;
  std::size_t sent = 0;
  while (sent < total && !stopping_ && remaining_ms() > 0) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    if (p.revents & (POLLERR | POLLHUP)) break;
    const ssize_t n = ::send(fd, chunk.data(), std::min(chunk.size(), total - sent), MSG_NOSIGNAL);
    if (n <= 0) break;  // the client closed
    sent += static_cast<std::size_t>(n);
    sent_ += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

}  // namespace barid::testing
