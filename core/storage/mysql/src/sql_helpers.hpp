#pragma once
// SQL building blocks shared by the MySQL store's source files.

#include "connection.hpp"

#include <barid/core/log.hpp>
#include <barid/core/message.hpp>
#include <barid/core/message_status.hpp>
#include <barid/core/message_transitions.hpp>
#include <barid/core/recipients.hpp>
#include <barid/core/webhooks.hpp>
#include <barid/core/result.hpp>
#include <barid/sdk/encoding.hpp>

#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <nlohmann/json.hpp>

#include <iomanip>
#include <set>
#include <map>
#include <sstream>
#include <string>
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

inline const char* kMessageColumns =
    "id, tenant_id, channel, recipient, sender, body, status, status_reason, attempts, max_attempts, "
    "provider_instance, provider_message_id, segments, encoding, cost_micros, cost_currency, error_code, "
    "error_message, idempotency_key, batch_id, recipient_id, category, template_code, language, "
    "provider_template, template_variables, reference, priority, expires_at, created_at, scheduled_at, "
    "next_attempt_at, sent_at, delivered_at, read_at, failed_at, updated_at, replies, replies_until, reply_intent, "
    "replied_at, content_key, discard_content, body_redacted_at, recipient_sealed";

// Encryption at rest: what is written to a sealed column (sealed when the
// store has a cipher, else the text itself), and what is read back.
inline std::string seal_column(DbConnection& c, std::string_view table, std::string_view column, const Uuid& row,
                               std::string_view plain) {
  const ContentCipher* cipher = c.cipher();
  // Nothing to hide in an empty value (an erased body): it stays empty.
  if (!cipher || plain.empty()) return std::string(plain);
  return cipher->seal(plain, sealed_context(table, column, row.str()));
}
// `key` is the row's key column (empty: stored in clear). A value that does
// not open reads as empty, and the first reason is kept in `error`.
inline std::string open_column(DbConnection& c, const std::string& key, std::string_view table,
                               std::string_view column, const Uuid& row, std::string stored, std::string& error) {
  if (key.empty() || stored.empty()) return stored;
  const ContentCipher* cipher = c.cipher();
  if (!cipher) {
    if (error.empty())
      error = "sealed with key '" + key + "', but no encryption key is configured (privacy.encryption)";
    return {};
  }
  auto plain = cipher->open(key, stored, sealed_context(table, column, row.str()));
  if (!plain) {
    if (error.empty()) error = std::string(column) + ": " + plain.error().message;
    return {};
  }
  return std::move(*plain);
}
// Numbers (privacy.encryption.numbers): a column looked up by number holds
// the number's keyed hash ("#..."), and a sealed copy sits where the number
// must be shown. Rows written before it was turned on hold the number in
// clear until rotate-key converts them, so a lookup matches both forms (an
// opt-out recorded before must still apply after) while any is left, as
// migrate() finds at start.
inline bool numbers_sealed(DbConnection& c) { return c.cipher() && c.cipher()->seals_numbers(); }
inline std::string number_key(DbConnection& c, const std::string& number) {
  return numbers_sealed(c) && !number.empty() ? c.cipher()->number_index(number) : number;
}
inline std::vector<std::string> number_forms(DbConnection& c, const std::string& number) {
  if (!numbers_sealed(c) || number.empty()) return {number};
  if (!c.numbers_in_clear()) return {c.cipher()->number_index(number)};
  return {c.cipher()->number_index(number), number};
}
inline std::string number_match(DbConnection& c, const std::string& column, const std::string& number) {
  if (!numbers_sealed(c)) return column + " = " + c.quote(number);
  if (!c.numbers_in_clear()) return column + " = " + c.quote(number_key(c, number));
  return column + " IN (" + c.quote(number_key(c, number)) + "," + c.quote(number) + ")";
}
// The sealed copy of a number for `row`, as SQL (NULL when numbers are kept in clear).
inline std::string sealed_number_sql(DbConnection& c, std::string_view table, std::string_view column,
                                     const Uuid& row, const std::string& number) {
  if (!numbers_sealed(c) || number.empty()) return "NULL";
  return c.quote(seal_column(c, table, column, row, number));
}

// The key id a newly sealed row names, as SQL (NULL when stored in clear).
inline std::string sealing_key_sql(DbConnection& c) {
  return c.cipher() ? "'" + c.cipher()->sealing_key_id() + "'" : std::string("NULL");
}

