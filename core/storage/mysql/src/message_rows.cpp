// Reading rows of messages and inbound_messages (see message_rows.hpp).
// Storing accepted messages is in mysql_store.cpp and mysql_store_usage.cpp.

#include "message_rows.hpp"

#include "sealing.hpp"
#include "sql_helpers.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace barid::core::mysql::message_rows {

using namespace sql_helpers;
using namespace sealing;

Message read_message(DbConnection& c, sql::ResultSet& rs) {
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

InboundRecord read_inbound(DbConnection& c, sql::ResultSet& rs) {
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

}  // namespace barid::core::mysql::message_rows
