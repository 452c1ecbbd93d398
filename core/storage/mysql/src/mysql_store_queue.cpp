// MySqlStore as the dispatcher's queue: claims by priority under leases,
// send slots shared by every node (provider_pace), outcomes written only by
// the lease's owner.

#include <barid/core/mysql_store.hpp>

#include "message_rows.hpp"
#include "outbox.hpp"
#include "sql_helpers.hpp"

#include <barid/core/log.hpp>
#include <barid/core/tenant_policy.hpp>

#include <algorithm>
#include <map>
#include <unordered_map>

namespace barid::core {

using mysql::DbConnection;
using namespace mysql::sql_helpers;
using namespace mysql::outbox;
using namespace mysql::message_rows;
using namespace std::chrono;

namespace {

TimePoint db_now(DbConnection& c) {
  auto rs = c.query("SELECT UTC_TIMESTAMP(6)");
  if (!rs->next()) throw std::runtime_error("the database did not tell its time");
  auto t = parse_db_time(rs->getString(1).asStdString());
  if (!t) throw std::runtime_error("the database's time could not be read");
  return *t;
}

PaceSlots& load_pace(DbConnection& c, std::map<std::string, PaceSlots>& paces, const PacedRoute& route,
                     TimePoint now) {
  auto it = paces.find(route.instance);
  if (it != paces.end()) return it->second;
  c.execute("INSERT IGNORE INTO provider_pace (instance, next_slot_at) VALUES (" + q(c, route.instance) + ", '" +
            format_db_time(now) + "')");
  auto rs = c.query("SELECT next_slot_at FROM provider_pace WHERE instance = " + q(c, route.instance) + " FOR UPDATE");
  std::optional<TimePoint> next_free;
  if (rs->next()) next_free = parse_db_time(rs->getString(1).asStdString());
  return paces.emplace(route.instance, PaceSlots::open(next_free, now, route.rate, route.burst)).first->second;
}

// One outcome, written only while `owner` holds the lease of that attempt;
// true when it changed the row (then its event is added to `events`).
// `minimal` leaves out everything the provider said but the decision: the
// fallback for a row whose values the database refused.
bool record_one(DbConnection& c, const std::string& owner, const AttemptResult& a, bool minimal,
                std::vector<MessageEventRow>& events) {
  const AttemptDecision d = decide_attempt(a, minimal);
  const TimestampMoves& t = d.timestamps;
  std::string sets;  // ", column = value" for every column but the status
  auto assign = [&sets](std::string_view column, const std::string& value) {
    if (!value.empty()) sets += ", " + std::string(column) + " = " + value;
  };
  assign("failed_at", stamp_sql("failed_at", t.failed_at));
  if (t.next_attempt_in) assign("next_attempt_at", next_attempt_sql(*t.next_attempt_in));
  if (d.retryable) assign("retryable", *d.retryable ? "1" : "0");
  if (d.records_instance) assign("provider_instance", q_or_null(c, truncate(a.provider_instance, 64)));
  assign("sent_at", stamp_sql("sent_at", t.sent_at));
  if (d.provider_message_id) assign("provider_message_id", q_or_null(c, *d.provider_message_id));
  // The sender really used, for the replies (inbound_tenant).
  if (!d.sender.empty()) assign("sender", q(c, d.sender));
  if (d.segments > 0) assign("segments", std::to_string(d.segments));
  if (d.cost) {
    assign("cost_micros", std::to_string(d.cost->micros));
    assign("cost_currency", q(c, d.cost->currency));
  }
  assign("delivered_at", stamp_sql("delivered_at", t.delivered_at));
  assign("read_at", stamp_sql("read_at", t.read_at));
  if (d.error) {
    assign("error_code", q_or_null(c, d.error->code));
    assign("error_message", q_or_null(c, d.error->message));
  }
  if (!d.status_reason.empty()) assign("status_reason", q(c, d.status_reason));
  if (d.give_back_attempt) assign("attempts", "GREATEST(attempts, 1) - 1");
  sets += ", lease_owner = NULL, lease_expires_at = NULL, updated_at = UTC_TIMESTAMP(6)";
  const std::string where = " WHERE id = " + hex_literal(a.id.raw()) + " AND lease_owner = " + q(c, owner) +
                            " AND attempts = " + std::to_string(a.attempt);
  const Actor actor{"dispatcher", "", ""};
  if (c.update("UPDATE messages SET status = " + status_sql(d.status) + sets + where + " AND status = 'sending'") > 0) {
    events.push_back(message_event_row(c, a.id, a.tenant_id, d.event, d.discard_content, actor));
    return true;
  }
  if (d.guard == AttemptDecision::Guard::requires_sending) return false;
  // A delivery report came first: its status stays, and it announced
  // message.sent already, so this event goes without it. (One statement
  // more, only then.)
  if (c.update("UPDATE messages SET" + sets.substr(1) + where) == 0) return false;
  EventToWrite event = d.event;
  event.webhook_event.clear();
  events.push_back(message_event_row(c, a.id, a.tenant_id, event, d.discard_content, actor));
  return true;
}

}  // namespace

Result<Claim> MySqlStore::claim_due(const ClaimRequest& req) {
  if (req.limit <= 0 || !req.route) return Claim{};
  const PacedRoute first = req.route(1);
  if (first.instance.empty()) return Claim{};
  return run(*pool_, "claim due messages", [&](DbConnection& c, int) {
    Claim out;
    c.begin();
    const TimePoint now = db_now(c);
    const std::string now_sql = "'" + format_db_time(now) + "'";
    std::map<std::string, PaceSlots> paces;

    // How many the first instance can send within the horizon.
    int allowance = req.limit;
    if (first.rate > 0) {
      allowance = load_pace(c, paces, first, now).allowance(now, req.horizon, req.limit, out.room_in);
      if (allowance == 0) {
        c.commit();
        return out;
      }
    }

    struct Picked {
      MessageId id;
      int attempts = 0;
    };
    std::map<TenantId, int> shares;
    std::vector<Picked> picked;
    std::vector<MessageId> expired;
    std::vector<MessageEventRow> events;
    const Actor actor{"dispatcher", "", ""};
    const std::string channel(sdk::to_string(req.channel));
    auto tenant_list = [](const std::vector<TenantId>& ids) {
      std::string s;
      for (auto t : ids) s += (s.empty() ? "" : ",") + std::to_string(t);
      return s;
    };
    std::string whose;
    if (!req.only_tenants.empty()) whose += " AND t.id IN (" + tenant_list(req.only_tenants) + ")";
    if (!req.except_tenants.empty()) whose += " AND t.id NOT IN (" + tenant_list(req.except_tenants) + ")";
    // High before normal before low. Within one priority the tenants with due
    // messages take turns (TenantTurns, `share` slots each), each tenant's
    // messages oldest due first, scheduled or queued alike.
    for (int priority = 0; priority <= 2; ++priority) {
      if (allowance - static_cast<int>(picked.size()) <= 0) break;
      const std::string in_lane = " AND channel = '" + channel + "' AND priority = " + std::to_string(priority);
      auto first_due = [&](const char* status) {
        return std::string("(SELECT next_attempt_at FROM messages WHERE status = '") + status + "'" + in_lane +
               " AND tenant_id = t.id ORDER BY next_attempt_at LIMIT 1)";
      };
      // Who has due messages here: one look-up in ix_messages_turns per
      // tenant and status, made only when anything at all is due.
      auto rs = c.query("SELECT t.id, JSON_VALUE(t.policy, '$.share') AS share, " + first_due("scheduled") +
                        " AS scheduled_due, " + first_due("queued") +
                        " AS queued_due FROM tenants t WHERE t.suspended_at IS NULL" + whose +
                        " AND EXISTS (SELECT 1 FROM messages WHERE status IN ('scheduled', 'queued')" + in_lane +
                        " AND next_attempt_at <= " + now_sql + ") HAVING scheduled_due <= " + now_sql +
                        " OR queued_due <= " + now_sql + " ORDER BY t.id");
      std::vector<TenantTurns::Tenant> tenants;
      std::map<TenantId, std::vector<const char*>> statuses;
      while (rs->next()) {
        const auto id = static_cast<TenantId>(rs->getUInt("id"));
        int share = 1;
        if (!rs->isNull("share")) share = std::clamp(std::atoi(rs->getString("share").c_str()), 1, kMaxShare);
        for (const char* status : {"scheduled", "queued"}) {
          const std::string column = std::string(status) + "_due";
          if (rs->isNull(column)) continue;
          if (auto due = parse_db_time(rs->getString(column).asStdString()); due && *due <= now)
            statuses[id].push_back(status);
        }
        if (statuses[id].empty()) continue;
        tenants.push_back({id, share});
        shares[id] = share;
      }
      if (tenants.empty()) continue;
      const std::string key = first.instance + "/" + channel + "/" + std::to_string(priority);
      TenantTurns::Cursor cursor;
      {
        std::lock_guard lock(turns_mutex_);
        cursor = turns_[key];
      }
      // What this claim took of each tenant: still `queued` or `scheduled`
      // until the claim's UPDATE, and locked by this transaction, so a later
      // read would find it again.
      std::map<TenantId, std::vector<MessageId>> taken;
      while (!tenants.empty()) {
        const int want = allowance - static_cast<int>(picked.size());
        if (want <= 0) break;
        const std::vector<TenantId> turns = TenantTurns::deal(tenants, want, cursor);
        std::map<TenantId, int> asked;
        for (auto t : turns) ++asked[t];
        // Each tenant's oldest due messages, in one statement.
        std::string sql;
        for (const auto& [tenant, n] : asked)
          for (const char* status : statuses[tenant])
            sql += std::string(sql.empty() ? "" : " UNION ALL ") +
                   "(SELECT id, tenant_id, attempts, next_attempt_at, expires_at IS NOT NULL AND expires_at <= " +
                   now_sql + " AS expired FROM messages WHERE status = '" + status + "'" + in_lane +
                   " AND tenant_id = " + std::to_string(tenant) + " AND next_attempt_at <= " + now_sql +
                   (taken[tenant].empty() ? std::string() : " AND id NOT IN (" + id_list(taken[tenant]) + ")") +
                   " ORDER BY next_attempt_at LIMIT " + std::to_string(n) + " FOR UPDATE SKIP LOCKED)";
        struct Row {
          MessageId id;
          int attempts = 0;
          std::string due;
          bool expired = false;
        };
        std::map<TenantId, std::vector<Row>> rows;
        auto found = c.query(sql);
        while (found->next())
          rows[static_cast<TenantId>(found->getUInt("tenant_id"))].push_back(
              {Uuid::from_bytes(found->getString("id").asStdString()), found->getInt("attempts"),
               found->getString("next_attempt_at").asStdString(), found->getBoolean("expired")});
        // A tenant with fewer than its turns has no more (or another node
        // holds them): the others take the turns left.
        std::vector<TenantTurns::Tenant> more;
        for (const auto& t : tenants) {
          auto& mine = rows[t.id];
          std::stable_sort(mine.begin(), mine.end(), [](const Row& a, const Row& b) { return a.due < b.due; });
          if (auto n = asked.find(t.id); n == asked.end() || static_cast<int>(mine.size()) >= n->second)
            more.push_back(t);
          if (auto n = asked.find(t.id); n != asked.end() && static_cast<int>(mine.size()) > n->second)
            mine.resize(static_cast<std::size_t>(n->second));  // the later status's extra rows wait
        }
        tenants = std::move(more);
        std::map<TenantId, std::size_t> next;
        std::vector<MessageId> ended;
        for (auto tenant : turns) {
          auto& mine = rows[tenant];
          for (std::size_t& k = next[tenant]; k < mine.size();) {
            const Row& r = mine[k++];
            if (!r.expired) {
              picked.push_back({r.id, r.attempts});
              taken[tenant].push_back(r.id);
              break;
            }
            ended.push_back(r.id);
            events.push_back(message_event_row(c, r.id, tenant, "expired", MessageStatus::expired,
                                               "validity ended before a provider could take it", actor));
          }
        }
        if (!ended.empty()) {
          // Out of the range at once, so the next read finds the rest.
          c.execute("UPDATE messages SET status = 'expired', status_reason = 'validity ended before it was sent', "
                    "next_attempt_at = " + now_sql + ", updated_at = " + now_sql + " WHERE id IN (" +
                    id_list(ended) + ")");
          expired.insert(expired.end(), ended.begin(), ended.end());
        }
      }
      std::lock_guard lock(turns_mutex_);
      turns_[key] = cursor;
    }
    out.expired = static_cast<int>(expired.size());

    // A send slot for each, on the instance its attempt goes to.
    std::unordered_map<MessageId, std::pair<std::string, TimePoint>, UuidHash> slots;
    std::vector<MessageId> ids;
    for (const auto& p : picked) {
      const PacedRoute route = req.route(p.attempts + 1);
      if (route.instance.empty()) continue;  // nothing serves this attempt: it stays queued
      TimePoint at = now;
      if (route.rate > 0) {
        PaceSlots& pace = load_pace(c, paces, route, now);
        at = pace.slot(pace.taken++);
      }
      slots[p.id] = {route.instance, at};
      ids.push_back(p.id);
    }
    for (const auto& [instance, pace] : paces)
      if (pace.taken > 0)
        c.execute("UPDATE provider_pace SET next_slot_at = '" + format_db_time(pace.next_free()) +
                  "' WHERE instance = " + q(c, instance));
    insert_message_events(c, events);
    if (ids.empty()) {
      c.commit();
      return out;
    }
    const std::string in = id_list(ids);
    c.execute("UPDATE messages SET status = 'sending', attempts = attempts + 1, lease_owner = " +
              q(c, truncate(req.owner, 64)) + ", lease_expires_at = " + now_sql + " + INTERVAL " +
              std::to_string(duration_cast<microseconds>(req.lease).count()) + " MICROSECOND, updated_at = " +
              now_sql + " WHERE id IN (" + in + ")");
    auto rs = c.query(std::string("SELECT ") + kMessageColumns + " FROM messages WHERE id IN (" + in + ")");
    while (rs->next()) {
      ClaimedMessage m;
      m.message = read_message(c, *rs);
      const auto& [instance, at] = slots[m.message.id];
      m.instance = instance;
      m.send_at = std::max(microseconds(0), duration_cast<microseconds>(at - now));
      if (m.message.expires_at) m.expires_in = duration_cast<microseconds>(*m.message.expires_at - now);
      if (auto sh = shares.find(m.message.tenant_id); sh != shares.end()) m.share = sh->second;
      out.messages.push_back(std::move(m));
    }
    c.commit();
    // In the order they were picked (priority first), not the IN list's.
    std::unordered_map<MessageId, std::size_t, UuidHash> order;
    for (std::size_t i = 0; i < ids.size(); ++i) order[ids[i]] = i;
    std::sort(out.messages.begin(), out.messages.end(), [&](const ClaimedMessage& a, const ClaimedMessage& b) {
      return order[a.message.id] < order[b.message.id];
    });
    return out;
  });
}

Result<int> MySqlStore::record_attempts(const std::string& owner, const std::vector<AttemptResult>& results) {
  if (results.empty()) return 0;
  auto all = run(*pool_, "record attempts", [&](DbConnection& c, int) {
    std::vector<MessageEventRow> events;
    int lost = 0;
    c.begin();
    for (const auto& a : results)
      if (!record_one(c, owner, a, false, events)) ++lost;
    insert_message_events(c, events);
    c.commit();
    return lost;
  });
  if (all || all.error().kind == ErrorKind::unavailable) return all;

  // Something in the batch was refused: one outcome at a time, so that the
  // others are recorded; one refused again is recorded without what the
  // provider said.
  log_warn("store", "recording " + std::to_string(results.size()) + " outcomes one by one: " + all.error().message);
  int lost = 0;
  for (const auto& a : results) {
    Result<int> one = Error::internal("not tried");
    for (bool minimal : {false, true}) {
      one = run(*pool_, "record one attempt", [&](DbConnection& c, int) {
        std::vector<MessageEventRow> events;
        c.begin();
        const int dropped = record_one(c, owner, a, minimal, events) ? 0 : 1;
        insert_message_events(c, events);
        c.commit();
        return dropped;
      });
      if (one || one.error().kind == ErrorKind::unavailable) break;
    }
    if (!one) {
      if (one.error().kind == ErrorKind::unavailable) return one.error();
      // Its lease expires and the message is tried again.
      log_error("store", "cannot record the outcome of message " + a.id.str() + ": " + one.error().message);
      continue;
    }
    lost += *one;
  }
  return lost;
}

Status MySqlStore::release(const std::string& owner, const std::vector<MessageId>& ids) {
  if (ids.empty()) return {};
  auto r = run(*pool_, "release leases", [&](DbConnection& c, int) {
    c.execute(
        "UPDATE messages SET status = 'queued', attempts = GREATEST(attempts, 1) - 1, lease_owner = NULL, "
        "lease_expires_at = NULL, next_attempt_at = UTC_TIMESTAMP(6), updated_at = UTC_TIMESTAMP(6) "
        "WHERE status = 'sending' AND lease_owner = " + q(c, owner) + " AND id IN (" + id_list(ids) + ")");
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<int> MySqlStore::requeue_expired_leases(int limit, int max_attempts_slack) {
  return run(*pool_, "requeue expired leases", [&](DbConnection& c, int) {
    c.begin();
    auto rs = c.query(
        "SELECT id, tenant_id, attempts, max_attempts, lease_owner FROM messages WHERE status = 'sending' "
        "AND lease_expires_at < UTC_TIMESTAMP(6) LIMIT " + std::to_string(limit) + " FOR UPDATE SKIP LOCKED");
    std::vector<MessageId> requeue, give_up;
    std::vector<MessageEventRow> events;
    Actor actor{"dispatcher", "", ""};
    while (rs->next()) {
      auto id = Uuid::from_bytes(rs->getString("id").asStdString());
      auto tenant = static_cast<TenantId>(rs->getUInt("tenant_id"));
      const int attempts = rs->getInt("attempts");
      const int max_attempts = rs->getInt("max_attempts");
      const std::string owner = get_str(*rs, "lease_owner");
      if (attempts >= max_attempts + max_attempts_slack) {
        give_up.push_back(id);
        events.push_back(message_event_row(c, id, tenant, "failed", MessageStatus::failed,
                                           "lease of " + owner + " expired after attempt " +
                                               std::to_string(attempts) + "; giving up",
                                           actor));
      } else {
        requeue.push_back(id);
        events.push_back(message_event_row(c, id, tenant, "lease_expired", MessageStatus::queued,
                                           "lease of " + owner + " expired during attempt " +
                                               std::to_string(attempts) + "; back in the queue",
                                           actor));
      }
    }
    if (!requeue.empty())
      c.execute(
          "UPDATE messages SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, "
          "next_attempt_at = UTC_TIMESTAMP(6), updated_at = UTC_TIMESTAMP(6) WHERE id IN (" + id_list(requeue) + ")");
    if (!give_up.empty())
      c.execute(
          "UPDATE messages SET status = 'failed', failed_at = UTC_TIMESTAMP(6), next_attempt_at = UTC_TIMESTAMP(6), "
          "lease_owner = NULL, lease_expires_at = NULL, error_code = 'LEASE-EXPIRED', error_message = 'the gateway node sending it "
          "stopped repeatedly', updated_at = UTC_TIMESTAMP(6) WHERE id IN (" + id_list(give_up) + ")");
    insert_message_events(c, events);
    c.commit();
    return static_cast<int>(requeue.size() + give_up.size());
  });
}

}  // namespace barid::core