inline std::string get_str(sql::ResultSet& rs, const char* col) {
  return rs.isNull(col) ? std::string() : rs.getString(col).asStdString();
}
inline std::optional<TimePoint> get_time(sql::ResultSet& rs, const char* col) {
  if (rs.isNull(col)) return std::nullopt;
  return parse_db_time(rs.getString(col).asStdString());
}

inline Message read_message(DbConnection& c, sql::ResultSet& rs) {
  Message m;
  m.id = Uuid::from_bytes(rs.getString("id").asStdString());
  m.tenant_id = static_cast<TenantId>(rs.getUInt("tenant_id"));
  m.channel = sdk::channel_from_string(get_str(rs, "channel")).value_or(sdk::Channel::sms);
  const std::string key = get_str(rs, "content_key");
  m.to = rs.isNull("recipient_sealed")
             ? get_str(rs, "recipient")
             : open_column(c, key, "messages", "recipient", m.id, get_str(rs, "recipient_sealed"), m.content_error);
  m.from = get_str(rs, "sender");
  m.body = open_column(c, key, "messages", "body", m.id, get_str(rs, "body"), m.content_error);
  m.status = sdk::status_from_string(get_str(rs, "status")).value_or(MessageStatus::failed);
  m.status_reason = get_str(rs, "status_reason");
  m.attempts = rs.getInt("attempts");
  m.max_attempts = rs.getInt("max_attempts");
  m.provider_instance = get_str(rs, "provider_instance");
  m.provider_message_id = get_str(rs, "provider_message_id");
  m.segments = rs.getInt("segments");
  m.encoding = get_str(rs, "encoding") == "UCS-2" ? Encoding::ucs2 : Encoding::gsm7;
  if (!rs.isNull("cost_micros"))
    m.cost = sdk::Money{static_cast<std::int64_t>(rs.getInt64("cost_micros")), get_str(rs, "cost_currency")};
  m.error_code = get_str(rs, "error_code");
  m.error_message = get_str(rs, "error_message");
  m.idempotency_key = get_str(rs, "idempotency_key");
  if (!rs.isNull("batch_id")) m.batch_id = Uuid::from_bytes(rs.getString("batch_id").asStdString());
  m.recipient_id = get_str(rs, "recipient_id");
  m.category = get_str(rs, "category");
  m.template_code = get_str(rs, "template_code");
  m.language = get_str(rs, "language");
  m.provider_template = get_str(rs, "provider_template");
  if (auto vars = open_column(c, key, "messages", "template_variables", m.id, get_str(rs, "template_variables"),
                              m.content_error);
      !vars.empty()) {
    auto j = nlohmann::json::parse(vars, nullptr, false);
    if (j.is_array())
      for (const auto& v : j)
        if (v.is_string()) m.template_variables.push_back(v.get<std::string>());
  }
  m.reference = get_str(rs, "reference");
  m.priority = static_cast<Priority>(std::min(2, std::max(0, rs.getInt("priority"))));
  m.expires_at = get_time(rs, "expires_at");
  m.created_at = get_time(rs, "created_at").value_or(TimePoint{});
  m.scheduled_at = get_time(rs, "scheduled_at");
  m.next_attempt_at = get_time(rs, "next_attempt_at");
  m.sent_at = get_time(rs, "sent_at");
  m.delivered_at = get_time(rs, "delivered_at");
  m.read_at = get_time(rs, "read_at");
  m.failed_at = get_time(rs, "failed_at");
  m.updated_at = get_time(rs, "updated_at").value_or(TimePoint{});
  m.replies = replies_from_text(get_str(rs, "replies"));
  m.replies_until = get_time(rs, "replies_until");
  m.reply_intent = get_str(rs, "reply_intent");
  m.replied_at = get_time(rs, "replied_at");
  m.content_key_missing = !m.content_error.empty() && (!c.cipher() || !c.cipher()->has_key(key));
  m.discard_content = rs.getInt("discard_content") != 0;
  m.body_redacted_at = get_time(rs, "body_redacted_at");
  return m;
}

// An event of the webhook outbox, before it is written.
struct OutboxEvent {
  TenantId tenant = 0;
  std::string type;  // one of kWebhookEventTypes
  std::optional<MessageId> message_id;
  std::optional<MessageStatus> status;
  std::string detail;
  std::optional<Uuid> inbound_id;
  std::string phone;
  std::string channel;
};

