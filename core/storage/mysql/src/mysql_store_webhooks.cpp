// MySqlStore: event webhooks: endpoints, and the deliveries of the outbox
// (the events themselves are written by write_outbox, outbox.cpp, in the
// transactions of the changes they describe).

#include <barid/core/mysql_store.hpp>

#include "message_rows.hpp"
#include "sealing.hpp"
#include "sql_helpers.hpp"

#include <barid/core/log.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

namespace barid::core {

using namespace mysql::sql_helpers;
using namespace mysql::sealing;
using namespace mysql::message_rows;

namespace {

constexpr const char* kEndpointColumns =
    "w.id, w.tenant_id, w.url, w.description, w.events, w.include_body, w.secret, w.previous_secret, "
    "w.previous_secret_until, w.disabled_at, w.disabled_reason, w.failing_since, w.created_at, w.updated_at";

std::string events_text(const std::set<std::string>& events) {
  return join(std::vector<std::string>(events.begin(), events.end()));
}

WebhookEndpoint read_endpoint(sql::ResultSet& rs) {
  WebhookEndpoint w;
  w.id = Uuid::from_bytes(rs.getString("id").asStdString());
  w.tenant_id = static_cast<TenantId>(rs.getUInt("tenant_id"));
  w.url = get_str(rs, "url");
  w.description = get_str(rs, "description");
  for (auto& e : split(get_str(rs, "events"))) w.events.insert(std::move(e));
  w.include_body = rs.getInt("include_body") != 0;
  w.secret = get_str(rs, "secret");
  w.previous_secret = get_str(rs, "previous_secret");
  w.previous_secret_until = get_time(rs, "previous_secret_until");
  w.disabled_at = get_time(rs, "disabled_at");
  w.disabled_reason = get_str(rs, "disabled_reason");
  w.failing_since = get_time(rs, "failing_since");
  w.created_at = get_time(rs, "created_at").value_or(TimePoint{});
  w.updated_at = get_time(rs, "updated_at").value_or(TimePoint{});
  return w;
}

WebhookEvent read_event(DbConnection& c, sql::ResultSet& rs) {
  WebhookEvent e;
  e.seq = static_cast<std::int64_t>(rs.getUInt64("seq"));
  e.id = Uuid::from_bytes(rs.getString("event_id").asStdString());
  e.tenant_id = static_cast<TenantId>(rs.getUInt("event_tenant"));
  e.type = get_str(rs, "type");
  if (!rs.isNull("event_message")) e.message_id = Uuid::from_bytes(rs.getString("event_message").asStdString());
  if (!rs.isNull("event_status")) e.status = sdk::status_from_string(get_str(rs, "event_status"));
  e.detail = get_str(rs, "detail");
  if (!rs.isNull("inbound_id")) e.inbound_id = Uuid::from_bytes(rs.getString("inbound_id").asStdString());
  if (rs.isNull("phone_sealed")) {
    e.phone = get_str(rs, "phone");
  } else {
    // A number sealed (privacy.encryption.numbers); one that does not open
    // is left out rather than shown as whatever it reads as.
    std::string error;
    e.phone = open_column(c, get_str(rs, "phone_key"), "webhook_events", "phone", e.id, get_str(rs, "phone_sealed"),
                          error);
    if (!error.empty()) log_warn("webhooks", "event " + e.id.str() + ": " + error);
  }
  e.channel = get_str(rs, "channel");
  e.occurred_at = get_time(rs, "occurred_at").value_or(TimePoint{});
  return e;
}

// What the claimed events describe: their messages and inbound messages,
// one query each for the whole claim, each of its event's tenant.
void read_subjects(DbConnection& c, std::vector<WebhookDelivery>& deliveries) {
  std::set<std::string> message_ids, inbound_ids;
  for (const auto& d : deliveries) {
    if (d.event.message_id) message_ids.insert(d.event.message_id->raw());
    if (d.event.inbound_id) inbound_ids.insert(d.event.inbound_id->raw());
  }
  auto in_list = [](const std::set<std::string>& ids) {
    std::string out;
    for (const auto& id : ids) out += std::string(out.empty() ? "" : ",") + hex_literal(id);
    return out;
  };
  std::map<std::string, std::shared_ptr<const Message>> messages;
  std::map<std::string, std::shared_ptr<const InboundRecord>> inbound;
  if (!message_ids.empty()) {
    auto rs = c.query(std::string("SELECT ") + kMessageColumns + " FROM messages WHERE id IN (" + in_list(message_ids) +
                      ")");
    while (rs->next()) {
      auto m = std::make_shared<Message>(read_message(c, *rs));
      messages.emplace(m->id.raw(), std::move(m));
    }
  }
  if (!inbound_ids.empty()) {
    auto rs = c.query(std::string("SELECT ") + kInboundColumns + " FROM inbound_messages WHERE id IN (" +
                      in_list(inbound_ids) + ")");
    while (rs->next()) {
      auto r = std::make_shared<InboundRecord>(read_inbound(c, *rs));
      inbound.emplace(r->id.raw(), std::move(r));
    }
  }
  for (auto& d : deliveries) {
    if (d.event.message_id)
      if (auto it = messages.find(d.event.message_id->raw()); it != messages.end() && it->second->tenant_id == d.event.tenant_id)
        d.message = it->second;
    if (d.event.inbound_id)
      if (auto it = inbound.find(d.event.inbound_id->raw());
          it != inbound.end() && it->second->tenant_id == std::optional<TenantId>(d.event.tenant_id))
        d.inbound = it->second;
  }
}

// Where these keys are, as index ranges: `(endpoint_id = E AND event_seq
// IN (...)) OR ...`, per endpoint. (A row constructor, `(event_seq,
// endpoint_id) IN ((..))`, makes MariaDB scan the table when it has one
// element.)
std::string keys_in(const std::vector<WebhookDeliveryKey>& keys, std::size_t from, std::size_t to,
                    const std::string& table = "") {
  std::map<Uuid, std::string> seqs;
  for (std::size_t i = from; i < to; ++i) {
    std::string& list = seqs[keys[i].endpoint];
    list += std::string(list.empty() ? "" : ",") + std::to_string(keys[i].event_seq);
  }
  std::string out;
  for (const auto& [endpoint, list] : seqs)
    out += std::string(out.empty() ? "" : " OR ") + "(" + table + "endpoint_id = " + hex_literal(endpoint.raw()) +
           " AND " + table + "event_seq IN (" + list + "))";
  return "(" + out + ")";
}

constexpr std::size_t kKeysPerStatement = 500;

}  // namespace

Status MySqlStore::add_webhook(const WebhookEndpoint& w) {
  auto r = run(*pool_, "add webhook", [&](DbConnection& c, int) {
    c.execute("INSERT INTO webhook_endpoints (id, tenant_id, url, description, events, include_body, secret, "
              "created_at, updated_at) VALUES (" +
              hex_literal(w.id.raw()) + "," + std::to_string(w.tenant_id) + "," + q(c, w.url) + "," +
              q(c, w.description) + "," + q(c, events_text(w.events)) + "," + (w.include_body ? "1" : "0") + "," +
              q(c, w.secret) + ",UTC_TIMESTAMP(6),UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE id = id");
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<std::vector<WebhookEndpoint>> MySqlStore::list_webhooks(TenantId tenant) {
  return run(*pool_, "list webhooks", [&](DbConnection& c, int) {
    std::vector<WebhookEndpoint> out;
    auto rs = c.query(std::string("SELECT ") + kEndpointColumns + " FROM webhook_endpoints w WHERE w.tenant_id = " +
                      std::to_string(tenant) + " ORDER BY w.created_at, w.id");
    while (rs->next()) out.push_back(read_endpoint(*rs));
    return out;
  });
}

Result<std::optional<WebhookEndpoint>> MySqlStore::find_webhook(TenantId tenant, const Uuid& id) {
  return run(*pool_, "find webhook", [&](DbConnection& c, int) -> std::optional<WebhookEndpoint> {
    auto rs = c.query(std::string("SELECT ") + kEndpointColumns + " FROM webhook_endpoints w WHERE w.id = " +
                      hex_literal(id.raw()) + " AND w.tenant_id = " + std::to_string(tenant));
    if (!rs->next()) return std::nullopt;
    return read_endpoint(*rs);
  });
}

Result<bool> MySqlStore::update_webhook(const WebhookEndpoint& w, std::optional<bool> enabled) {
  return run(*pool_, "update webhook", [&](DbConnection& c, int) {
    std::string disabled;
    if (enabled && *enabled)
      disabled = ", disabled_at = NULL, disabled_reason = NULL, failing_since = NULL";
    else if (enabled)
      disabled = ", disabled_at = COALESCE(disabled_at, UTC_TIMESTAMP(6)), disabled_reason = COALESCE(disabled_reason, " +
                 q(c, truncate(w.disabled_reason, 255)) + ")";
    return c.update("UPDATE webhook_endpoints SET url = " + q(c, w.url) + ", description = " + q(c, w.description) +
                    ", events = " + q(c, events_text(w.events)) + ", include_body = " + (w.include_body ? "1" : "0") +
                    disabled + ", updated_at = UTC_TIMESTAMP(6) WHERE id = " + hex_literal(w.id.raw()) +
                    " AND tenant_id = " + std::to_string(w.tenant_id)) > 0;
  });
}

Result<bool> MySqlStore::delete_webhook(TenantId tenant, const Uuid& id) {
  return run(*pool_, "delete webhook", [&](DbConnection& c, int) {
    c.begin();
    const std::string where = "endpoint_id = " + hex_literal(id.raw()) + " AND tenant_id = " + std::to_string(tenant);
    const auto n = c.update("DELETE FROM webhook_endpoints WHERE id = " + hex_literal(id.raw()) +
                            " AND tenant_id = " + std::to_string(tenant));
    if (n > 0) {
      c.execute("DELETE FROM webhook_deliveries WHERE " + where);
      c.execute("DELETE FROM webhook_attempts WHERE " + where);
    }
    c.commit();
    return n > 0;
  });
}

Result<bool> MySqlStore::rotate_webhook_secret(TenantId tenant, const Uuid& id, const std::string& secret,
                                               TimePoint previous_until) {
  return run(*pool_, "rotate webhook secret", [&](DbConnection& c, int) {
    return c.update("UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = '" +
                    format_db_time(previous_until) + "', secret = " + q(c, secret) +
                    ", updated_at = UTC_TIMESTAMP(6) WHERE id = " + hex_literal(id.raw()) +
                    " AND tenant_id = " + std::to_string(tenant)) > 0;
  });
}

Result<std::vector<WebhookDelivery>> MySqlStore::claim_webhook_deliveries(const std::string& owner,
                                                                          const WebhookClaim& claim) {
  return run(*pool_, "claim webhook deliveries", [&](DbConnection& c, int) {
    std::vector<WebhookDelivery> out;
    const int limit = std::max(1, claim.limit);
    const int per_endpoint = std::max(1, claim.per_endpoint);
    auto room_of = [&](const std::string& raw) {
      auto it = claim.room.find(Uuid::from_bytes(raw));
      return it == claim.room.end() ? per_endpoint : it->second;
    };
    c.begin();
    // The enabled endpoints with something due, the one whose oldest due
    // delivery has waited longest first, but those the node has no room
    // for: one index dive per endpoint (ORDER BY ... LIMIT 1 on
    // ix_webhook_deliveries_endpoint_due), however long the backlogs. The
    // endpoints are read plainly (joining them in the locking read would
    // lock their rows, and every other claim would skip all of a busy
    // endpoint's deliveries).
    std::string excluded;
    for (const auto& [id, n] : claim.room)
      if (n <= 0) excluded += std::string(excluded.empty() ? "" : ",") + hex_literal(id.raw());
    std::vector<std::string> endpoints;
    auto due = c.query(
        "SELECT w.id, (SELECT d.next_attempt_at FROM webhook_deliveries d WHERE d.status = 'pending' AND "
        "d.endpoint_id = w.id ORDER BY d.next_attempt_at LIMIT 1) AS oldest FROM webhook_endpoints w WHERE "
        "w.disabled_at IS NULL" + (excluded.empty() ? std::string() : " AND w.id NOT IN (" + excluded + ")") +
        " HAVING oldest <= UTC_TIMESTAMP(6) ORDER BY oldest");
    while (due->next()) endpoints.push_back(due->getString(1).asStdString());
    // A message's events go to an endpoint in order, and a node gets them
    // as a chain that it sends one after the other. For each endpoint, its
    // due deliveries not leased, oldest due first, up to its room; of those,
    // one is kept when every earlier event of its message still pending for
    // the endpoint is kept too or is held by this node (a plain read, which
    // sees the rows others hold and those backing off). When fewer than
    // half are kept although the room was filled (the oldest due are events
    // waiting behind an earlier one that is due later, as a retried
    // message.sent is behind its message.delivered), the heads are read
    // too: those with no earlier event pending but this node's, a subquery
    // per row read, so that such events never fill every claim. Endpoints are read
    // until there are enough of them to fill the claim with one each.
    struct Candidate {
      std::int64_t seq;
      std::string message;  // raw bytes, or empty
    };
    std::vector<std::pair<std::string, std::vector<Candidate>>> per;  // endpoint (raw bytes), its candidates
    const std::string mine_sql = q(c, truncate(owner, 64));
    const std::string due_and_free =
        " AND d.next_attempt_at <= UTC_TIMESTAMP(6) AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= "
        "UTC_TIMESTAMP(6))";
    auto read_candidates = [&](sql::ResultSet& rs) {
      std::vector<Candidate> found;
      while (rs.next())
        found.push_back({static_cast<std::int64_t>(rs.getUInt64(1)),
                         rs.isNull(2) ? std::string() : rs.getString(2).asStdString()});
      return found;
    };
    for (const auto& e : endpoints) {
      if (per.size() >= static_cast<std::size_t>(limit)) break;
      const int room = std::min(room_of(e), limit);
      if (room <= 0) continue;
      const std::string head = "SELECT d.event_seq, d.message_id FROM webhook_deliveries d WHERE d.status = 'pending' "
                               "AND d.endpoint_id = " + hex_literal(e) + due_and_free;
      const std::string order = " ORDER BY d.next_attempt_at, d.event_seq LIMIT " + std::to_string(room) +
                                " FOR UPDATE SKIP LOCKED";
      auto candidates = read_candidates(*c.query(head + order));
      if (candidates.empty()) continue;
      std::set<std::string> messages;
      for (const auto& k : candidates)
        if (!k.message.empty()) messages.insert(k.message);
      // message -> its pending seqs, in order, and whether this node holds each
      std::map<std::string, std::vector<std::pair<std::int64_t, bool>>> pending;
      if (!messages.empty()) {
        std::string list;
        for (const auto& m : messages) list += std::string(list.empty() ? "" : ",") + hex_literal(m);
        auto rs = c.query("SELECT message_id, event_seq, lease_owner <=> " + mine_sql +
                          " AND IFNULL(lease_expires_at > UTC_TIMESTAMP(6), 0) FROM webhook_deliveries WHERE "
                          "endpoint_id = " + hex_literal(e) + " AND message_id IN (" + list +
                          ") AND status = 'pending' ORDER BY message_id, event_seq");
        while (rs->next())
          pending[rs->getString(1).asStdString()].emplace_back(static_cast<std::int64_t>(rs->getUInt64(2)),
                                                               rs->getInt(3) != 0);
      }
      std::vector<Candidate> by_seq = candidates;
      std::sort(by_seq.begin(), by_seq.end(), [](const Candidate& x, const Candidate& y) { return x.seq < y.seq; });
      std::set<std::int64_t> kept;
      for (const auto& k : by_seq) {
        bool in_order = true;
        if (!k.message.empty())
          for (const auto& [seq, held_here] : pending[k.message]) {
            if (seq >= k.seq) break;
            if (!held_here && !kept.count(seq)) in_order = false;
          }
        if (in_order) kept.insert(k.seq);
      }
      std::vector<Candidate> mine;
      for (auto& k : candidates)
        if (kept.count(k.seq)) mine.push_back(std::move(k));
      if (static_cast<int>(mine.size()) * 2 < room && static_cast<int>(candidates.size()) >= room) {
        for (auto& k : read_candidates(*c.query(
                 head + " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id AND "
                        "p.message_id = d.message_id AND p.event_seq < d.event_seq AND p.status = 'pending' AND NOT "
                        "(p.lease_owner <=> " + mine_sql + " AND IFNULL(p.lease_expires_at > UTC_TIMESTAMP(6), 0)))" +
                 order)))
          if (static_cast<int>(mine.size()) < room && kept.insert(k.seq).second) mine.push_back(std::move(k));
      }
      if (!mine.empty()) per.emplace_back(e, std::move(mine));
    }
    if (per.empty()) {
      c.commit();
      return out;
    }
    // In turn: the first of each endpoint, then the second of each, ...
    std::vector<WebhookDeliveryKey> keys;
    for (std::size_t round = 0; static_cast<int>(keys.size()) < limit; ++round) {
      bool any = false;
      for (const auto& [e, mine] : per) {
        if (round >= mine.size() || static_cast<int>(keys.size()) >= limit) continue;
        any = true;
        keys.push_back({mine[round].seq, Uuid::from_bytes(e)});
      }
      if (!any) break;
    }
    if (keys.empty()) {
      c.commit();
      return out;
    }
    const std::string where = keys_in(keys, 0, keys.size());
    c.execute("UPDATE webhook_deliveries SET attempts = attempts + 1, lease_owner = " + q(c, truncate(owner, 64)) +
              ", lease_expires_at = UTC_TIMESTAMP(6) + INTERVAL " +
              std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(claim.lease).count()) +
              " MICROSECOND WHERE " + where);
    auto rows = c.query(
        std::string("SELECT d.attempts, d.created_at AS delivery_created, e.seq, e.id AS event_id, e.tenant_id AS "
                    "event_tenant, e.type, e.message_id AS event_message, e.status AS event_status, e.detail, "
                    "e.inbound_id, e.phone, e.phone_sealed, e.phone_key, e.channel, e.occurred_at, ") +
        kEndpointColumns +
        " FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq JOIN webhook_endpoints w ON "
        "w.id = d.endpoint_id WHERE " + keys_in(keys, 0, keys.size(), "d.") + " ORDER BY d.event_seq");
    while (rows->next()) {
      WebhookDelivery d;
      d.attempts = rows->getInt("attempts");
      d.created_at = get_time(*rows, "delivery_created").value_or(TimePoint{});
      d.event = read_event(c, *rows);
      d.endpoint = read_endpoint(*rows);
      out.push_back(std::move(d));
    }
    c.commit();
    read_subjects(c, out);
    return out;
  });
}

Result<int> MySqlStore::extend_webhook_leases(const std::string& owner, const std::vector<WebhookDeliveryKey>& keys,
                                              std::chrono::milliseconds lease) {
  if (keys.empty()) return 0;
  return run(*pool_, "extend webhook leases", [&](DbConnection& c, int) {
    int held = 0;
    for (std::size_t from = 0; from < keys.size(); from += kKeysPerStatement)
      held += static_cast<int>(c.update(
          "UPDATE webhook_deliveries SET lease_expires_at = UTC_TIMESTAMP(6) + INTERVAL " +
          std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(lease).count()) +
          " MICROSECOND WHERE " + keys_in(keys, from, std::min(keys.size(), from + kKeysPerStatement)) +
          " AND status = 'pending' AND lease_owner = " + q(c, truncate(owner, 64))));
    return held;
  });
}

Status MySqlStore::release_webhook_deliveries(const std::string& owner, const std::vector<WebhookDeliveryKey>& keys) {
  if (keys.empty()) return {};
  auto r = run(*pool_, "release webhook deliveries", [&](DbConnection& c, int) {
    for (std::size_t from = 0; from < keys.size(); from += kKeysPerStatement)
      c.execute("UPDATE webhook_deliveries SET lease_owner = NULL, lease_expires_at = NULL, attempts = "
                "GREATEST(attempts, 1) - 1 WHERE " +
                keys_in(keys, from, std::min(keys.size(), from + kKeysPerStatement)) +
                " AND status = 'pending' AND lease_owner = " + q(c, truncate(owner, 64)));
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<int> MySqlStore::end_webhook_leases_of(const std::string& owner) {
  return run(*pool_, "end webhook leases", [&](DbConnection& c, int) {
    return static_cast<int>(c.update("UPDATE webhook_deliveries SET lease_owner = NULL, lease_expires_at = NULL WHERE "
                                     "status = 'pending' AND lease_owner = " + q(c, truncate(owner, 64))));
  });
}

Status MySqlStore::finish_webhook_deliveries(const std::vector<WebhookDelivery>& deliveries,
                                             const std::vector<WebhookAttemptOutcome>& outcomes) {
  if (deliveries.empty() || deliveries.size() != outcomes.size()) return {};
  auto r = run(*pool_, "finish webhook deliveries", [&](DbConnection& c, int) {
    c.begin();
    std::string attempts;
    // Per endpoint: did the batch deliver one (the endpoint works), the last
    // reason to disable it, and the endpoint as the answer that gave it saw
    // it (updated_at when the delivery was claimed).
    struct Seen {
      bool delivered = false;
      std::string disable_reason;
      TimePoint as_of{};
    };
    std::map<std::string, Seen> endpoints;
    // The deliveries that end the same way, updated together (a batch that
    // all went well is one statement): what they set, their keys.
    std::map<std::string, std::vector<WebhookDeliveryKey>> same;
    for (std::size_t i = 0; i < deliveries.size(); ++i) {
      const WebhookDelivery& d = deliveries[i];
      const WebhookAttemptOutcome& o = outcomes[i];
      const std::string code = o.status_code > 0 ? std::to_string(o.status_code) : std::string("NULL");
      const std::string error = q_or_null(c, truncate(to_valid_utf8(o.error), 512));
      std::string next;
      if (o.delivered)
        next = "status = 'delivered', delivered_at = UTC_TIMESTAMP(6)";
      else if (o.next_attempt_at)
        next = "next_attempt_at = '" + format_db_time(*o.next_attempt_at) + "'";
      else
        next = "status = 'failed'";
      same[next + ", lease_owner = NULL, lease_expires_at = NULL, last_status_code = " + code + ", last_error = " + error]
          .push_back({d.event.seq, d.endpoint.id});
      attempts += std::string(attempts.empty() ? "" : ",") + "(" + hex_literal(d.endpoint.id.raw()) + "," +
                  std::to_string(d.endpoint.tenant_id) + "," + std::to_string(d.event.seq) + ",UTC_TIMESTAMP(6)," +
                  code + "," + std::to_string(std::max<long long>(0, o.latency.count())) + "," + error + "," +
                  (o.delivered ? "1" : "0") + ")";
      if (o.skipped) continue;
      auto& e = endpoints[d.endpoint.id.raw()];
      e.delivered = e.delivered || o.delivered;
      if (!o.disable_reason.empty()) {
        e.disable_reason = o.disable_reason;
        e.as_of = d.endpoint.updated_at;
      }
    }
    for (const auto& [set, keys] : same)
      for (std::size_t from = 0; from < keys.size(); from += kKeysPerStatement)
        c.execute("UPDATE webhook_deliveries SET " + set + " WHERE " +
                  keys_in(keys, from, std::min(keys.size(), from + kKeysPerStatement)));
    c.execute("INSERT INTO webhook_attempts (endpoint_id, tenant_id, event_seq, at, status_code, latency_ms, error, "
              "delivered) VALUES " + attempts);
    for (const auto& [raw, e] : endpoints) {
      const std::string endpoint = "id = " + hex_literal(raw);
      if (e.delivered)
        c.execute("UPDATE webhook_endpoints SET failing_since = NULL WHERE " + endpoint +
                  " AND failing_since IS NOT NULL");
      else
        c.execute("UPDATE webhook_endpoints SET failing_since = UTC_TIMESTAMP(6) WHERE " + endpoint +
                  " AND failing_since IS NULL");
      // An answer to the endpoint as it was before a change since (enabled
      // again, say, while the answer waited for its record) disables
      // nothing: the endpoint as it is now has not answered yet.
      if (!e.disable_reason.empty())
        c.execute("UPDATE webhook_endpoints SET disabled_at = COALESCE(disabled_at, UTC_TIMESTAMP(6)), "
                  "disabled_reason = " + q(c, truncate(e.disable_reason, 255)) + ", updated_at = UTC_TIMESTAMP(6) WHERE " +
                  endpoint + " AND disabled_at IS NULL" +
                  (e.as_of == TimePoint{} ? std::string() : " AND updated_at <= '" + format_db_time(e.as_of) + "'"));
    }
    c.commit();
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<std::vector<WebhookAttempt>> MySqlStore::list_webhook_attempts(TenantId tenant, const Uuid& endpoint,
                                                                      int limit, std::optional<std::int64_t> before) {
  return run(*pool_, "list webhook attempts", [&](DbConnection& c, int) {
    std::vector<WebhookAttempt> out;
    auto rs = c.query("SELECT a.id, a.at, a.status_code, a.latency_ms, a.error, a.delivered, e.id AS event_id, "
                      "e.type FROM webhook_attempts a JOIN webhook_events e ON e.seq = a.event_seq WHERE "
                      "a.endpoint_id = " + hex_literal(endpoint.raw()) + " AND a.tenant_id = " +
                      std::to_string(tenant) + (before ? " AND a.id < " + std::to_string(*before) : std::string()) +
                      " ORDER BY a.id DESC LIMIT " + std::to_string(std::clamp(limit, 1, 1000)));
    while (rs->next()) {
      WebhookAttempt a;
      a.id = static_cast<std::int64_t>(rs->getUInt64("id"));
      a.at = get_time(*rs, "at").value_or(TimePoint{});
      a.status_code = rs->isNull("status_code") ? 0 : rs->getInt("status_code");
      a.latency_ms = rs->getInt("latency_ms");
      a.error = get_str(*rs, "error");
      a.delivered = rs->getInt("delivered") != 0;
      a.event_id = Uuid::from_bytes(rs->getString("event_id").asStdString());
      a.type = get_str(*rs, "type");
      out.push_back(std::move(a));
    }
    return out;
  });
}

Result<WebhookReplay> MySqlStore::replay_webhook_events(TenantId tenant, const Uuid& endpoint, TimePoint since,
                                                       int limit) {
  struct Done {
    bool busy = false;
    WebhookReplay replay;
  };
  auto r = run(*pool_, "replay webhook events", [&](DbConnection& c, int) {
    Done done;
    c.begin();
    // One replay of an endpoint at a time: its row locked, then none of
    // what the previous one queued may still be pending.
    auto mine = c.query("SELECT id FROM webhook_endpoints WHERE id = " + hex_literal(endpoint.raw()) +
                        " AND tenant_id = " + std::to_string(tenant) + " FOR UPDATE");
    if (!mine->next()) {
      c.commit();
      return done;
    }
    auto pending = c.query("SELECT 1 FROM webhook_deliveries WHERE status = 'pending' AND endpoint_id = " +
                           hex_literal(endpoint.raw()) + " AND replayed = 1 LIMIT 1");
    if (pending->next()) {
      c.commit();
      done.busy = true;
      return done;
    }
    const std::string wanted =
        " FROM webhook_events e JOIN webhook_endpoints w ON w.tenant_id = e.tenant_id AND w.id = " +
        hex_literal(endpoint.raw()) + " AND (w.events = '' OR FIND_IN_SET(e.type, w.events) > 0) WHERE e.tenant_id = " +
        std::to_string(tenant) + " AND e.occurred_at >= '" + format_db_time(since) + "'";
    // The earliest `limit` of them (by time, then seq): the first left out
    // is where a later replay continues.
    std::string bound;
    auto cut = c.query("SELECT e.seq, e.occurred_at" + wanted + " ORDER BY e.occurred_at, e.seq LIMIT 1 OFFSET " +
                       std::to_string(std::max(1, limit)));
    if (cut->next()) {
      const auto at = get_time(*cut, "occurred_at").value_or(TimePoint{});
      done.replay.next_since = at;
      bound = " AND (e.occurred_at, e.seq) < ('" + format_db_time(at) + "', " + std::to_string(cut->getUInt64(1)) + ")";
    }
    // Pending again, from now: those delivered or given up, and new ones for
    // the events it never had a delivery of (it did not exist, or was
    // disabled, or did not want the type then).
    c.execute("INSERT INTO webhook_deliveries (event_seq, endpoint_id, tenant_id, message_id, status, attempts, "
              "next_attempt_at, created_at, replayed) SELECT e.seq, w.id, e.tenant_id, e.message_id, 'pending', 0, "
              "UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), 1" + wanted + bound +
              " ON DUPLICATE KEY UPDATE status = 'pending', attempts = 0, next_attempt_at = UTC_TIMESTAMP(6), "
              "created_at = UTC_TIMESTAMP(6), replayed = 1");
    // MariaDB counts an updated duplicate twice and an unchanged one not at
    // all; the events are what the caller wants counted.
    auto rs = c.query("SELECT COUNT(*)" + wanted + bound);
    done.replay.replayed = rs->next() ? rs->getInt(1) : 0;
    c.commit();
    return done;
  });
  if (!r) return r.error();
  if (r->busy)
    return Error::conflict("the previous replay of this endpoint is still pending: replay again once its events are "
                           "delivered or given up");
  return r->replay;
}

}  // namespace barid::core
