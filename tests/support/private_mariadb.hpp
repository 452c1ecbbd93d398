#pragma once
// A MariaDB server of one test's own (scripts/db in a temporary folder), for
// tests that stop and restart the database under a running gateway.

#include <barid/core/mysql_options.hpp>

#include <optional>
#include <string>

namespace barid::testing {

// The files a server serves TLS with (PEM): its CA, certificate and key.
struct ServerTls {
  std::string ca, cert, key;
};

class PrivateMariaDb {
 public:
  // Starts it (database "barid", user "barid"); with `tls`, serving TLS with
  // those files, else offering no TLS at all.
  explicit PrivateMariaDb(std::optional<ServerTls> tls = std::nullopt);
  ~PrivateMariaDb();  // stops it and removes its folder
  PrivateMariaDb(const PrivateMariaDb&) = delete;
  PrivateMariaDb& operator=(const PrivateMariaDb&) = delete;

  // How to reach it: 127.0.0.1, its port, user barid and its password.
  const core::MySqlOptions& options() const { return options_; }
  void stop();
  void start();  // again, on the same port and data (and TLS files)
  // Runs `sql` as root over the server's socket; its output (one value
  // alone for a scalar query).
  std::string scalar(const std::string& sql) const;

 private:
  std::string script(const std::string& command) const;
  std::string dir_;
  int port_ = 0;
  std::optional<ServerTls> tls_;
  core::MySqlOptions options_;
};

}  // namespace barid::testing
