#pragma once

#include <barid/core/content_cipher.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace barid::core {

// How the connections to MySQL use TLS (storage.tls.mode).
enum class MySqlTlsMode {
  disabled,         // never: plain connections
  preferred,        // when the server offers it, else plain; the certificate is not checked
  required,         // always: a server without TLS is refused; the certificate is not checked
  verify_identity,  // always, and the server's certificate must chain to `ca` and name the host
};

inline constexpr std::string_view to_string(MySqlTlsMode mode) noexcept {
  switch (mode) {
    case MySqlTlsMode::disabled: return "disabled";
    case MySqlTlsMode::preferred: return "preferred";
    case MySqlTlsMode::required: return "required";
    case MySqlTlsMode::verify_identity: return "verify_identity";
  }
  return "disabled";
}

inline std::optional<MySqlTlsMode> mysql_tls_mode_from_string(std::string_view text) noexcept {
  for (auto m : {MySqlTlsMode::disabled, MySqlTlsMode::preferred, MySqlTlsMode::required,
                 MySqlTlsMode::verify_identity})
    if (text == to_string(m)) return m;
  return std::nullopt;
}

struct MySqlTlsOptions {
  // preferred: what the mysql client does by default; it changes nothing for
  // a server without TLS (scripts/db's), and encrypts with one that has it.
  MySqlTlsMode mode = MySqlTlsMode::preferred;
  std::string ca;    // PEM file of the CA the server's certificate must chain to
  std::string cert;  // PEM client certificate, with key, for servers that ask for one (REQUIRE X509)
  std::string key;   // its private key
};

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
  // With numbers sealed: whether rows may still hold numbers in clear, so
  // that lookups must match both forms. Found by migrate() at start; false
  // once rotate-key has converted them all (the doubled lookups cost).
  std::shared_ptr<std::atomic<bool>> numbers_in_clear = std::make_shared<std::atomic<bool>>(true);
  MySqlTlsOptions tls;
};

}  // namespace barid::core
