// The event outbox of the MySQL store (see outbox.hpp).

#include "outbox.hpp"

#include "sealing.hpp"
#include "sql_helpers.hpp"

#include <barid/core/segments.hpp>

#include <algorithm>
#include <set>

namespace barid::core::mysql::outbox {

using namespace sql_helpers;
using namespace sealing;

void write_outbox(DbConnection& c, const std::vector<NewWebhookEvent>& events) {
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

MessageEventRow message_event_row(DbConnection& c, const MessageId& id, TenantId tenant, const EventToWrite& event,
                                  bool discard_content, const Actor& actor) {
  std::string row = "(" + hex_literal(id.raw()) + "," + std::to_string(tenant) + ",UTC_TIMESTAMP(6)," +
                    q(c, event.type) + "," + (event.status ? status_sql(*event.status) : "NULL") + "," +
                    q(c, truncate(to_valid_utf8(event.detail), 1024)) + "," +
                    q(c, truncate(to_valid_utf8(actor.actor), 64)) + "," +
                    q(c, truncate(to_valid_utf8(actor.ip), 45)) + "," +
                    q(c, truncate(to_valid_utf8(actor.user_agent), 255)) + ")";
  return MessageEventRow{std::move(row), id, tenant, event.status, event.webhook_event, discard_content, {}};
}

MessageEventRow message_event_row(DbConnection& c, const MessageId& id, TenantId tenant, std::string_view type,
                                  std::optional<MessageStatus> status, std::string_view detail, const Actor& actor) {
  return message_event_row(c, id, tenant, event_to_write(std::string(type), status, std::string(detail)),
                           status && ends_content(*status), actor);
}

void insert_message_events(DbConnection& c, const std::vector<MessageEventRow>& rows) {
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
  std::vector<NewWebhookEvent> webhook_events;
  for (const auto& r : rows) {
    if (!r.webhook_event_first.empty())
      webhook_events.push_back(
          NewWebhookEvent{r.tenant, r.webhook_event_first, r.id, MessageStatus::sent, {}, std::nullopt, {}, {}});
    if (r.webhook_event.empty()) continue;
    webhook_events.push_back(NewWebhookEvent{r.tenant, r.webhook_event, r.id, r.status, {}, std::nullopt, {}, {}});
  }
  write_outbox(c, webhook_events);
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

}  // namespace barid::core::mysql::outbox
