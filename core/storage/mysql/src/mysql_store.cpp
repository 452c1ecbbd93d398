#include <barid/core/mysql_store.hpp>

#include "connection.hpp"
#include "migrations.hpp"
#include "message_rows.hpp"
#include "outbox.hpp"
#include "sealing.hpp"
#include "sql_helpers.hpp"

#include <barid/core/log.hpp>
#include <barid/sdk/encoding.hpp>

#include <cppconn/exception.h>
#include <mysql_driver.h>
#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <iomanip>
#include <sstream>
#include <thread>
#include <unordered_map>

namespace barid::core {

using mysql::ConnectionPool;
using mysql::DbConnection;
using namespace mysql::sql_helpers;
using namespace mysql::sealing;
using namespace mysql::outbox;
using namespace mysql::message_rows;


MySqlStore::MySqlStore(MySqlOptions options) {
  const int size = std::max(1, options.pool_size);
  pool_ = std::make_unique<ConnectionPool>(std::move(options), size);
}

MySqlStore::~MySqlStore() = default;

void MySqlStore::global_init() { sql::mysql::get_mysql_driver_instance(); }

Status MySqlStore::migrate() {
  auto r = run(*pool_, "migrate", [&](DbConnection& c, int) {
    c.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INT NOT NULL PRIMARY KEY, "
        "name VARCHAR(200) NOT NULL, applied_at DATETIME(6) NOT NULL) "
        "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci");
    // Several nodes may start together: one applies, the others wait.
    auto lock = c.query("SELECT GET_LOCK('barid.schema_migrations', 60)");
    if (!lock->next() || lock->getInt(1) != 1) throw std::runtime_error("could not take the migration lock");
    std::set<int> applied;
    {
      auto rs = c.query("SELECT version FROM schema_migrations");
      while (rs->next()) applied.insert(rs->getInt(1));
    }
    int count = 0;
    try {
      for (const auto& m : mysql::migrations()) {
        if (applied.count(m.version)) continue;
        log_info("store", "applying migration " + std::to_string(m.version) + ": " + m.name);
        for (const auto& stmt : m.statements) c.execute(stmt);
        c.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (" +
                  std::to_string(m.version) + "," + q(c, m.name) + ",UTC_TIMESTAMP(6))");
        ++count;
      }
    } catch (...) {
      c.query("SELECT RELEASE_LOCK('barid.schema_migrations')");
      throw;
    }
    c.query("SELECT RELEASE_LOCK('barid.schema_migrations')");
    if (numbers_sealed(c)) {
      // Numbers written before privacy.encryption.numbers was turned on:
      // while any is left, every lookup matches the clear form too.
      auto left = c.query(
          "SELECT EXISTS(SELECT 1 FROM opt_outs WHERE phone LIKE '+%') OR EXISTS(SELECT 1 FROM recipient_preferences "
          "WHERE phone LIKE '+%' OR recipient_key LIKE 'phone:+%') OR EXISTS(SELECT 1 FROM messages WHERE recipient "
          "LIKE '+%') OR EXISTS(SELECT 1 FROM inbound_messages WHERE from_phone LIKE '+%')");
      const bool in_clear = left->next() && left->getInt(1) != 0;
      pool_->options().numbers_in_clear->store(in_clear);
      if (in_clear)
        log_warn("store", "some numbers are still stored in clear: lookups match them too until rotate-key has "
                          "converted them and the gateway is restarted");
    }
    auto cs = c.query("SELECT @@character_set_database");
    if (cs->next() && cs->getString(1).asStdString() != "utf8mb4")
      log_warn("store", "the database's default character set is " + cs->getString(1).asStdString() +
                            "; Barid's tables are utf8mb4, create the database with utf8mb4 too");
    return count;
  });
  if (!r) return r.error();
  return {};
}

