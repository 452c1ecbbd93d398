// MySqlStore: statistics and what the periodic jobs need.

#include <barid/core/mysql_store.hpp>

#include "message_rows.hpp"
#include "outbox.hpp"
#include "sealing.hpp"
#include "sql_helpers.hpp"

#include <algorithm>
#include <future>

namespace barid::core {

using namespace mysql::sql_helpers;
using namespace mysql::sealing;
using namespace mysql::outbox;
using namespace mysql::message_rows;

Result<Statistics> MySqlStore::statistics(TenantId tenant, TimePoint from, TimePoint to) {
  // Three index-only scans of the tenant's slice of ix_messages_tenant_time
  // (it covers every column read here), run at once on three connections.
  const std::string where = "tenant_id = " + std::to_string(tenant) + " AND created_at >= '" + format_db_time(from) +
                            "' AND created_at < '" + format_db_time(to) + "'";
  const std::string hint = " FROM messages FORCE INDEX (ix_messages_tenant_time) WHERE " + where;

  auto groups = std::async(std::launch::async, [&] {
    return run(*pool_, "statistics", [&](DbConnection& c, int) {
      Statistics s;
      auto rs = c.query(
          "SELECT channel, status, COALESCE(provider_instance, '') AS instance, COALESCE(cost_currency, '') AS "
          "currency, COUNT(*) AS n, COALESCE(SUM(cost_micros), 0) AS cost, SUM(attempts > 1) AS retried" + hint +
          " GROUP BY channel, status, instance, currency");
      while (rs->next()) {
        const std::string status = get_str(*rs, "status");
        const std::string instance = get_str(*rs, "instance");
        const std::string currency = get_str(*rs, "currency");
        const std::int64_t n = rs->getInt64("n");
        const std::int64_t retried = rs->getInt64("retried");
        s.total += n;
        s.by_channel[get_str(*rs, "channel")] += n;
        s.by_status[status] += n;
        if (!instance.empty()) s.by_provider[instance] += n;
        if (!currency.empty()) s.cost_micros_by_currency[currency] += rs->getInt64("cost");
        auto st = sdk::status_from_string(status).value_or(MessageStatus::failed);
        const bool success = st == MessageStatus::delivered || st == MessageStatus::read;
        if (is_final_outcome(st)) s.final_outcomes += n;
        if (success) s.successful += n;
        s.retried += retried;
        if (success) s.retried_successful += retried;
      }
      return s;
    });
  });
  auto percentiles = std::async(std::launch::async, [&] {
    return run(*pool_, "statistics", [&](DbConnection& c, int) {
      std::optional<std::pair<double, double>> out;
      auto rs = c.query(
          "SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY d) OVER () AS p50, "
          "PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY d) OVER () AS p95 FROM (SELECT "
          "TIMESTAMPDIFF(MICROSECOND, GREATEST(created_at, COALESCE(scheduled_at, created_at)), delivered_at) AS d" +
          hint +
          " AND delivered_at IS NOT NULL) AS t LIMIT 1");
      if (rs->next() && !rs->isNull("p50")) out = std::make_pair(rs->getDouble("p50"), rs->getDouble("p95"));
      return out;
    });
  });
  auto errors = std::async(std::launch::async, [&] {
    return run(*pool_, "statistics", [&](DbConnection& c, int) {
      std::vector<std::pair<std::string, std::int64_t>> out;
      auto rs = c.query("SELECT error_code, COUNT(*) AS n" + hint +
                        " AND error_code IS NOT NULL GROUP BY error_code ORDER BY n DESC, error_code LIMIT 10");
      while (rs->next()) out.emplace_back(get_str(*rs, "error_code"), rs->getInt64("n"));
      return out;
    });
  });

  auto g = groups.get();
  auto p = percentiles.get();
  auto e = errors.get();
  if (!g) return g.error();
  if (!p) return p.error();
  if (!e) return e.error();
  Statistics s = std::move(*g);
  s.from = from;
  s.to = to;
  if (s.final_outcomes > 0) s.success_rate = static_cast<double>(s.successful) / static_cast<double>(s.final_outcomes);
  if (s.retried > 0) s.retry_success_rate = static_cast<double>(s.retried_successful) / static_cast<double>(s.retried);
  if (*p) {
    s.median_delivery_seconds = (*p)->first / 1e6;
    s.p95_delivery_seconds = (*p)->second / 1e6;
  }
  s.top_errors = std::move(*e);
  return s;
}

Result<bool> MySqlStore::claim_job_run(const std::string& job, const std::string& node,
                                       std::optional<TimePoint> first_run, TimePoint next_run) {
  return run(*pool_, "claim job run", [&](DbConnection& c, int) {
    c.execute("INSERT IGNORE INTO jobs (name, next_run_at) VALUES (" + q(c, job) + ", " +
              (first_run ? "'" + format_db_time(*first_run) + "'" : std::string("UTC_TIMESTAMP(6)")) + ")");
    return c.update("UPDATE jobs SET next_run_at = '" + format_db_time(next_run) +
                    "', last_started_at = UTC_TIMESTAMP(6), last_node = " + q(c, truncate(node, 64)) +
                    " WHERE name = " + q(c, job) + " AND next_run_at <= UTC_TIMESTAMP(6)") == 1;
  });
}

Status MySqlStore::finish_job_run(const std::string& job, const std::string& result) {
  auto r = run(*pool_, "finish job run", [&](DbConnection& c, int) {
    c.execute("UPDATE jobs SET last_finished_at = UTC_TIMESTAMP(6), last_result = " + q(c, truncate(result, 1024)) +
              " WHERE name = " + q(c, job));
    return true;
  });
  if (!r) return r.error();
  return {};
}

Status MySqlStore::record_requested_run(const RequestedRun& asked) {
  auto r = run(*pool_, "record job run", [&](DbConnection& c, int) {
    c.execute("INSERT IGNORE INTO job_runs (id, job, node, requested_by, requested_at) VALUES (" +
              hex_literal(asked.id.raw()) + "," + q(c, truncate(asked.job, 64)) + "," +
              q(c, truncate(asked.node, 64)) + "," + q(c, truncate(asked.requested_by, 64)) + ",UTC_TIMESTAMP(6))");
    // The table keeps 30 days of runs, without a job of its own.
    c.execute("DELETE FROM job_runs WHERE requested_at < UTC_TIMESTAMP(6) - INTERVAL 30 DAY ORDER BY requested_at "
              "LIMIT 100");
    return true;
  });
  if (!r) return r.error();
  return {};
}

Status MySqlStore::finish_requested_run(const Uuid& id, const std::string& result) {
  auto r = run(*pool_, "finish job run", [&](DbConnection& c, int) {
    c.execute("UPDATE job_runs SET finished_at = UTC_TIMESTAMP(6), result = " + q(c, truncate(result, 1024)) +
              " WHERE id = " + hex_literal(id.raw()));
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<std::optional<JobStore::RequestedRun>> MySqlStore::find_requested_run(const Uuid& id) {
  return run(*pool_, "find job run", [&](DbConnection& c, int) -> std::optional<RequestedRun> {
    auto rs = c.query("SELECT job, node, requested_by, requested_at, finished_at, result FROM job_runs WHERE id = " +
                      hex_literal(id.raw()));
    if (!rs->next()) return std::nullopt;
    RequestedRun r;
    r.id = id;
    r.job = get_str(*rs, "job");
    r.node = get_str(*rs, "node");
    r.requested_by = get_str(*rs, "requested_by");
    r.requested_at = get_time(*rs, "requested_at").value_or(TimePoint{});
    r.finished_at = get_time(*rs, "finished_at");
    r.result = get_str(*rs, "result");
    return r;
  });
}

Result<std::vector<Message>> MySqlStore::messages_to_refresh(const std::string& instance, TimePoint since,
                                                             int limit) {
  return run(*pool_, "messages to refresh", [&](DbConnection& c, int) {
    std::vector<Message> out;
    c.begin();
    // NULL (never polled) sorts first.
    auto rs = c.query(std::string("SELECT ") + kMessageColumns +
                      " FROM messages WHERE status = 'sent' AND " + kAllLanes + " AND next_attempt_at >= '" +
                      format_db_time(since) +
                      "' AND provider_instance = " + q(c, instance) + " ORDER BY polled_at, next_attempt_at LIMIT " +
                      std::to_string(limit) + " FOR UPDATE SKIP LOCKED");
    while (rs->next()) out.push_back(read_message(c, *rs));
    if (!out.empty()) {
      std::vector<MessageId> ids;
      for (const auto& m : out) ids.push_back(m.id);
      c.execute("UPDATE messages SET polled_at = UTC_TIMESTAMP(6) WHERE id IN (" + id_list(ids) + ")");
    }
    c.commit();
    return out;
  });
}

Result<std::vector<Message>> MySqlStore::claim_cost_polls(const std::string& instance, TimePoint since, int limit,
                                                          int max_polls) {
  return run(*pool_, "claim cost polls", [&](DbConnection& c, int) {
    std::vector<Message> out;
    c.begin();
    for (const char* status : {"delivered", "read", "undelivered"}) {
      if (static_cast<int>(out.size()) >= limit) break;
      auto rs = c.query(std::string("SELECT ") + kMessageColumns + " FROM messages WHERE status = '" + status +
                        "' AND " + kAllLanes + " AND next_attempt_at >= '" + format_db_time(since) + "' AND provider_instance = " + q(c, instance) +
                        " AND cost_micros IS NULL AND cost_polls < " + std::to_string(max_polls) + " LIMIT " +
                        std::to_string(limit - static_cast<int>(out.size())) + " FOR UPDATE SKIP LOCKED");
      while (rs->next()) out.push_back(read_message(c, *rs));
    }
    if (!out.empty()) {
      std::vector<MessageId> ids;
      for (const auto& m : out) ids.push_back(m.id);
      c.execute("UPDATE messages SET cost_polls = cost_polls + 1 WHERE id IN (" + id_list(ids) + ")");
    }
    c.commit();
    return out;
  });
}

Result<int> MySqlStore::requeue_retryable_failures(TimePoint since, int max_attempts, int limit) {
  return run(*pool_, "requeue retryable failures", [&](DbConnection& c, int) {
    c.begin();
    std::vector<MessageId> ids;
    std::vector<MessageEventRow> events;
    Actor actor{"job:retry-sweep", "", ""};
    for (const char* status : {"failed", "undelivered"}) {
      auto rs = c.query(std::string("SELECT id, tenant_id, attempts, error_code FROM messages WHERE status = '") +
                        status + "' AND " + kAllLanes + " AND next_attempt_at >= '" + format_db_time(since) +
                        "' AND retryable = 1 AND body_redacted_at IS NULL AND (expires_at IS NULL OR expires_at > UTC_TIMESTAMP(6)) AND attempts < LEAST(max_attempts, " + std::to_string(max_attempts) +
                        ") LIMIT " + std::to_string(limit) + " FOR UPDATE SKIP LOCKED");
      while (rs->next()) {
        auto id = Uuid::from_bytes(rs->getString("id").asStdString());
        ids.push_back(id);
        events.push_back(message_event_row(
            c, id, static_cast<TenantId>(rs->getUInt("tenant_id")), "retry_requested", MessageStatus::queued,
            std::string("retry sweep: ") + status + " after attempt " + std::to_string(rs->getInt("attempts")) + " (" +
                get_str(*rs, "error_code") + ")",
            actor));
      }
    }
    if (!ids.empty())
      c.execute(
          "UPDATE messages SET status = 'queued', next_attempt_at = UTC_TIMESTAMP(6), failed_at = NULL, "
          "retryable = 0, updated_at = UTC_TIMESTAMP(6) WHERE id IN (" + id_list(ids) + ")");
    insert_message_events(c, events);
    c.commit();
    return static_cast<int>(ids.size());
  });
}

// The evidence of opt-outs still in force stays: rows about a number (or a
// recipient) that is opted out, by the recipient through a provider (tenant
// 0) or by the tenant's own preferences.
Result<int> MySqlStore::delete_audit_before(TenantId tenant, TimePoint cutoff, int limit) {
  return run(*pool_, "delete old audit entries", [&](DbConnection& c, int) {
    const std::string t = std::to_string(tenant);
    return static_cast<int>(c.update(
        "DELETE FROM audit_log WHERE tenant_id = " + t + " AND at < '" + format_db_time(cutoff) +
        "' AND NOT EXISTS (SELECT 1 FROM opt_outs o WHERE audit_log.subject = CONCAT('phone:', o.phone) "
        "AND o.tenant_id IN (0, " + t + ")) AND NOT EXISTS (SELECT 1 FROM recipient_preferences p WHERE "
        "p.tenant_id = " + t + " AND p.opted_out = 1 AND p.recipient_key = audit_log.subject) ORDER BY id "
        "LIMIT " + std::to_string(limit)));
  });
}

Result<int> MySqlStore::delete_usage_days_before(TimePoint cutoff, int limit) {
  return run(*pool_, "delete old usage days", [&](DbConnection& c, int) {
    return static_cast<int>(c.update("DELETE FROM tenant_usage WHERE period = 'd' AND period_start < '" +
                                     format_db_time(cutoff).substr(0, 10) + "' LIMIT " + std::to_string(limit)));
  });
}

Result<int> MySqlStore::delete_messages_before(TenantId tenant, TimePoint cutoff, int limit) {
  return run(*pool_, "delete old messages", [&](DbConnection& c, int) {
    c.begin();
    const std::string where =
        "tenant_id = " + std::to_string(tenant) + " AND created_at < '" + format_db_time(cutoff) + "'";
    // A message still waiting to go out (scheduled far ahead, or queued) is
    // kept whatever its age: retention is about what was sent, not what is due.
    std::vector<MessageId> ids;
    auto rs = c.query("SELECT id FROM messages WHERE " + where +
                      " AND status NOT IN ('scheduled', 'queued', 'sending') ORDER BY created_at LIMIT " +
                      std::to_string(limit) + " FOR UPDATE");
    while (rs->next()) ids.push_back(Uuid::from_bytes(rs->getString(1).asStdString()));
    if (!ids.empty()) {
      const std::string in = id_list(ids);
      c.execute("DELETE FROM message_events WHERE message_id IN (" + in + ")");
      c.execute("DELETE FROM messages WHERE id IN (" + in + ")");
    }
    // What the tenant's recipients wrote goes by the same rule.
    const auto inbound = c.update("DELETE FROM inbound_messages WHERE tenant_id = " + std::to_string(tenant) +
                                  " AND received_at < '" + format_db_time(cutoff) + "' ORDER BY received_at LIMIT " +
                                  std::to_string(limit));
    if (static_cast<int>(ids.size()) < limit && static_cast<int>(inbound) < limit) {
      // The last round for this tenant: old batches none of whose messages
      // are left go too.
      // The webhook outbox of the same age: events, deliveries, attempts.
      const std::string old_events = "e.tenant_id = " + std::to_string(tenant) + " AND e.occurred_at < '" +
                                     format_db_time(cutoff) + "'";
      c.execute("DELETE a FROM webhook_attempts a JOIN webhook_events e ON e.seq = a.event_seq WHERE " + old_events);
      c.execute("DELETE d FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq WHERE " + old_events);
      c.execute("DELETE e FROM webhook_events e WHERE " + old_events);
      c.execute("DELETE FROM batches WHERE " + where +
                " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.batch_id = batches.id) LIMIT " +
                std::to_string(limit));
    }
    c.commit();
    return static_cast<int>(ids.size() + inbound);
  });
}

Result<int> MySqlStore::delete_unassigned_inbound_before(TimePoint cutoff, int limit) {
  return run(*pool_, "delete old unassigned inbound", [&](DbConnection& c, int) {
    const auto n = c.update("DELETE FROM inbound_messages WHERE tenant_id IS NULL AND received_at < '" +
                            format_db_time(cutoff) + "' ORDER BY received_at LIMIT " + std::to_string(limit));
    return static_cast<int>(n);
  });
}

Result<int> MySqlStore::redact_messages_before(TenantId tenant, TimePoint cutoff, int limit) {
  return run(*pool_, "redact old messages", [&](DbConnection& c, int) {
    return static_cast<int>(c.update(
        "UPDATE messages SET " + std::string(kRedaction) + " WHERE tenant_id = " + std::to_string(tenant) +
        " AND created_at < '" + format_db_time(cutoff) + "' AND body_redacted_at IS NULL AND status IN (" +
        kFinalStatuses + ") ORDER BY created_at LIMIT " + std::to_string(limit)));
  });
}

Status MySqlStore::save_provider_health(const std::string& instance, const sdk::HealthReport& report,
                                        const std::string& node) {
  auto r = run(*pool_, "save provider health", [&](DbConnection& c, int) {
    c.execute("INSERT INTO provider_health (instance, state, detail, checked_at, checked_by) VALUES (" +
              q(c, instance) + ",'" + std::string(sdk::to_string(report.state)) + "'," +
              q(c, truncate(report.detail, 512)) + ",UTC_TIMESTAMP(6)," + q(c, truncate(node, 64)) +
              ") ON DUPLICATE KEY UPDATE state = VALUES(state), detail = VALUES(detail), "
              "checked_at = VALUES(checked_at), checked_by = VALUES(checked_by)");
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<std::map<std::string, Store::HealthRecord>> MySqlStore::provider_health() {
  return run(*pool_, "provider health", [&](DbConnection& c, int) {
    std::map<std::string, HealthRecord> out;
    auto rs = c.query("SELECT instance, state, detail, checked_at, checked_by FROM provider_health");
    while (rs->next()) {
      HealthRecord h;
      const std::string state = get_str(*rs, "state");
      h.report.state = state == "healthy"    ? sdk::HealthState::healthy
                       : state == "degraded" ? sdk::HealthState::degraded
                                             : sdk::HealthState::unhealthy;
      h.report.detail = get_str(*rs, "detail");
      h.checked_at = get_time(*rs, "checked_at").value_or(TimePoint{});
      h.checked_by = get_str(*rs, "checked_by");
      out[get_str(*rs, "instance")] = std::move(h);
    }
    return out;
  });
}

}  // namespace barid::core

namespace barid::core {

Result<MySqlStore::ResealBatch> MySqlStore::reseal(const std::string& table, const std::string& after, int limit) {
  const bool messages = table == "messages";
  if (!messages && table != "inbound_messages") return Error::invalid("table", "no sealed table " + table);
  if (!pool_->options().cipher)
    return Error::invalid("privacy.encryption", "no encryption key is configured (privacy.encryption)");
  return run(*pool_, "reseal", [&](DbConnection& c, int) {
    ResealBatch b;
    const ContentCipher* cipher = c.cipher();
    const bool numbers = numbers_sealed(c);
    const std::string key_col = messages ? "content_key" : "body_key";
    const std::string number_col = messages ? "recipient" : "from_phone";
    const std::string sealed_col = messages ? "recipient_sealed" : "from_sealed";
    const std::string number_name = messages ? "recipient" : "from";
    const std::string current = cipher->sealing_key_id();
    auto rs = c.query("SELECT id, " + key_col + " AS k, body, " + number_col + " AS number, " + sealed_col +
                      " AS sealed_number" +
                      std::string(messages ? ", template_variables, body_redacted_at IS NOT NULL AS erased" : "") +
                      " FROM " + table + " WHERE id > " + hex_literal(after) + " ORDER BY id LIMIT " +
                      std::to_string(limit));
    struct Row {
      Uuid id;
      std::string key, body, vars, number, sealed_number;
      bool erased = false;
    };
    std::vector<Row> rows;
    while (rs->next()) {
      Row r{Uuid::from_bytes(rs->getString("id").asStdString()), get_str(*rs, "k"), get_str(*rs, "body"),
            messages ? get_str(*rs, "template_variables") : std::string(), get_str(*rs, "number"),
            get_str(*rs, "sealed_number"), messages && rs->getInt("erased") != 0};
      b.last = r.id.raw();
      ++b.scanned;
      // Under another key, or (numbers sealed) a number still in clear.
      if (r.key != current || (numbers && r.sealed_number.empty())) rows.push_back(std::move(r));
    }
    for (auto& r : rows) {
      std::string error;
      const std::string body = open_column(c, r.key, table, "body", r.id, r.body, error);
      const std::string vars = messages ? open_column(c, r.key, table, "template_variables", r.id, r.vars, error)
                                        : std::string();
      const std::string number = r.sealed_number.empty()
                                     ? r.number
                                     : open_column(c, r.key, table, number_name, r.id, r.sealed_number, error);
      if (!error.empty()) {
        ++b.failed;
        if (b.first_error.empty()) b.first_error = r.id.str() + ": " + error;
        continue;
      }
      // Only if nothing changed it meanwhile (erased, or re-sealed by
      // another run): the key it was read with is still the row's.
      std::string sql = "UPDATE " + table + " SET body = " + q(c, seal_column(c, table, "body", r.id, body));
      if (messages)
        sql += ", template_variables = " +
               (r.vars.empty() ? std::string("NULL") : q(c, seal_column(c, table, "template_variables", r.id, vars)));
      if (numbers)
        sql += ", " + number_col + " = " + q(c, number_key(c, number)) + ", " + sealed_col + " = " +
               sealed_number_sql(c, table, number_name, r.id, number);
      else if (!r.sealed_number.empty())  // numbers no longer sealed: the copy is kept, under the new key
        sql += ", " + sealed_col + " = " + q(c, seal_column(c, table, number_name, r.id, number));
      sql += ", " + key_col + " = " + q(c, current) + " WHERE id = " + hex_literal(r.id.raw()) + " AND " + key_col +
             (r.key.empty() ? " IS NULL" : " = " + q(c, r.key));
      if (messages && !r.erased) sql += " AND body_redacted_at IS NULL";
      b.resealed += static_cast<int>(c.update(sql));
    }
    return b;
  });
}

Result<int> MySqlStore::reseal_numbers(int limit) {
  if (!pool_->options().cipher)
    return Error::invalid("privacy.encryption", "no encryption key is configured (privacy.encryption)");
  return run(*pool_, "reseal numbers", [&](DbConnection& c, int) {
    int n = 0;
    const std::string lim = " LIMIT " + std::to_string(limit);
    // Sealed copies of numbers in the outbox under another key.
    {
      struct Sealed {
        std::string seq, key, value;
        Uuid id;
      };
      std::vector<Sealed> old;
      auto rs = c.query("SELECT seq, id, phone_key, phone_sealed FROM webhook_events WHERE phone_key IS NOT NULL AND "
                        "phone_key <> " + q(c, c.cipher()->sealing_key_id()) + lim);
      while (rs->next())
        old.push_back({get_str(*rs, "seq"), get_str(*rs, "phone_key"), get_str(*rs, "phone_sealed"),
                       Uuid::from_bytes(rs->getString("id").asStdString())});
      for (const auto& e : old) {
        std::string error;
        const std::string phone = open_column(c, e.key, "webhook_events", "phone", e.id, e.value, error);
        if (!error.empty()) continue;  // left under its key; rotate-key's counts show it
        c.execute("UPDATE webhook_events SET phone_sealed = " +
                  q(c, seal_column(c, "webhook_events", "phone", e.id, phone)) + ", phone_key = " +
                  sealing_key_sql(c) + " WHERE seq = " + e.seq + " AND phone_key = " + q(c, e.key));
        ++n;
      }
    }
    if (!numbers_sealed(c)) return n;
    // Opt-outs: the hashed row wins over a clear one of the same key.
    std::vector<std::string> phones;
    auto rs = c.query("SELECT DISTINCT phone FROM opt_outs WHERE phone LIKE '+%'" + lim);
    while (rs->next()) phones.push_back(get_str(*rs, "phone"));
    for (const auto& p : phones) {
      c.execute("UPDATE IGNORE opt_outs SET phone = " + q(c, number_key(c, p)) + " WHERE phone = " + q(c, p));
      c.execute("DELETE FROM opt_outs WHERE phone = " + q(c, p));
      ++n;
    }
    // Preferences: the number, and the key when it is a number's.
    struct Pref {
      std::string tenant, key, phone;
    };
    std::vector<Pref> prefs;
    rs = c.query("SELECT tenant_id, recipient_key, phone FROM recipient_preferences WHERE recipient_key LIKE "
                 "'phone:+%' OR phone LIKE '+%'" + lim);
    while (rs->next())
      prefs.push_back({std::to_string(rs->getUInt("tenant_id")), get_str(*rs, "recipient_key"), get_str(*rs, "phone")});
    for (const auto& p : prefs) {
      const std::string key =
          p.key.rfind("phone:+", 0) == 0 ? "phone:" + number_key(c, p.key.substr(6)) : p.key;
      const std::string where = " WHERE tenant_id = " + p.tenant + " AND recipient_key = " + q(c, p.key);
      c.execute("UPDATE IGNORE recipient_preferences SET recipient_key = " + q(c, key) + ", phone = " +
                q_or_null(c, number_key(c, p.phone)) + where);
      if (key != p.key) c.execute("DELETE FROM recipient_preferences" + where);
      ++n;
    }
    // The outbox: a sealed copy instead of the number.
    std::vector<std::pair<std::string, std::string>> events;  // seq, phone
    std::vector<Uuid> event_ids;
    rs = c.query("SELECT seq, id, phone FROM webhook_events WHERE phone IS NOT NULL" + lim);
    while (rs->next()) {
      events.emplace_back(get_str(*rs, "seq"), get_str(*rs, "phone"));
      event_ids.push_back(Uuid::from_bytes(rs->getString("id").asStdString()));
    }
    for (std::size_t i = 0; i < events.size(); ++i) {
      c.execute("UPDATE webhook_events SET phone = NULL, phone_sealed = " +
                sealed_number_sql(c, "webhook_events", "phone", event_ids[i], events[i].second) +
                ", phone_key = " + sealing_key_sql(c) + " WHERE seq = " + events[i].first);
      ++n;
    }
    // Audit subjects.
    std::vector<std::string> subjects;
    rs = c.query("SELECT DISTINCT subject FROM audit_log WHERE subject LIKE 'phone:+%'" + lim);
    while (rs->next()) subjects.push_back(get_str(*rs, "subject"));
    for (const auto& sub : subjects) {
      c.execute("UPDATE audit_log SET subject = " + q(c, "phone:" + number_key(c, sub.substr(6))) +
                " WHERE subject = " + q(c, sub));
      ++n;
    }
    return n;
  });
}

Result<std::map<std::string, std::map<std::string, long long>>> MySqlStore::sealed_counts() {
  return run(*pool_, "sealed counts", [&](DbConnection& c, int) {
    std::map<std::string, std::map<std::string, long long>> out;
    for (const auto& [table, col] : {std::pair<std::string, std::string>{"messages", "content_key"},
                                     std::pair<std::string, std::string>{"inbound_messages", "body_key"},
                                     std::pair<std::string, std::string>{"webhook_events", "phone_key"}}) {
      // Erased messages count too: with numbers sealed, their number is.
      auto rs = c.query("SELECT " + col + " AS k, COUNT(*) AS n FROM " + table +
                        (table == "webhook_events" ? " WHERE phone_sealed IS NOT NULL" : "") + " GROUP BY " + col);
      auto& counts = out[table];
      while (rs->next()) counts[get_str(*rs, "k")] = rs->getInt64("n");
    }
    return out;
  });
}

}  // namespace barid::core
