#pragma once
// A MariaDB server of one test's own (scripts/db in a temporary folder), for
// tests that stop and restart the database under a running gateway.

#include <barid/core/mysql_options.hpp>

#include <string>

namespace barid::testing {

class PrivateMariaDb {
 public:
  PrivateMariaDb();  // starts it (database "barid", user "barid")
  ~PrivateMariaDb();  // stops it and removes its folder
  PrivateMariaDb(const PrivateMariaDb&) = delete;
  PrivateMariaDb& operator=(const PrivateMariaDb&) = delete;

  const core::MySqlOptions& options() const { return options_; }
  void stop();
  void start();  // again, on the same port and data
  std::string scalar(const std::string& sql) const;

 private:
  std::string script(const std::string& command) const;
  std::string dir_;
  int port_ = 0;
  core::MySqlOptions options_;
};

}  // namespace barid::testing