Status MySqlStore::ping() {
  auto r = run(*pool_, "ping", [&](DbConnection& c, int) {
    c.query("SELECT 1");
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<std::string> MySqlStore::connection_tls() {
  return run(*pool_, "tls", [&](DbConnection& c, int) {
    c.ensure_connected();
    return c.tls();
  });
}

// Inserts `batch` (minus the rows stored by an earlier try), resolves
// idempotency keys and writes the accept events, inside the caller's
// transaction.
std::vector<InsertOutcome> mysql::message_rows::insert_message_rows(DbConnection& c,
                                                                   const std::vector<NewMessage>& batch,
                                                                   const std::vector<char>& stored_before) {
  std::vector<InsertOutcome> out(batch.size());
  std::vector<std::size_t> to_insert;
  for (std::size_t i = 0; i < batch.size(); ++i)
    if (!stored_before[i]) to_insert.push_back(i);

  for (std::size_t start = 0; start < to_insert.size(); start += kRowsPerInsert) {
    std::string sql =
        "INSERT INTO messages (id, tenant_id, channel, recipient, sender, body, status, status_reason, "
        "attempts, max_attempts, next_attempt_at, segments, encoding, idempotency_key, request_hash, "
        "batch_id, recipient_id, category, template_code, language, provider_template, template_variables, "
        "reference, priority, expires_at, created_at, scheduled_at, updated_at, replies, replies_until, content_key, "
        "discard_content, recipient_sealed) VALUES ";
    const std::string key_sql = sealing_key_sql(c);
    for (std::size_t k = start; k < std::min(to_insert.size(), start + kRowsPerInsert); ++k) {
      const NewMessage& m = batch[to_insert[k]];
      std::string vars;
      if (!m.template_variables.empty())
        vars = seal_column(c, "messages", "template_variables", m.id, nlohmann::json(m.template_variables).dump());
      if (k != start) sql += ',';
      sql += "(" + hex_literal(m.id.raw()) + "," + std::to_string(m.tenant_id) + ",'" +
             std::string(sdk::to_string(m.channel)) + "'," + q(c, number_key(c, m.to)) + "," + q(c, m.from) + "," +
             q(c, seal_column(c, "messages", "body", m.id, m.body)) + "," + status_sql(m.status) + "," +
             q(c, truncate(m.status_reason, 255)) + ",0," +
             std::to_string(m.max_attempts) + "," +
             (m.scheduled_at ? "'" + format_db_time(*m.scheduled_at) + "'" : "UTC_TIMESTAMP(6)") + "," +
             std::to_string(m.segments.segments) + ",'" + std::string(to_string(m.segments.encoding)) + "'," +
             q_or_null(c, m.idempotency_key) + "," +
             (m.request_hash.empty() ? "NULL" : hex_literal(m.request_hash)) + "," +
             (m.batch_id ? hex_literal(m.batch_id->raw()) : "NULL") + "," + q_or_null(c, m.recipient_id) + "," +
             q_or_null(c, m.category) + "," + q_or_null(c, m.template_code) + "," + q_or_null(c, m.language) +
             "," + q_or_null(c, m.provider_template) + "," + q_or_null(c, vars) + "," +
             q_or_null(c, m.reference) + "," +
             std::to_string(static_cast<int>(m.priority.value_or(Priority::normal))) + "," +
             time_or_null(m.expires_at) + ",UTC_TIMESTAMP(6)," + time_or_null(m.scheduled_at) +
             ",UTC_TIMESTAMP(6)," + q_or_null(c, replies_text(m.replies)) + "," +
             // Replies answer the message for its reply window from the time it is due.
             (m.replies.empty() ? std::string("NULL")
              : m.scheduled_at ? "'" + format_db_time(*m.scheduled_at + m.reply_window) + "'"
                               : "UTC_TIMESTAMP(6) + INTERVAL " + std::to_string(m.reply_window.count()) + " SECOND") +
             "," + key_sql + "," + (m.discard_content.value_or(false) ? "1" : "0") + "," +
             sealed_number_sql(c, "messages", "recipient", m.id, m.to) + ")";
    }
    // A row whose idempotency key is taken is left as it is.
    sql += " ON DUPLICATE KEY UPDATE id = id";
    c.execute(sql);
  }

  for (std::size_t i = 0; i < batch.size(); ++i) {
    out[i].kind = InsertOutcome::Kind::inserted;
    out[i].id = batch[i].id;
    out[i].status = batch[i].status;
    out[i].status_reason = batch[i].status_reason;
  }

  // Idempotency keys: whoever holds the key in the table is the answer.
  std::map<TenantId, std::vector<std::size_t>> keyed;
  for (std::size_t i = 0; i < batch.size(); ++i)
    if (!batch[i].idempotency_key.empty()) keyed[batch[i].tenant_id].push_back(i);
  for (const auto& [tenant, idx] : keyed) {
    std::string keys;
    for (auto i : idx) keys += (keys.empty() ? "" : ",") + q(c, batch[i].idempotency_key);
    auto rs = c.query("SELECT id, idempotency_key, request_hash, status, status_reason FROM messages WHERE tenant_id = " +
                      std::to_string(tenant) + " AND idempotency_key IN (" + keys + ")");
    struct Holder {
      MessageId id;
      std::string hash;
      MessageStatus status;
      std::string status_reason;
    };
    std::unordered_map<std::string, Holder> holders;
    while (rs->next()) {
      holders[rs->getString("idempotency_key").asStdString()] = {
          Uuid::from_bytes(rs->getString("id").asStdString()),
          rs->isNull("request_hash") ? std::string() : rs->getString("request_hash").asStdString(),
          sdk::status_from_string(rs->getString("status").asStdString()).value_or(MessageStatus::queued),
          get_str(*rs, "status_reason")};
    }
    for (auto i : idx) {
      auto it = holders.find(batch[i].idempotency_key);
      if (it == holders.end() || it->second.id == batch[i].id) continue;
      out[i].id = it->second.id;
      out[i].status = it->second.status;
      out[i].status_reason = it->second.status_reason;
      out[i].kind = it->second.hash == batch[i].request_hash ? InsertOutcome::Kind::duplicate
                                                             : InsertOutcome::Kind::idempotency_mismatch;
    }
  }

  charge_usage(c, batch, out, stored_before);

  std::vector<MessageEventRow> events;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (out[i].kind != InsertOutcome::Kind::inserted || stored_before[i]) continue;
    const NewMessage& m = batch[i];
    std::string detail = std::string(sdk::to_string(m.channel)) + ", " + std::to_string(m.segments.segments) +
                         " segment(s), " + std::string(to_string(m.segments.encoding));
    if (!m.template_code.empty()) detail += ", template " + m.template_code + " (" + m.language + ")";
    if (m.status == MessageStatus::suppressed) detail = m.status_reason;
    if (m.scheduled_at) detail += ", scheduled for " + format_iso8601(*m.scheduled_at);
    events.push_back(message_event_row(c, m.id, m.tenant_id,
                                       m.status == MessageStatus::suppressed ? "suppressed" : "accepted", m.status,
                                       detail, m.actor));
  }
  insert_message_events(c, events);
  return out;
}

// The rows of `batch` that an earlier, interrupted try already stored.
std::vector<char> mysql::message_rows::already_stored(DbConnection& c, const std::vector<NewMessage>& batch) {
  std::vector<char> stored(batch.size(), 0);
  std::vector<MessageId> ids;
  for (const auto& m : batch) ids.push_back(m.id);
  std::set<std::string> existing;
  for (std::size_t start = 0; start < ids.size(); start += kRowsPerInsert) {
    std::vector<MessageId> chunk(ids.begin() + static_cast<long>(start),
                                 ids.begin() + static_cast<long>(std::min(ids.size(), start + kRowsPerInsert)));
    auto rs = c.query("SELECT id FROM messages WHERE id IN (" + id_list(chunk) + ")");
    while (rs->next()) existing.insert(rs->getString(1).asStdString());
  }
  for (std::size_t i = 0; i < batch.size(); ++i) stored[i] = existing.count(batch[i].id.raw()) ? 1 : 0;
  return stored;
}

Result<std::vector<InsertOutcome>> MySqlStore::insert_messages(const std::vector<NewMessage>& batch) {
  if (batch.empty()) return std::vector<InsertOutcome>{};
  return run(*pool_, "insert messages", [&](DbConnection& c, int attempt) {
    c.begin();
    // After a lost connection the earlier try's commit may have landed:
    // rows that exist are not inserted (nor their events) again.
    const std::vector<char> stored_before =
        attempt > 0 ? already_stored(c, batch) : std::vector<char>(batch.size(), 0);
    auto out = insert_message_rows(c, batch, stored_before);
    c.commit();
    return out;
  });
}

Result<std::optional<Message>> MySqlStore::find_message(TenantId tenant, const MessageId& id) {
  return run(*pool_, "find message", [&](DbConnection& c, int) -> std::optional<Message> {
    auto& ps = c.prepare(std::string("SELECT ") + kMessageColumns + " FROM messages WHERE id = ? AND tenant_id = ?");
    ps.setString(1, id.raw());
    ps.setUInt(2, tenant);
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    if (!rs->next()) return std::nullopt;
    return read_message(c, *rs);
  });
}

Result<std::vector<MessageEvent>> MySqlStore::list_events(TenantId tenant, const MessageId& id) {
  return run(*pool_, "list events", [&](DbConnection& c, int) {
    auto& ps = c.prepare(
        "SELECT id, at, type, status, detail, actor, ip, user_agent FROM message_events "
        "WHERE message_id = ? AND tenant_id = ? ORDER BY id");
    ps.setString(1, id.raw());
    ps.setUInt(2, tenant);
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    std::vector<MessageEvent> out;
    while (rs->next()) {
      MessageEvent e;
      e.id = static_cast<std::int64_t>(rs->getUInt64("id"));
      e.at = parse_db_time(rs->getString("at").asStdString()).value_or(TimePoint{});
      e.type = rs->getString("type").asStdString();
      if (!rs->isNull("status")) e.status = sdk::status_from_string(rs->getString("status").asStdString());
      e.detail = rs->getString("detail").asStdString();
      e.actor = {rs->getString("actor").asStdString(), rs->getString("ip").asStdString(),
                 rs->getString("user_agent").asStdString()};
      out.push_back(std::move(e));
    }
    return out;
  });
}

Result<std::vector<ReportOutcome>> MySqlStore::apply_reports(const std::string& instance,
                                                             const std::vector<sdk::StatusUpdate>& updates,
                                                             const Actor& actor) {
  if (updates.empty()) return std::vector<ReportOutcome>{};
  return run(*pool_, "apply delivery reports", [&](DbConnection& c, int) {
    struct Row {
      MessageId id;
      TenantId tenant = 0;
      MessageStatus status = MessageStatus::sent;
      std::string provider_message_id;
      // column -> new value; a later report in the same batch overwrites an
      // earlier one (MySQL refuses a column named twice in one SET).
      std::map<std::string, std::string> sets;
    };
    std::unordered_map<MessageId, Row, UuidHash> rows;
    std::unordered_map<std::string, MessageId> by_provider_id;

    c.begin();
    std::vector<MessageId> ids;
    std::string provider_ids;
    for (const auto& u : updates) {
      if (auto id = Uuid::parse(u.message_id)) ids.push_back(*id);
      if (!u.provider_message_id.empty())
        provider_ids += (provider_ids.empty() ? "" : ",") + q(c, u.provider_message_id);
    }
    auto load = [&](const std::string& where) {
      auto rs = c.query("SELECT id, tenant_id, status, provider_message_id FROM messages WHERE " + where +
                        " FOR UPDATE");
      while (rs->next()) {
        Row r;
        r.id = Uuid::from_bytes(rs->getString("id").asStdString());
        r.tenant = static_cast<TenantId>(rs->getUInt("tenant_id"));
        r.status = sdk::status_from_string(rs->getString("status").asStdString()).value_or(MessageStatus::failed);
        r.provider_message_id = get_str(*rs, "provider_message_id");
        if (!r.provider_message_id.empty()) by_provider_id[r.provider_message_id] = r.id;
        rows.emplace(r.id, std::move(r));
      }
    };
    // By our id only when the message went (or is going) through this
    // instance: a provider cannot touch another instance's messages.
    if (!ids.empty())
      load("id IN (" + id_list(ids) + ") AND (provider_instance = " + q(c, instance) +
           " OR (provider_instance IS NULL AND status = 'sending'))");
    if (!provider_ids.empty())
      load("provider_instance = " + q(c, instance) + " AND provider_message_id IN (" + provider_ids + ")");

    std::vector<ReportOutcome> out;
    std::vector<MessageEventRow> events;
    for (const auto& u : updates) {
      ReportOutcome o;
      Row* row = nullptr;
      if (auto id = Uuid::parse(u.message_id); id && rows.count(*id)) row = &rows[*id];
      if (!row && !u.provider_message_id.empty()) {
        auto it = by_provider_id.find(u.provider_message_id);
        if (it != by_provider_id.end()) row = &rows[it->second];
      }
      if (!row) {
        out.push_back(o);
        continue;
      }
      o.id = row->id;
      o.from = row->status;
      o.to = u.status;
      const ReportDecision d = decide_report(row->status, u, instance);
      // A repeat records nothing, but a cost or segment count it brings is
      // kept (below).
      o.kind = d.kind == ReportDecision::Kind::applied ? ReportOutcome::Kind::applied : ReportOutcome::Kind::ignored;
      if (d.kind == ReportDecision::Kind::applied) {
        row->status = d.status;
        auto& sets = row->sets;
        sets["status"] = status_sql(d.status);
        const TimestampMoves& t = d.timestamps;
        for (auto [column, stamp] : {std::pair{"sent_at", t.sent_at}, std::pair{"delivered_at", t.delivered_at},
                                     std::pair{"read_at", t.read_at}, std::pair{"failed_at", t.failed_at}})
          if (stamp != Stamp::unchanged) sets[column] = stamp_sql(column, stamp);
        if (t.next_attempt_in) sets["next_attempt_at"] = next_attempt_sql(*t.next_attempt_in);
        if (d.error) {
          sets["error_code"] = q_or_null(c, d.error->code);
          sets["error_message"] = q_or_null(c, d.error->message);
          sets["retryable"] = d.retryable ? "1" : "0";
        }
      }
      if (d.event) {
        events.push_back(message_event_row(c, row->id, row->tenant, *d.event, d.discard_content, actor));
        events.back().webhook_event_first = d.webhook_event_first;
      }
      if (u.cost) {
        row->sets["cost_micros"] = std::to_string(u.cost->micros);
        row->sets["cost_currency"] = q(c, truncate(u.cost->currency, 3));
      }
      if (u.segments > 0) row->sets["segments"] = std::to_string(u.segments);
      if (row->provider_message_id.empty() && !u.provider_message_id.empty()) {
        row->provider_message_id = u.provider_message_id;
        row->sets["provider_message_id"] = q(c, u.provider_message_id);
      }
      out.push_back(o);
    }
    for (auto& [id, row] : rows) {
      if (row.sets.empty()) continue;
      std::string sql = "UPDATE messages SET updated_at = UTC_TIMESTAMP(6)";
      for (const auto& [column, value] : row.sets) sql += ", " + column + " = " + value;
      c.execute(sql + " WHERE id = " + hex_literal(id.raw()));
    }
    insert_message_events(c, events);
    c.commit();
    return out;
  });
}

}  // namespace barid::core
