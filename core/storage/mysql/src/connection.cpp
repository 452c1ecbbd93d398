#include "connection.hpp"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/resultset.h>
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

bool is_duplicate_key(int code) noexcept { return code == 1062; }

DbConnection::DbConnection(const MySqlOptions& options) : options_(options) {}

DbConnection::~DbConnection() { reset(); }

void DbConnection::reset() noexcept {
  tls_.clear();
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

namespace {

// CR_SSL_CONNECTION_ERROR: the client library's code for every TLS failure
// (no TLS at a server that must have it, a certificate refused). Not a
// connection error: trying again changes nothing, so sql_helpers::run fails
// at once and the message reaches the operator.
constexpr int kTlsError = 2026;

// storage.tls as Connector/C++ 1.1 options. Debian's build of it links
// MariaDB Connector/C (libmariadb), and there only some of them do anything:
//  - OPT_SSL_MODE is ignored (that build has no MYSQL_OPT_SSL_MODE); it is
//    passed for a build against MySQL's own client library, where it is set
//    last and decides alone.
//  - sslEnforce turns TLS on, but only "preferred": with a server that
//    offers none, libmariadb goes on in plain text. So `required` is
//    enforced after connecting (check_tls below).
//  - sslVerify (MYSQL_OPT_SSL_VERIFY_SERVER_CERT) makes TLS mandatory before
//    anything is sent and checks that the certificate names the host;
//    sslCA makes it chain to that CA. Both make verify_identity.
//  - any of sslCA, sslCert, sslKey turns TLS on as sslEnforce does, so
//    `disabled` passes none of them (the configuration refuses them).
// Checked against the installed library by tests/integration/mysql_tls_test.cpp.
void add_tls_options(sql::ConnectOptionsMap& opts, const MySqlTlsOptions& tls) {
  switch (tls.mode) {
    case MySqlTlsMode::disabled:
      opts["OPT_SSL_MODE"] = static_cast<int>(sql::SSL_MODE_DISABLED);
      opts["sslEnforce"] = false;
      return;
    case MySqlTlsMode::preferred:
      opts["OPT_SSL_MODE"] = static_cast<int>(sql::SSL_MODE_PREFERRED);
      break;
    case MySqlTlsMode::required:
      opts["OPT_SSL_MODE"] = static_cast<int>(sql::SSL_MODE_REQUIRED);
      break;
    case MySqlTlsMode::verify_identity:
      opts["OPT_SSL_MODE"] = static_cast<int>(sql::SSL_MODE_VERIFY_IDENTITY);
      opts["sslVerify"] = true;
      break;
  }
  opts["sslEnforce"] = true;
  if (!tls.ca.empty()) opts["sslCA"] = sql::SQLString(tls.ca);
  if (!tls.cert.empty()) opts["sslCert"] = sql::SQLString(tls.cert);
  if (!tls.key.empty()) opts["sslKey"] = sql::SQLString(tls.key);
}

std::string server_name(const MySqlOptions& o) {
  return o.socket.empty() ? o.host + ":" + std::to_string(o.port) : o.socket;
}

}  // namespace

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
  add_tls_options(opts, options_.tls);
  try {
    conn_.reset(driver->connect(opts));
  } catch (const sql::SQLException& e) {
    if (e.getErrorCode() != kTlsError || options_.tls.mode == MySqlTlsMode::disabled) throw;
    // The library's words alone ("self-signed certificate in certificate
    // chain", "Validation of SSL server certificate failed") do not say
    // which setting they are about. No quote (') in this text: the store's
    // log drops everything between quotes (loggable_server_message).
    const MySqlTlsOptions& tls = options_.tls;
    std::string what = "TLS with the database at " + server_name(options_) + " failed: " + e.what() +
                       " (storage.tls.mode " + std::string(to_string(tls.mode));
    if (tls.mode == MySqlTlsMode::verify_identity)
      what += ": the certificate of the server must chain to " +
              (tls.ca.empty() ? std::string("a CA the system trusts") : "the CA in " + tls.ca) + " and name " +
              (options_.socket.empty() ? options_.host : "localhost");
    else if (!tls.ca.empty())
      what += ": the certificate of the server must chain to the CA in " + tls.ca;
    if (!tls.cert.empty()) what += "; client certificate " + tls.cert + " with key " + tls.key;
    throw sql::SQLException(what + ")", e.getSQLState(), e.getErrorCode());
  }
  // A connection half set up (not checked, no time zone) must not be
  // returned by the next call: it would skip all of this.
  try {
    check_tls();
    // UTC on the wire; READ COMMITTED keeps locking reads (the claim's FOR
    // UPDATE SKIP LOCKED) from taking gap locks that would block inserts.
    execute("SET time_zone = '+00:00'");
    execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    execute("SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci");
  } catch (...) {
    reset();
    throw;
  }
}

void DbConnection::check_tls() {
  tls_.clear();
  if (options_.tls.mode == MySqlTlsMode::disabled) return;
  std::string version, cipher;
  {
    std::unique_ptr<sql::Statement> st(conn_->createStatement());
    std::unique_ptr<sql::ResultSet> rs(
        st->executeQuery("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')"));
    while (rs->next())
      (rs->getString(1).asStdString() == "Ssl_version" ? version : cipher) = rs->getString(2).asStdString();
  }
  if (!cipher.empty()) {
    tls_ = version + ", " + cipher;
    return;
  }
  if (options_.tls.mode == MySqlTlsMode::preferred) return;
  // Authentication has happened in plain text (with mysql_native_password
  // a challenge and its answer, never the password itself); the caller
  // closes the connection before any query with data. verify_identity
  // refuses before authenticating.
  throw sql::SQLException("the database at " + server_name(options_) +
                              " does not encrypt the connection, and storage.tls.mode " +
                              std::string(to_string(options_.tls.mode)) +
                              " requires TLS: the server offered none (give it ssl_cert and ssl_key)",
                          "HY000", kTlsError);
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
