#include <barid/core/message_transitions.hpp>

#include <barid/core/log.hpp>
#include <barid/core/segments.hpp>
#include <barid/core/time.hpp>
#include <barid/core/webhooks.hpp>

#include <algorithm>
#include <iomanip>
#include <sstream>

namespace barid::core {

bool ends_content(MessageStatus s) noexcept { return s == MessageStatus::delivered || is_terminal(s); }

bool provider_reportable(MessageStatus s) noexcept {
  return s == MessageStatus::sent || s == MessageStatus::delivered || s == MessageStatus::read ||
         s == MessageStatus::undelivered || s == MessageStatus::failed;
}

EventToWrite event_to_write(std::string type, std::optional<MessageStatus> status, std::string detail) {
  std::string webhook = status ? webhook_event_for(*status) : std::string();
  return EventToWrite{std::move(type), status, std::move(detail), std::move(webhook)};
}

ReportDecision decide_report(MessageStatus current, const sdk::StatusUpdate& report, std::string_view instance) {
  ReportDecision d;
  d.status = current;
  const MessageStatus to = report.status;
  const std::string from_text(sdk::to_string(current));
  const std::string to_text(sdk::to_string(to));
  const std::string source = "report from " + std::string(instance);
  if (current == to) {
    d.kind = ReportDecision::Kind::repeat;
    return d;
  }
  if (!provider_reportable(to) || !can_transition(current, to)) {
    d.kind = ReportDecision::Kind::ignored;
    d.event = event_to_write("report_ignored", std::nullopt,
                             source + " of '" + to_text + "' ignored: the message is " + from_text);
    return d;
  }
  d.kind = ReportDecision::Kind::applied;
  d.status = to;
  if (to == MessageStatus::delivered || to == MessageStatus::read) d.timestamps.delivered_at = Stamp::now_unless_set;
  if (to == MessageStatus::read) d.timestamps.read_at = Stamp::now_unless_set;
  if (to == MessageStatus::failed || to == MessageStatus::undelivered) {
    d.timestamps.failed_at = Stamp::now_unless_set;
    d.timestamps.next_attempt_in = std::chrono::milliseconds(0);
    d.error = RecordedError{truncate_utf8(report.error.code, 32),
                            truncate_utf8(mask_phone_numbers(report.error.message), 512)};
    d.retryable = report.retryable;
  }
  std::string detail = source + ": " + from_text + " -> " + to_text;
  if (!report.error.code.empty() || !report.error.message.empty())
    detail += " (" + report.error.code +
              (report.error.message.empty() ? "" : ": " + mask_phone_numbers(report.error.message)) + ")";
  d.event = event_to_write(to_text, to, std::move(detail));
  if (current == MessageStatus::sending && to != MessageStatus::sent)
    d.webhook_event_first = webhook_event_for(MessageStatus::sent);
  d.discard_content = ends_content(to);
  return d;
}

namespace {

std::string money_detail(const std::optional<sdk::Money>& m) {
  if (!m) return {};
  std::ostringstream s;
  s << ", cost " << m->micros / 1000000 << "." << std::setw(6) << std::setfill('0') << (m->micros % 1000000)
    << " " << m->currency;
  return s.str();
}

bool iso_currency(const std::string& currency) {
  return currency.size() == 3 &&
         std::all_of(currency.begin(), currency.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
}

}  // namespace

AttemptDecision decide_attempt(const AttemptResult& a, bool minimal) {
  using Decision = AttemptResult::Decision;
  AttemptDecision d;
  const std::string attempt = "attempt " + std::to_string(a.attempt) + " via " + a.provider_instance;
  const RecordedError error{truncate_utf8(to_valid_utf8(a.error.code), 32),
                            minimal ? std::string()
                                    : truncate_utf8(mask_phone_numbers(to_valid_utf8(a.error.message)), 512)};
  const std::string err = error.code.empty() ? error.message : error.code + ": " + error.message;
  const std::string why = a.detail.empty() ? std::string() : " (" + a.detail + ")";
  std::string type, detail;
  switch (a.decision) {
    case Decision::sent: {
      d.status = a.status;
      d.guard = AttemptDecision::Guard::status_moves_from_sending;
      d.records_instance = true;
      d.timestamps.next_attempt_in = std::chrono::milliseconds(0);
      d.timestamps.sent_at = Stamp::now_unless_set;
      std::string note;
      std::string id = minimal ? std::string() : a.provider_message_id;
      if (id.size() > kProviderIdMaxBytes || !is_valid_utf8(id)) {
        note = "; the provider's id (" + std::to_string(id.size()) + " bytes) could not be stored";
        id.clear();
      }
      // The sender really used, for the replies (inbound_tenant).
      if (!a.sender.empty()) d.sender = truncate_utf8(to_valid_utf8(a.sender), 64);
      if (a.segments > 0) d.segments = std::min(a.segments, kSegmentsMax);
      if (!minimal && a.cost) {
        if (iso_currency(a.cost->currency))
          d.cost = a.cost;
        else
          note += "; the provider's cost currency is not an ISO 4217 code";
      }
      if (a.status == MessageStatus::delivered || a.status == MessageStatus::read)
        d.timestamps.delivered_at = Stamp::now_unless_set;
      if (a.status == MessageStatus::read) d.timestamps.read_at = Stamp::now_unless_set;
      d.error = RecordedError{};
      type = "sent";
      detail = attempt + ": accepted as " + (id.empty() ? "(no id)" : id) + money_detail(d.cost) + note;
      d.provider_message_id = std::move(id);
      break;
    }
    case Decision::retry:
      d.status = MessageStatus::queued;
      d.records_instance = true;
      d.timestamps.next_attempt_in = a.retry_in;
      d.error = error;
      type = "retry_scheduled";
      detail = attempt + ": " + err + "; next attempt in " + std::to_string(a.retry_in.count()) + " ms" + why;
      break;
    case Decision::failed:
      d.status = MessageStatus::failed;
      d.records_instance = true;
      d.timestamps.failed_at = Stamp::now;
      d.timestamps.next_attempt_in = std::chrono::milliseconds(0);
      d.retryable = a.retryable;
      d.error = error;
      type = "failed";
      detail = attempt + ": " + err + why;
      break;
    case Decision::expired:
      d.status = MessageStatus::expired;
      d.timestamps.next_attempt_in = std::chrono::milliseconds(0);
      d.status_reason = "validity ended before it was sent";
      d.give_back_attempt = true;
      type = "expired";
      detail = "validity ended before the send could start" + why;
      break;
  }
  d.event = event_to_write(std::move(type), d.status, std::move(detail));
  d.discard_content = ends_content(d.status);
  return d;
}

std::string cancel_refusal(MessageStatus current) {
  if (current == MessageStatus::sending) return "the message is being sent and can no longer be canceled";
  if (!can_transition(current, MessageStatus::canceled))
    return "only a queued or scheduled message can be canceled; this one is " + std::string(sdk::to_string(current));
  return {};
}

std::string retry_refusal(const Message& m, TimePoint now) {
  if (m.status != MessageStatus::failed && m.status != MessageStatus::undelivered)
    return "only a failed or undelivered message can be retried; this one is " + std::string(sdk::to_string(m.status));
  if (m.attempts >= m.max_attempts)
    return "no attempt left: it used " + std::to_string(m.attempts) + " of " + std::to_string(m.max_attempts) +
           " attempts";
  if (m.expires_at && *m.expires_at <= now) return "its validity ended at " + format_iso8601(*m.expires_at);
  if (m.body_redacted_at)
    return "its body was erased at " + format_iso8601(*m.body_redacted_at) + " (content_retention)";
  if (!m.content_error.empty()) return "its body cannot be opened: " + m.content_error;
  return {};
}

}  // namespace barid::core
