#include <barid/core/status_refresher.hpp>

namespace barid::core {

namespace {

// A provider's error code as a reason to count failures by: a short code
// such as HTTP-503 or 30008 is kept; anything else (text, or digits enough
// to be a phone number) is counted as OTHER, so that the job's result, which
// is logged, never holds more than a code.
std::string failure_reason(const std::string& code) {
  if (code.empty()) return "UNKNOWN";
  if (code.size() > 32) return "OTHER";
  int digits_in_a_row = 0;
  for (char c : code) {
    const bool digit = c >= '0' && c <= '9';
    digits_in_a_row = digit ? digits_in_a_row + 1 : 0;
    if (digits_in_a_row > 6) return "OTHER";
    if (!digit && !(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z') && c != '-' && c != '_' && c != '.')
      return "OTHER";
  }
  return code;
}

}  // namespace

std::string StatusRefresher::Counts::failures_text() const {
  std::string out = std::to_string(failed_queries) + " queries failed";
  if (failures_by_reason.empty()) return out;
  std::string reasons;
  for (const auto& [reason, n] : failures_by_reason)
    reasons += (reasons.empty() ? "" : ", ") + reason + ": " + std::to_string(n);
  return out + " (" + reasons + ")";
}

Result<ReportOutcome> StatusRefresher::refresh(const Message& m, const Actor& actor) {
  std::string reason;
  return refresh(m, actor, reason);
}

Result<ReportOutcome> StatusRefresher::refresh(const Message& m, const Actor& actor, std::string& reason) {
  if (m.provider_instance.empty() || m.provider_message_id.empty())
    return Error::conflict("the message has not been accepted by a provider yet (it is " +
                           std::string(sdk::to_string(m.status)) + ")");
  auto set = providers_.snapshot();
  const ProviderSlot* slot = set->find(m.provider_instance);
  if (!slot)
    return Error::conflict("provider instance '" + m.provider_instance + "' is no longer configured");
  if (!slot->instance->descriptor().has(sdk::Capability::status_polling))
    return Error::conflict("provider instance '" + m.provider_instance + "' cannot be asked for status (plugin '" +
                           slot->instance->descriptor().name + "' reports by webhook only)");
  const sdk::StatusResult st = slot->instance->provider().fetch_status(m.provider_message_id);
  if (st.message_unknown)
    return Error{ErrorKind::conflict,
                 "provider instance '" + m.provider_instance + "' does not know this message (" +
                     failure_reason(st.error.code) + "); its status is left as it is",
                 kUnknownToProvider};
  if (st.outcome != sdk::Outcome::ok) {
    reason = failure_reason(st.error.code);
    return Error::unavailable("the provider did not answer the status query: " + st.error.code +
                              (st.error.message.empty() ? "" : " " + st.error.message));
  }
  sdk::StatusUpdate u;
  u.message_id = m.id.str();
  u.provider_message_id = m.provider_message_id;
  u.status = st.status;
  u.cost = st.cost;
  u.segments = st.segments;
  if (st.status == MessageStatus::failed || st.status == MessageStatus::undelivered) {
    u.error = st.error;
    u.retryable = st.retryable;
  }
  const bool new_cost = u.cost && (!m.cost || m.cost->micros != u.cost->micros || m.cost->currency != u.cost->currency);
  const bool new_segments = u.segments > 0 && u.segments != m.segments;
  if (u.status == m.status && !new_cost && !new_segments) {
    ReportOutcome o;  // nothing new
    o.kind = ReportOutcome::Kind::ignored;
    o.id = m.id;
    o.from = o.to = m.status;
    return o;
  }
  auto applied = reports_.apply_reports(m.provider_instance, {u}, actor);
  if (!applied) {
    reason = "STORE";
    return applied.error();
  }
  return applied->at(0);
}

Result<ReportOutcome> StatusRefresher::refresh(const Message& m, const Actor& actor, Counts& counts) {
  std::string reason;
  auto r = refresh(m, actor, reason);
  if (r) return r;
  if (r.error().kind == ErrorKind::conflict && r.error().field == kUnknownToProvider) {
    ++counts.unknown_to_provider;
  } else {
    ++counts.failed_queries;
    ++counts.failures_by_reason[reason.empty() ? "GATEWAY" : reason];
  }
  return r;
}

Result<StatusRefresher::Counts> StatusRefresher::refresh_recent(TimePoint since, int limit_per_instance,
                                                               std::stop_token stop) {
  Counts counts;
  const Actor actor{"job:status-refresh", "", ""};
  auto set = providers_.snapshot();
  for (const auto& [name, slot] : set->instances) {
    if (!slot.instance->descriptor().has(sdk::Capability::status_polling)) continue;
    auto due = jobs_.messages_to_refresh(name, since, limit_per_instance);
    if (!due) return due.error();
    for (const auto& m : *due) {
      if (stop.stop_requested()) return counts;
      ++counts.checked;
      auto r = refresh(m, actor, counts);
      if (r && r->kind == ReportOutcome::Kind::applied) ++counts.changed;
    }
    if (!slot.instance->descriptor().has(sdk::Capability::cost_reporting)) continue;
    // Final messages still without a cost: a few polls each, then let go.
    auto unpriced = jobs_.claim_cost_polls(name, since, limit_per_instance, 3);
    if (!unpriced) return unpriced.error();
    for (const auto& m : *unpriced) {
      if (stop.stop_requested()) return counts;
      ++counts.cost_checked;
      (void)refresh(m, actor, counts);  // counted there
    }
  }
  return counts;
}

}  // namespace barid::core