// Writes `events` to the webhook outbox, inside the caller's transaction:
// only those of tenants that have an endpoint (enabled or not, so that a
// replay can find them), each with a delivery for every enabled endpoint of
// its tenant that wants its type. A tenant without endpoints costs one
// indexed read.
inline void write_outbox(DbConnection& c, const std::vector<OutboxEvent>& events) {
  if (events.empty()) return;
  std::set<TenantId> tenants;
  for (const auto& e : events) tenants.insert(e.tenant);
  std::string in;
  for (TenantId t : tenants) in += (in.empty() ? "" : ",") + std::to_string(t);
  std::set<TenantId> with_endpoints;
  auto rs = c.query("SELECT DISTINCT tenant_id FROM webhook_endpoints WHERE tenant_id IN (" + in + ")");
  while (rs->next()) with_endpoints.insert(static_cast<TenantId>(rs->getUInt(1)));
  if (with_endpoints.empty()) return;
  std::string rows, ids;
  for (const auto& e : events) {
    if (!with_endpoints.count(e.tenant)) continue;
    const Uuid id = Uuid::v7();
    if (!rows.empty()) {
      rows += ',';
      ids += ',';
    }
    ids += hex_literal(id.raw());
    rows += "(" + hex_literal(id.raw()) + "," + std::to_string(e.tenant) + "," + c.quote(e.type) + "," +
            (e.message_id ? hex_literal(e.message_id->raw()) : std::string("NULL")) + "," +
            (e.status ? status_sql(*e.status) : std::string("NULL")) + "," +
            c.quote(truncate(to_valid_utf8(e.detail), 1024)) + "," +
            (e.inbound_id ? hex_literal(e.inbound_id->raw()) : std::string("NULL")) + "," +
            (e.phone.empty() || numbers_sealed(c) ? std::string("NULL") : c.quote(e.phone)) + "," +
            sealed_number_sql(c, "webhook_events", "phone", id, e.phone) + "," +
            (numbers_sealed(c) && !e.phone.empty() ? sealing_key_sql(c) : std::string("NULL")) + "," +
            (e.channel.empty() ? std::string("NULL") : c.quote(e.channel)) + ",UTC_TIMESTAMP(6))";
  }
  if (rows.empty()) return;
  c.execute("INSERT INTO webhook_events (id, tenant_id, type, message_id, status, detail, inbound_id, phone, "
            "phone_sealed, phone_key, channel, occurred_at) VALUES " + rows);
  c.execute(
      "INSERT INTO webhook_deliveries (event_seq, endpoint_id, tenant_id, message_id, status, attempts, "
      "next_attempt_at, created_at) SELECT e.seq, w.id, e.tenant_id, e.message_id, 'pending', 0, UTC_TIMESTAMP(6), "
      "UTC_TIMESTAMP(6) FROM webhook_events e JOIN webhook_endpoints w ON w.tenant_id = e.tenant_id AND "
      "w.disabled_at IS NULL AND (w.events = '' OR FIND_IN_SET(e.type, w.events) > 0) WHERE e.id IN (" + ids + ")");
}

inline constexpr const char* kInboundColumns =
    "id, tenant_id, channel, instance, from_phone, to_address, body, provider_message_id, received_at, message_id, "
    "intent, body_key, from_sealed";

inline InboundRecord read_inbound(DbConnection& c, sql::ResultSet& rs) {
  InboundRecord m;
  m.id = Uuid::from_bytes(rs.getString("id").asStdString());
  if (!rs.isNull("tenant_id")) m.tenant_id = static_cast<TenantId>(rs.getUInt("tenant_id"));
  m.channel = sdk::channel_from_string(get_str(rs, "channel")).value_or(sdk::Channel::sms);
  m.instance = get_str(rs, "instance");
  m.from = rs.isNull("from_sealed") ? get_str(rs, "from_phone")
                                    : open_column(c, get_str(rs, "body_key"), "inbound_messages", "from", m.id,
                                                  get_str(rs, "from_sealed"), m.content_error);
  m.to = get_str(rs, "to_address");
  m.body = open_column(c, get_str(rs, "body_key"), "inbound_messages", "body", m.id, get_str(rs, "body"),
                       m.content_error);
  m.provider_message_id = get_str(rs, "provider_message_id");
  m.received_at = get_time(rs, "received_at").value_or(TimePoint{});
  if (!rs.isNull("message_id")) m.message_id = Uuid::from_bytes(rs.getString("message_id").asStdString());
  m.intent = get_str(rs, "intent");
  return m;
}

