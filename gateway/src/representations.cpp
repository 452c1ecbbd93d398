#include "representations.hpp"

#include <cstdio>

namespace barid::gateway {

using nlohmann::json;

namespace {
json time_or_null(const std::optional<core::TimePoint>& t) {
  return t ? json(core::format_iso8601(*t)) : json(nullptr);
}
json text_or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }
}  // namespace

json message_json(const core::Message& m, bool with_body) {
  json j;
  j["id"] = m.id.str();
  j["status"] = std::string(sdk::to_string(m.status));
  j["status_reason"] = text_or_null(m.status_reason);
  j["channel"] = std::string(sdk::to_string(m.channel));
  j["to"] = m.to;
  j["from"] = text_or_null(m.from);
  if (with_body) {
    // Erased (content_retention, redact_after_days), or sealed with a key
    // that cannot open it: null, and why.
    j["body"] = (m.body_redacted_at || !m.content_error.empty()) ? json(nullptr) : json(m.body);
    j["body_redacted_at"] = time_or_null(m.body_redacted_at);
    if (!m.content_error.empty()) j["body_error"] = m.content_error;
  }
  j["content_retention"] = m.discard_content ? "discard" : "retain";
  j["segments"] = m.segments;
  j["encoding"] = std::string(core::to_string(m.encoding));
  j["attempts"] = m.attempts;
  j["max_attempts"] = m.max_attempts;
  j["provider"] = m.provider_instance.empty()
                      ? json(nullptr)
                      : json{{"instance", m.provider_instance}, {"message_id", text_or_null(m.provider_message_id)}};
  j["cost"] = m.cost ? json{{"amount", money_text(m.cost->micros)}, {"currency", m.cost->currency}} : json(nullptr);
  j["error"] = (m.error_code.empty() && m.error_message.empty())
                   ? json(nullptr)
                   : json{{"code", text_or_null(m.error_code)}, {"message", text_or_null(m.error_message)}};
  j["reference"] = text_or_null(m.reference);
  j["recipient_id"] = text_or_null(m.recipient_id);
  j["category"] = text_or_null(m.category);
  j["batch_id"] = m.batch_id ? json(m.batch_id->str()) : json(nullptr);
  j["template"] = m.template_code.empty() ? json(nullptr)
                                          : json{{"code", m.template_code}, {"language", text_or_null(m.language)}};
  // The variables are part of what the message says: shown with the body.
  j["provider_template"] = m.provider_template.empty() ? json(nullptr)
                           : with_body ? json{{"id", m.provider_template}, {"variables", m.template_variables}}
                                       : json{{"id", m.provider_template}};
  j["idempotency_key"] = text_or_null(m.idempotency_key);
  j["created_at"] = core::format_iso8601(m.created_at);
  j["scheduled_at"] = time_or_null(m.scheduled_at);
  j["priority"] = std::string(core::to_string(m.priority));
  j["expires_at"] = time_or_null(m.expires_at);
  j["sent_at"] = time_or_null(m.sent_at);
  j["delivered_at"] = time_or_null(m.delivered_at);
  j["read_at"] = time_or_null(m.read_at);
  j["failed_at"] = time_or_null(m.failed_at);
  j["updated_at"] = core::format_iso8601(m.updated_at);
  // The answers it expects (as normalised) until replies_until, and the
  // latest that answered it.
  j["replies"] = m.replies.empty() ? json(nullptr) : json(m.replies);
  j["replies_until"] = time_or_null(m.replies_until);
  j["reply"] = m.reply_intent.empty() ? json(nullptr)
                                      : json{{"intent", m.reply_intent}, {"at", time_or_null(m.replied_at)}};
  return j;
}

json event_json(const core::MessageEvent& e) {
  json j;
  j["id"] = e.id;
  j["at"] = core::format_iso8601(e.at);
  j["type"] = e.type;
  j["status"] = e.status ? json(std::string(sdk::to_string(*e.status))) : json(nullptr);
  j["detail"] = e.detail;
  j["actor"] = e.actor.actor;
  j["ip"] = text_or_null(e.actor.ip);
  j["user_agent"] = text_or_null(e.actor.user_agent);
  return j;
}

json Problem::body() const {
  json j{{"type", type}, {"title", title}, {"status", status}, {"detail", detail}};
  if (!field.empty()) j["field"] = field;
  return j;
}

Problem problem(int status, std::string type, std::string title, std::string detail, std::string field) {
  return Problem{status, "urn:barid:problem:" + type, std::move(title), std::move(detail), std::move(field)};
}

Problem problem_for(const core::Error& e) {
  switch (e.kind) {
    case core::ErrorKind::invalid:
      return problem(422, "invalid-field", "The request has an invalid field", e.message, e.field);
    case core::ErrorKind::not_found:
      return problem(404, "not-found", "Not found", e.message);
    case core::ErrorKind::conflict:
      return problem(409, "conflict", "The request conflicts with the resource's state", e.message);
    case core::ErrorKind::unavailable:
      // The cause (a database's or library's text) goes to the log only.
      return problem(503, "unavailable", "Temporarily unavailable",
                     "the gateway cannot complete this request now; try again shortly (the log names the cause under "
                     "this request_id)");
    case core::ErrorKind::quota:
      return problem(429, "quota-exceeded", "Quota reached", e.message);
    case core::ErrorKind::spend_cap:
      return problem(402, "spend-cap-reached", "Spend cap reached", e.message);
    case core::ErrorKind::internal:
      break;
  }
  return problem(500, "internal", "Internal error", "the gateway failed to handle the request (the log names the cause under this request_id)");
}

}  // namespace barid::gateway
