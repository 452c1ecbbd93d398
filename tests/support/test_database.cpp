#include "test_database.hpp"

#include <barid/core/ids.hpp>

#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_connection.h>
#include <mysql_driver.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace barid::testing {

namespace {
std::string env(const char* name, const char* fallback = nullptr) {
  const char* v = std::getenv(name);
  if (v && *v) return v;
  if (fallback) return fallback;
  throw std::runtime_error(std::string(name) +
                           " is not set: run the suite with scripts/test, which starts a private MariaDB");
}

std::unique_ptr<sql::Connection> connect(const core::MySqlOptions& o, const std::string& schema) {
  sql::ConnectOptionsMap opts;
  opts["hostName"] = sql::SQLString("tcp://" + o.host + ":" + std::to_string(o.port));
  opts["userName"] = sql::SQLString(o.user);
  opts["password"] = sql::SQLString(o.password);
  if (!schema.empty()) opts["schema"] = sql::SQLString(schema);
  opts["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
  return std::unique_ptr<sql::Connection>(sql::mysql::get_mysql_driver_instance()->connect(opts));
}
}  // namespace

core::MySqlOptions database_from_environment() {
  core::MySqlOptions o;
  o.host = env("BARID_DB_HOST", "127.0.0.1");
  o.port = std::stoi(env("BARID_DB_PORT"));
  o.user = env("BARID_DB_USER", "barid");
  o.password = env("BARID_DB_PASSWORD");
  o.pool_size = 4;
  return o;
}

TestDatabase::TestDatabase() : options_(database_from_environment()) {
  options_.database = "barid_test_" + core::random_hex(6);
  auto c = connect(options_, "");
  std::unique_ptr<sql::Statement> st(c->createStatement());
  st->execute("CREATE DATABASE `" + options_.database + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
}

TestDatabase::~TestDatabase() {
  try {
    auto c = connect(options_, "");
    std::unique_ptr<sql::Statement> st(c->createStatement());
    st->execute("DROP DATABASE IF EXISTS `" + options_.database + "`");
  } catch (...) {
  }
}

void TestDatabase::execute(const std::string& sql) const {
  auto c = connect(options_, options_.database);
  std::unique_ptr<sql::Statement> st(c->createStatement());
  st->execute(sql);
}

std::string TestDatabase::scalar(const std::string& sql) const {
  auto c = connect(options_, options_.database);
  std::unique_ptr<sql::Statement> st(c->createStatement());
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery(sql));
  if (!rs->next() || rs->isNull(1)) return {};
  return rs->getString(1).asStdString();
}

}  // namespace barid::testing
