#pragma once
// SQL building blocks shared by the MySQL store's source files: running a
// transaction with retries, literals and quoting, the lists stored as text,
// reading a column, and the SQL fragments several queries of the messages
// table share. Sealed columns are in sealing.hpp, the event outbox in
// outbox.hpp, reading message rows in message_rows.hpp.

#include "connection.hpp"

#include <barid/core/message.hpp>
#include <barid/core/message_status.hpp>
#include <barid/core/message_transitions.hpp>
#include <barid/core/result.hpp>
#include <barid/core/segments.hpp>
#include <barid/core/time.hpp>
#include <barid/sdk/encoding.hpp>

#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace barid::core::mysql::sql_helpers {

using mysql::ConnectionPool;
using mysql::DbConnection;

inline constexpr std::size_t kRowsPerInsert = 1000;

// Runs `f(connection, attempt)` with a pooled connection. A lost connection
// is rebuilt and the operation run again (the server rolled the transaction
// back); so are deadlocks and lock-wait timeouts. `attempt` > 0 tells `f`
// that an earlier try may have committed before the connection died.
template <typename F>
auto run(ConnectionPool& pool, const char* what, F&& f)
    -> Result<decltype(f(std::declval<DbConnection&>(), 0))> {
  std::string last;
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto lease = pool.acquire();
    if (!lease)
      return Error::unavailable(std::string(what) + ": no database connection was free within " +
                                std::to_string(pool.options().acquire_timeout.count()) + " ms");
    try {
      return f(*lease, attempt);
    } catch (const sql::SQLException& e) {
      const int code = e.getErrorCode();
      last = std::string(what) + ": " + mysql::loggable_server_message(e.what()) + " (MySQL error " +
             std::to_string(code) + ")";
      if (code == 0 || mysql::is_connection_error(code)) {
        lease->reset();
        std::this_thread::sleep_for(std::chrono::milliseconds(50 << attempt));
        continue;
      }
      lease->rollback();
      if (mysql::is_retryable_transaction_error(code)) continue;
      return Error::internal(last);
    } catch (const std::exception& e) {
      lease->rollback();
      return Error::internal(std::string(what) + ": " + mysql::loggable_server_message(e.what()));
    }
  }
  return Error::unavailable(last);
}

inline std::string hex_literal(std::string_view raw) { return "X'" + sdk::hex_encode(raw) + "'"; }

inline std::string id_list(const std::vector<MessageId>& ids) {
  std::string out;
  for (const auto& id : ids) {
    if (!out.empty()) out += ',';
    out += hex_literal(id.raw());
  }
  return out;
}

inline std::string q(DbConnection& c, std::string_view s) { return c.quote(s); }
inline std::string q_or_null(DbConnection& c, std::string_view s) { return s.empty() ? "NULL" : c.quote(s); }
inline std::string time_or_null(const std::optional<TimePoint>& t) {
  return t ? "'" + format_db_time(*t) + "'" : "NULL";
}

inline std::string truncate(std::string s, std::size_t max_bytes) { return truncate_utf8(std::move(s), max_bytes); }

// Comma-separated lists as stored (channels, categories, webhook event types).
inline std::string join(const std::vector<std::string>& items, char sep = ',') {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out.push_back(sep);
    out += i;
  }
  return out;
}
inline std::vector<std::string> split(const std::string& s, char sep = ',') {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

// Expected replies (answer -> intent) as stored: a JSON object, or empty
// (NULL) for none.
inline std::string replies_text(const std::map<std::string, std::string>& replies) {
  return replies.empty() ? std::string() : nlohmann::json(replies).dump();
}
inline std::map<std::string, std::string> replies_from_text(const std::string& text) {
  std::map<std::string, std::string> out;
  if (text.empty()) return out;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items())
    if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

// Every channel and priority: ix_messages_due is (status, channel, priority,
// next_attempt_at), so a range of next_attempt_at within one status names
// them all to stay a handful of index ranges instead of the whole status.
inline constexpr const char* kAllLanes = "channel IN ('sms', 'whatsapp', 'email') AND priority IN (0, 1, 2)";

// A message is final in these statuses: nothing more will be sent (a
// failure the retry sweep may requeue keeps its body unless it asked to
// discard it). ends_content (message_transitions.hpp) is the same list.
inline constexpr const char* kFinalStatuses =
    "'delivered', 'read', 'failed', 'undelivered', 'expired', 'suppressed', 'canceled'";
// What erasing a message's content sets (discard after delivery, the
// tenant's redact_after_days): metadata, cost and statistics stay.
inline constexpr const char* kRedaction =
    "body = '', template_variables = NULL, body_redacted_at = UTC_TIMESTAMP(6)";

inline std::string status_sql(MessageStatus s) { return "'" + std::string(sdk::to_string(s)) + "'"; }

// The value `column` takes when a change moves it by `s` (TimestampMoves);
// empty when it stays.
inline std::string stamp_sql(std::string_view column, Stamp s) {
  switch (s) {
    case Stamp::unchanged:
      return {};
    case Stamp::now_unless_set:
      return "COALESCE(" + std::string(column) + ", UTC_TIMESTAMP(6))";
    case Stamp::now:
      return "UTC_TIMESTAMP(6)";
  }
  return {};
}

// next_attempt_at `in` from the database's now (TimestampMoves).
inline std::string next_attempt_sql(std::chrono::milliseconds in) {
  if (in.count() == 0) return "UTC_TIMESTAMP(6)";
  return "UTC_TIMESTAMP(6) + INTERVAL " +
         std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(in).count()) + " MICROSECOND";
}

// A column's value; NULL reads as empty.
inline std::string get_str(sql::ResultSet& rs, const char* col) {
  return rs.isNull(col) ? std::string() : rs.getString(col).asStdString();
}
inline std::optional<TimePoint> get_time(sql::ResultSet& rs, const char* col) {
  if (rs.isNull(col)) return std::nullopt;
  return parse_db_time(rs.getString(col).asStdString());
}

}  // namespace barid::core::mysql::sql_helpers