// One row of message_events: its SQL values, and what the outbox needs.
struct EventRow {
  std::string values;
  MessageId id;
  TenantId tenant = 0;
  std::optional<MessageStatus> status;
  std::string webhook_event;     // empty: none
  bool discard_content = false;  // the change makes the message final
  // A webhook event of the same message that goes out before webhook_event
  // (ReportDecision::webhook_event_first); empty: none.
  std::string webhook_event_first;
};

// `event` as a row, `discard_content` when its change makes the message
// final (the decision of message_transitions.hpp says).
inline EventRow event_row(DbConnection& c, const MessageId& id, TenantId tenant, const EventToWrite& event,
                          bool discard_content, const Actor& actor) {
  std::string row = "(" + hex_literal(id.raw()) + "," + std::to_string(tenant) + ",UTC_TIMESTAMP(6)," +
                    q(c, event.type) + "," + (event.status ? status_sql(*event.status) : "NULL") + "," +
                    q(c, truncate(to_valid_utf8(event.detail), 1024)) + "," +
                    q(c, truncate(to_valid_utf8(actor.actor), 64)) + "," +
                    q(c, truncate(to_valid_utf8(actor.ip), 45)) + "," +
                    q(c, truncate(to_valid_utf8(actor.user_agent), 255)) + ")";
  return EventRow{std::move(row), id, tenant, event.status, event.webhook_event, discard_content, {}};
}

// An event of `type` moving the message to `status` (or none), with the
// webhook event and the discard that status brings.
inline EventRow event_row(DbConnection& c, const MessageId& id, TenantId tenant, std::string_view type,
                          std::optional<MessageStatus> status, std::string_view detail, const Actor& actor) {
  return event_row(c, id, tenant, event_to_write(std::string(type), status, std::string(detail)),
                   status && ends_content(*status), actor);
}

// Writes message events, and the webhook events their status changes are
// (EventRow::webhook_event), in the caller's transaction; erases the content
// of the messages they make final that asked for it.
inline void insert_events(DbConnection& c, const std::vector<EventRow>& rows) {
  std::vector<OutboxEvent> outbox;
  for (std::size_t start = 0; start < rows.size(); start += kRowsPerInsert) {
    std::string sql =
        "INSERT INTO message_events (message_id, tenant_id, at, type, status, detail, actor, ip, user_agent) "
        "VALUES ";
    for (std::size_t i = start; i < std::min(rows.size(), start + kRowsPerInsert); ++i) {
      if (i != start) sql += ',';
      sql += rows[i].values;
    }
    c.execute(sql);
  }
  for (const auto& r : rows) {
    if (!r.webhook_event_first.empty())
      outbox.push_back(OutboxEvent{r.tenant, r.webhook_event_first, r.id, MessageStatus::sent, {}, std::nullopt, {}, {}});
    if (r.webhook_event.empty()) continue;
    outbox.push_back(OutboxEvent{r.tenant, r.webhook_event, r.id, r.status, {}, std::nullopt, {}, {}});
  }
  write_outbox(c, outbox);
  // Discard after delivery: every status change passes here, in the
  // transaction that makes it, so a message that asked for it loses its
  // content in the same commit that makes it final.
  std::vector<MessageId> final_ids;
  for (const auto& r : rows)
    if (r.discard_content) final_ids.push_back(r.id);
  if (!final_ids.empty())
    c.execute("UPDATE messages SET " + std::string(kRedaction) + " WHERE id IN (" + id_list(final_ids) +
              ") AND discard_content = 1 AND body_redacted_at IS NULL");
}


// Inserts `batch` (minus the rows an earlier try stored), resolves
// idempotency keys and writes the accept events, in the caller's transaction.
std::vector<InsertOutcome> insert_message_rows(DbConnection& c, const std::vector<NewMessage>& batch,
                                               const std::vector<char>& stored_before);
// Counts the messages just stored in their tenants' usage, after taking out
// (and marking over_quota / over_spend_cap) those their limits do not allow;
// in the caller's transaction, before their events are written.
void charge_usage(DbConnection& c, const std::vector<NewMessage>& batch, std::vector<InsertOutcome>& out,
                  const std::vector<char>& stored_before);
// Which rows of `batch` already exist (an interrupted try committed them).
std::vector<char> already_stored(DbConnection& c, const std::vector<NewMessage>& batch);

}  // namespace barid::core::mysql::sql_helpers
