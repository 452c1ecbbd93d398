#include "connection.hpp"

#include <cppconn/exception.h>
#include <cppconn/statement.h>
#include <mysql_connection.h>
#include <mysql_driver.h>

namespace barid::core::mysql {

bool is_connection_error(int code) noexcept {
  switch (code) {
    case 2002:  // can't connect through socket
    case 2003:  // can't connect to server
    case 2006:  // server has gone away
    case 2013:  // lost connection during query
    case 2055:  // lost connection at '%s'
    case 1243:  // unknown prepared statement handler (after a reconnect)
    case 1927:  // connection was killed
    case 1053:  // server shutdown in progress
    case 4031:  // disconnected by the server (inactivity)
      return true;
    default:
      return false;
  }
}

std::string loggable_server_message(std::string_view text) {
  const auto first = text.find('\'');
  if (first == std::string_view::npos) return std::string(text);
  const auto last = text.rfind('\'');
  std::string out(text.substr(0, first));
  out += "'…'";
  if (last > first) out += text.substr(last + 1);
  return out;
}

bool is_retryable_transaction_error(int code) noexcept {
  return code == 1213 /* deadlock */ || code == 1205 /* lock wait timeout */;
}

DbConnection::DbConnection(const MySqlOptions& options) : options_(options) {}

DbConnection::~DbConnection() { reset(); }

void DbConnection::reset() noexcept {
  try {
    statements_.clear();
    if (conn_) conn_->close();
  } catch (...) {
  }
  try {
    conn_.reset();
  } catch (...) {
  }
}

void DbConnection::ensure_connected() {
  if (conn_) return;
  sql::mysql::MySQL_Driver* driver = sql::mysql::get_mysql_driver_instance();
  sql::ConnectOptionsMap opts;
  if (!options_.socket.empty())
    opts["hostName"] = sql::SQLString("unix://" + options_.socket);
  else
    opts["hostName"] = sql::SQLString("tcp://" + options_.host + ":" + std::to_string(options_.port));
  opts["userName"] = sql::SQLString(options_.user);
  opts["password"] = sql::SQLString(options_.password);
  opts["schema"] = sql::SQLString(options_.database);
  opts["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
  opts["OPT_RECONNECT"] = false;  // reconnects are ours: statements must be prepared again
  opts["OPT_CONNECT_TIMEOUT"] = static_cast<int>(options_.connect_timeout.count());
  opts["OPT_READ_TIMEOUT"] = static_cast<int>(options_.io_timeout.count());
  opts["OPT_WRITE_TIMEOUT"] = static_cast<int>(options_.io_timeout.count());
  conn_.reset(driver->connect(opts));
  // UTC on the wire; READ COMMITTED keeps locking reads (the claim's FOR
  // UPDATE SKIP LOCKED) from taking gap locks that would block inserts.
  execute("SET time_zone = '+00:00'");
  execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
  execute("SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci");
}

sql::PreparedStatement& DbConnection::prepare(const std::string& text) {
  ensure_connected();
  auto it = statements_.find(text);
  if (it != statements_.end()) return *it->second;
  std::unique_ptr<sql::PreparedStatement> ps(conn_->prepareStatement(text));
  auto& ref = *ps;
  statements_.emplace(text, std::move(ps));
  return ref;
}

void DbConnection::execute(const std::string& text) {
  ensure_connected();
  std::unique_ptr<sql::Statement> st(conn_->createStatement());
  st->execute(text);
}

std::uint64_t DbConnection::update(const std::string& text) {
  ensure_connected();
  std::unique_ptr<sql::Statement> st(conn_->createStatement());
  return static_cast<std::uint64_t>(st->executeUpdate(text));
}

std::unique_ptr<sql::ResultSet> DbConnection::query(const std::string& text) {
  ensure_connected();
  std::unique_ptr<sql::Statement> st(conn_->createStatement());
  return std::unique_ptr<sql::ResultSet>(st->executeQuery(text));
}

std::string DbConnection::quote(std::string_view text) {
  ensure_connected();
  auto* native = dynamic_cast<sql::mysql::MySQL_Connection*>(conn_.get());
  std::string out = "'";
  out += native->escapeString(sql::SQLString(std::string(text))).asStdString();
  out += "'";
  return out;
}

void DbConnection::begin() { execute("START TRANSACTION"); }
void DbConnection::commit() { execute("COMMIT"); }
void DbConnection::rollback() noexcept {
  try {
    if (conn_) execute("ROLLBACK");
  } catch (...) {
    reset();
  }
}

ConnectionPool::ConnectionPool(MySqlOptions options, int size) : options_(std::move(options)) {
  for (int i = 0; i < size; ++i) idle_.push_back(std::make_unique<DbConnection>(options_));
}

ConnectionPool::~ConnectionPool() = default;

ConnectionPool::Lease ConnectionPool::acquire() {
  std::unique_lock lock(mutex_);
  if (!cv_.wait_for(lock, options_.acquire_timeout, [&] { return !idle_.empty(); })) return Lease(*this, nullptr);
  auto c = std::move(idle_.back());
  idle_.pop_back();
  return Lease(*this, std::move(c));
}

void ConnectionPool::give_back(std::unique_ptr<DbConnection> c) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(c));
  }
  cv_.notify_one();
}

}  // namespace barid::core::mysql
