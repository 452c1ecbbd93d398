#pragma once
// A Connector/C++ connection with its prepared statements, and a fixed-size
// pool of them. After the server restarts, a connection is rebuilt and its
// statements prepared again (a reconnect invalidates every prepared
// statement: error 1243).

#include <barid/core/mysql_options.hpp>

#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sql {
class Connection;
}

namespace barid::core::mysql {

// Errors after which the connection is unusable and the operation may be
// tried again on a new one.
bool is_connection_error(int code) noexcept;
// Errors after which the transaction was rolled back and may be tried again.
bool is_retryable_transaction_error(int code) noexcept;
// A unique key refused the row (ER_DUP_ENTRY).
bool is_duplicate_key(int code) noexcept;

// A server error's text, fit for a log: the server quotes the offending
// value or SQL in '...' (a duplicate idempotency key, an invalid string in a
// body, the SQL near a syntax error), and a message body may hold health
// information, so everything from the first quote to the last is replaced.
std::string loggable_server_message(std::string_view text);

class DbConnection {
 public:
  explicit DbConnection(const MySqlOptions& options);
  ~DbConnection();

  // Connects if not connected (throws sql::SQLException). A connection that
  // storage.tls requires to be encrypted and is not is closed and refused
  // with error 2026, as the client library refuses a certificate.
  void ensure_connected();
  // Forgets the connection and its statements (after a connection error).
  void reset() noexcept;
  bool connected() const noexcept { return conn_ != nullptr; }
  // The cipher content is sealed with, or null (stored in clear).
  const ContentCipher* cipher() const noexcept { return options_.cipher.get(); }
  bool numbers_in_clear() const noexcept { return !options_.numbers_in_clear || options_.numbers_in_clear->load(); }
  // The TLS protocol and cipher of the connection ("TLSv1.3,
  // TLS_AES_256_GCM_SHA384"); empty when it is not encrypted, or not
  // connected, or storage.tls.mode is disabled.
  const std::string& tls() const noexcept { return tls_; }

  sql::PreparedStatement& prepare(const std::string& sql);
  void execute(const std::string& sql);
  std::unique_ptr<sql::ResultSet> query(const std::string& sql);
  // Rows changed by an UPDATE / INSERT run through execute().
  std::uint64_t update(const std::string& sql);

  // 'text' with quotes, escaped for this connection's character set.
  std::string quote(std::string_view text);

  void begin();
  void commit();
  void rollback() noexcept;

 private:
  void check_tls();

  const MySqlOptions& options_;
  std::unique_ptr<sql::Connection> conn_;
  std::string tls_;
  std::unordered_map<std::string, std::unique_ptr<sql::PreparedStatement>> statements_;
};

class ConnectionPool {
 public:
  ConnectionPool(MySqlOptions options, int size);
  ~ConnectionPool();

  class Lease {
   public:
    Lease(ConnectionPool& pool, std::unique_ptr<DbConnection> c) : pool_(&pool), c_(std::move(c)) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), c_(std::move(o.c_)) {}
    ~Lease() {
      if (c_) pool_->give_back(std::move(c_));
    }
    DbConnection& operator*() { return *c_; }
    DbConnection* operator->() { return c_.get(); }
    // False when acquire() gave up waiting.
    explicit operator bool() const noexcept { return c_ != nullptr; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<DbConnection> c_;
  };

  // A free connection, or an empty lease after options.acquire_timeout.
  Lease acquire();
  const MySqlOptions& options() const noexcept { return options_; }

 private:
  void give_back(std::unique_ptr<DbConnection> c);

  MySqlOptions options_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<DbConnection>> idle_;
};

}  // namespace barid::core::mysql
