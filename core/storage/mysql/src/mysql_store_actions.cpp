// MySqlStore: actions on one message (retry, cancel) and bulk batches.

#include <barid/core/mysql_store.hpp>

#include "message_rows.hpp"
#include "outbox.hpp"
#include "sealing.hpp"
#include "sql_helpers.hpp"

#include <algorithm>
#include <set>

namespace barid::core {

using namespace mysql::sql_helpers;
using namespace mysql::sealing;
using namespace mysql::outbox;
using namespace mysql::message_rows;

namespace {

// Moves one message from a status the state machine allows to `to`, under a
// row lock, with an event. `check` may refuse with a conflict message.
template <typename Check>
Message transition(DbConnection& c, TenantId tenant, const MessageId& id, MessageStatus to, const char* event,
                   const std::string& extra_sets, const Actor& actor, Check&& check, Error& error) {
  c.begin();
  const std::string where = "id = " + hex_literal(id.raw()) + " AND tenant_id = " + std::to_string(tenant);
  auto rs = c.query(std::string("SELECT ") + kMessageColumns + " FROM messages WHERE " + where + " FOR UPDATE");
  if (!rs->next()) {
    c.rollback();
    error = Error::not_found("no message with id '" + id.str() + "'");
    return {};
  }
  Message m = read_message(c, *rs);
  if (auto why = check(m); !why.empty()) {
    c.rollback();
    error = Error::conflict(why);
    return {};
  }
  c.execute("UPDATE messages SET status = " + status_sql(to) + extra_sets +
            ", updated_at = UTC_TIMESTAMP(6) WHERE " + where);
  insert_message_events(
      c, {message_event_row(c, id, tenant, event, to,
                            std::string(sdk::to_string(m.status)) + " -> " + std::string(sdk::to_string(to)), actor)});
  auto back = c.query(std::string("SELECT ") + kMessageColumns + " FROM messages WHERE " + where);
  back->next();
  Message updated = read_message(c, *back);
  c.commit();
  return updated;
}

}  // namespace

Result<Message> MySqlStore::retry_message(TenantId tenant, const MessageId& id, const Actor& actor) {
  Error error;
  auto r = run(*pool_, "retry message", [&](DbConnection& c, int) {
    error = Error{};
    return transition(
        c, tenant, id, MessageStatus::queued, "retry_requested",
        ", next_attempt_at = UTC_TIMESTAMP(6), failed_at = NULL, error_code = NULL, error_message = NULL, "
        "retryable = 0",
        actor,
        [](const Message& m) { return retry_refusal(m, now_us()); },
        error);
  });
  if (!r) return r.error();
  if (!error.message.empty()) return error;
  return *r;
}

Result<Message> MySqlStore::cancel_message(TenantId tenant, const MessageId& id, const Actor& actor) {
  Error error;
  auto r = run(*pool_, "cancel message", [&](DbConnection& c, int) {
    error = Error{};
    return transition(c, tenant, id, MessageStatus::canceled, "canceled", ", lease_owner = NULL", actor,
                      [](const Message& m) { return cancel_refusal(m.status); },
                      error);
  });
  if (!r) return r.error();
  if (!error.message.empty()) return error;
  return *r;
}

Status MySqlStore::record_event(TenantId tenant, const MessageId& id, std::string_view type, std::string_view detail,
                                const Actor& actor) {
  auto r = run(*pool_, "record event", [&](DbConnection& c, int) {
    insert_message_events(c, {message_event_row(c, id, tenant, type, std::nullopt, detail, actor)});
    return true;
  });
  if (!r) return r.error();
  return {};
}

namespace {

Batch read_batch(sql::ResultSet& rs) {
  Batch b;
  b.id = Uuid::from_bytes(rs.getString("id").asStdString());
  b.tenant_id = static_cast<TenantId>(rs.getUInt("tenant_id"));
  b.channel = sdk::channel_from_string(get_str(rs, "channel")).value_or(sdk::Channel::sms);
  b.template_code = get_str(rs, "template_code");
  b.total = rs.getInt("total");
  b.accepted = rs.getInt("accepted");
  b.suppressed = rs.getInt("suppressed");
  b.rejected = rs.getInt("rejected");
  b.idempotency_key = get_str(rs, "idempotency_key");
  b.request_hash = get_str(rs, "request_hash");
  b.actor = get_str(rs, "actor");
  b.created_at = get_time(rs, "created_at").value_or(TimePoint{});
  return b;
}

const char* kBatchColumns =
    "id, tenant_id, channel, template_code, total, accepted, suppressed, rejected, idempotency_key, request_hash, "
    "actor, created_at";

}  // namespace

namespace {
constexpr int kDeadlock = 1213;  // ER_LOCK_DEADLOCK: run() tries again
}  // namespace

Result<Store::BatchInsert> MySqlStore::insert_batch(const Batch& batch, const std::vector<NewMessage>& messages) {
  Error error;
  auto r = run(*pool_, "insert batch", [&](DbConnection& c, int attempt) -> BatchInsert {
    error = Error{};
    c.begin();
    auto existing = [&](const std::string& where) -> std::optional<Batch> {
      auto rs = c.query(std::string("SELECT ") + kBatchColumns + " FROM batches WHERE " + where);
      if (!rs->next()) return std::nullopt;
      return read_batch(*rs);
    };
    if (attempt > 0) {
      // An interrupted try may have committed the whole batch.
      if (auto b = existing("id = " + hex_literal(batch.id.raw()))) {
        c.commit();
        return {*b, false};
      }
    }
    // The earlier request with this key, if any: its batch is the answer.
    auto replay = [&]() -> std::optional<BatchInsert> {
      auto b = existing("tenant_id = " + std::to_string(batch.tenant_id) +
                        " AND idempotency_key = " + q(c, batch.idempotency_key));
      if (!b) return std::nullopt;
      c.rollback();
      if (b->request_hash != batch.request_hash)
        error = Error{ErrorKind::conflict,
                      "this Idempotency-Key was used with a different request (batch " + b->id.str() + ")",
                      "Idempotency-Key"};
      return BatchInsert{*b, true};
    };
    if (!batch.idempotency_key.empty())
      if (auto earlier = replay()) return *earlier;
    try {
      c.execute(
          "INSERT INTO batches (id, tenant_id, channel, template_code, total, accepted, suppressed, rejected, "
          "idempotency_key, request_hash, actor, created_at) VALUES (" +
          hex_literal(batch.id.raw()) + "," + std::to_string(batch.tenant_id) + ",'" +
          std::string(sdk::to_string(batch.channel)) + "'," + q_or_null(c, batch.template_code) + "," +
          std::to_string(batch.total) + "," + std::to_string(batch.accepted) + "," +
          std::to_string(batch.suppressed) + "," + std::to_string(batch.rejected) + "," +
          q_or_null(c, batch.idempotency_key) + "," +
          (batch.request_hash.empty() ? "NULL" : hex_literal(batch.request_hash)) + "," +
          q(c, truncate(batch.actor, 64)) + ",UTC_TIMESTAMP(6))");
    } catch (const sql::SQLException& e) {
      // A concurrent request with the same key inserted its batch first: the
      // unique key made this INSERT wait for its commit, then refused it.
      // Its batch is now readable and is the answer (a replay, or 409 on a
      // different request); if it rolled back, the error is retried.
      if (!mysql::is_duplicate_key(e.getErrorCode()) || batch.idempotency_key.empty()) throw;
      c.rollback();
      c.begin();
      if (auto earlier = replay()) return *earlier;
      // It rolled back (over a quota): this request goes ahead, tried anew
      // the way run() retries a deadlock.
      throw sql::SQLException("the batch holding this Idempotency-Key rolled back", "40001", kDeadlock);
    }
    auto outcomes = insert_message_rows(c, messages, std::vector<char>(messages.size(), 0));
    // A bulk is taken whole or not at all: its counts are the batch's.
    for (const auto& o : outcomes) {
      if (o.kind != InsertOutcome::Kind::over_quota && o.kind != InsertOutcome::Kind::over_spend_cap) continue;
      c.rollback();
      error = o.kind == InsertOutcome::Kind::over_quota
                  ? Error::quota(o.limit_detail + "; the bulk was not accepted", o.retry_after_s)
                  : Error::spend_cap(o.limit_detail + "; the bulk was not accepted", o.retry_after_s);
      return {batch, false};
    }
    auto b = existing("id = " + hex_literal(batch.id.raw()));
    c.commit();
    return {b.value_or(batch), false};
  });
  if (!r) return r.error();
  if (!error.message.empty()) return error;
  return *r;
}

Result<std::optional<Batch>> MySqlStore::find_batch(TenantId tenant, const Uuid& id) {
  return run(*pool_, "find batch", [&](DbConnection& c, int) -> std::optional<Batch> {
    auto rs = c.query(std::string("SELECT ") + kBatchColumns + " FROM batches WHERE id = " + hex_literal(id.raw()) +
                      " AND tenant_id = " + std::to_string(tenant));
    if (!rs->next()) return std::nullopt;
    return read_batch(*rs);
  });
}

Result<std::map<std::string, std::int64_t>> MySqlStore::batch_status_counts(TenantId tenant, const Uuid& id) {
  return run(*pool_, "batch progress", [&](DbConnection& c, int) {
    std::map<std::string, std::int64_t> out;
    auto rs = c.query("SELECT status, COUNT(*) FROM messages WHERE batch_id = " + hex_literal(id.raw()) +
                      " AND tenant_id = " + std::to_string(tenant) + " GROUP BY status");
    while (rs->next()) out[rs->getString(1).asStdString()] = rs->getInt64(2);
    return out;
  });
}

}  // namespace barid::core

