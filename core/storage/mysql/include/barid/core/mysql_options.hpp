#pragma once

#include <barid/core/content_cipher.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace barid::core {

struct MySqlOptions {
  std::string host = "127.0.0.1";
  int port = 3306;
  std::string socket;  // when set, used instead of host:port
  std::string user;
  std::string password;
  std::string database = "barid";
  int pool_size = 8;
  std::chrono::seconds connect_timeout{5};
  std::chrono::seconds io_timeout{30};
  // How long a request waits for a free pooled connection before it is
  // answered 503 (every connection busy: a slow query, a flood).
  std::chrono::milliseconds acquire_timeout{5000};
  // Set: bodies, template variables and inbound bodies are sealed with it
  // before they are written and opened when read (privacy.encryption).
  std::shared_ptr<const ContentCipher> cipher;
};

}  // namespace barid::core
