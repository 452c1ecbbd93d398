#pragma once
// A fresh, empty MariaDB database for one test, on the server that
// scripts/test started (BARID_DB_* in the environment); dropped afterwards.

#include <barid/core/mysql_options.hpp>

#include <string>

namespace barid::testing {

// The connection settings from BARID_DB_HOST / _PORT / _USER / _PASSWORD
// (and _SOCKET); fails the calling test when they are missing.
core::MySqlOptions database_from_environment();

class TestDatabase {
 public:
  TestDatabase();  // creates barid_test_<random> (utf8mb4)
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const core::MySqlOptions& options() const { return options_; }
  const std::string& name() const { return options_.database; }

  // Runs one statement in this database (test set-up and inspection).
  void execute(const std::string& sql) const;
  // The first column of the first row, as text ("" when there is none).
  std::string scalar(const std::string& sql) const;

 private:
  core::MySqlOptions options_;
};

}  // namespace barid::testing