namespace barid::core {

Result<std::vector<Message>> MySqlStore::list_messages(TenantId tenant, const MessageFilter& f) {
  return run(*pool_, "list messages", [&](DbConnection& c, int) {
    std::string where = "tenant_id = " + std::to_string(tenant);
    if (f.status) where += " AND status = " + status_sql(*f.status);
    if (f.channel) where += " AND channel = '" + std::string(sdk::to_string(*f.channel)) + "'";
    if (f.batch_id) where += " AND batch_id = " + hex_literal(f.batch_id->raw());
    if (!f.to.empty()) where += " AND " + number_match(c, "recipient", f.to);
    if (!f.recipient_id.empty()) where += " AND recipient_id = " + q(c, f.recipient_id);
    if (f.from) where += " AND created_at >= '" + format_db_time(*f.from) + "'";
    if (f.to_time) where += " AND created_at < '" + format_db_time(*f.to_time) + "'";
    if (f.after) {
      // Keyset pagination on (created_at, id), newest first.
      auto rs = c.query("SELECT created_at FROM messages WHERE id = " + hex_literal(f.after->raw()) +
                        " AND tenant_id = " + std::to_string(tenant));
      if (rs->next()) {
        const std::string at = get_str(*rs, "created_at");
        where += " AND (created_at < '" + at + "' OR (created_at = '" + at + "' AND id < " +
                 hex_literal(f.after->raw()) + "))";
      }
    }
    std::vector<Message> out;
    auto rs = c.query(std::string("SELECT ") + kMessageColumns + " FROM messages WHERE " + where +
                      " ORDER BY created_at DESC, id DESC LIMIT " + std::to_string(std::clamp(f.limit, 1, 1000)));
    while (rs->next()) out.push_back(read_message(c, *rs));
    return out;
  });
}

Status MySqlStore::update_tenant_settings(TenantId tenant, const TenantSettings& settings) {
  auto r = run(*pool_, "update tenant settings", [&](DbConnection& c, int) {
    const auto int_or_null = [](std::optional<int> v) { return v ? std::to_string(*v) : std::string("NULL"); };
    c.execute("UPDATE tenants SET default_language = " + q(c, settings.default_language) +
              ", retention_days = " + int_or_null(settings.retention_days) +
              ", discard_content = " + (settings.discard_content ? "1" : "0") +
              ", redact_after_days = " + int_or_null(settings.redact_after_days) + " WHERE id = " +
              std::to_string(tenant));
    return true;
  });
  if (!r) return r.error();
  return {};
}

Status MySqlStore::add_audit(const AuditEntry& e) {
  auto r = run(*pool_, "add audit entry", [&](DbConnection& c, int) {
    c.execute("INSERT INTO audit_log (tenant_id, at, action, subject, detail, actor, ip, user_agent) VALUES (" +
              std::to_string(e.tenant_id) + ",UTC_TIMESTAMP(6)," + q(c, truncate(e.action, 64)) + "," +
              q(c, truncate(e.subject, 200)) + "," + q(c, truncate(e.detail, 65535)) + "," +
              q(c, truncate(e.actor.actor, 64)) + "," + q(c, truncate(e.actor.ip, 45)) + "," +
              q(c, truncate(e.actor.user_agent, 255)) + ")");
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<std::vector<AuditEntry>> MySqlStore::list_audit(TenantId tenant, int limit, std::optional<std::int64_t> before) {
  return run(*pool_, "list audit log", [&](DbConnection& c, int) {
    std::vector<AuditEntry> out;
    auto rs = c.query("SELECT id, tenant_id, at, action, subject, detail, actor, ip, user_agent FROM audit_log WHERE "
                      "tenant_id = " + std::to_string(tenant) +
                      (before ? " AND id < " + std::to_string(*before) : std::string()) + " ORDER BY id DESC LIMIT " +
                      std::to_string(std::clamp(limit, 1, 1000)));
    while (rs->next()) {
      AuditEntry e;
      e.id = static_cast<std::int64_t>(rs->getUInt64("id"));
      e.tenant_id = static_cast<TenantId>(rs->getUInt("tenant_id"));
      e.at = get_time(*rs, "at").value_or(TimePoint{});
      e.action = get_str(*rs, "action");
      e.subject = get_str(*rs, "subject");
      e.detail = get_str(*rs, "detail");
      e.actor = {get_str(*rs, "actor"), get_str(*rs, "ip"), get_str(*rs, "user_agent")};
      out.push_back(std::move(e));
    }
    return out;
  });
}

}  // namespace barid::core
