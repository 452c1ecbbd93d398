#pragma once
// The domain records the gateway stores: tenants, API keys, messages and the
// audit trail of each message.

#include <barid/core/ids.hpp>
#include <barid/core/message_status.hpp>
#include <barid/core/segments.hpp>
#include <barid/core/time.hpp>
#include <barid/sdk/types.hpp>

#include <cstdint>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace barid::core {

using TenantId = std::uint32_t;

// Dispatch order: every due high message goes before any normal one, every
// normal one before any low one. Stored as 0, 1, 2 so that the queue's index
// orders by it.
enum class Priority : std::uint8_t { high = 0, normal = 1, low = 2 };

inline constexpr std::string_view to_string(Priority p) noexcept {
  switch (p) {
    case Priority::high: return "high";
    case Priority::normal: return "normal";
    case Priority::low: return "low";
  }
  return "normal";
}

inline std::optional<Priority> priority_from_string(std::string_view s) noexcept {
  if (s == "high") return Priority::high;
  if (s == "normal") return Priority::normal;
  if (s == "low") return Priority::low;
  return std::nullopt;
}

// What a tenant may send (tenant_policy.hpp applies it).
// How much a tenant may send; an unset limit is no limit. Days and months
// are UTC calendar days and months.
struct TenantQuotas {
  std::optional<std::int64_t> messages_per_day;
  std::optional<std::int64_t> messages_per_month;
  std::optional<int> sends_per_second;  // POST /v1/messages calls, per node
  bool operator==(const TenantQuotas&) const = default;
};

// A tenant's own route for a channel (a clinic with its own provider
// account): instance names of the gateway's configuration, used instead of
// the global routing for that channel.
struct TenantRoute {
  std::string provider;
  std::vector<std::string> fallback;
  int primary_attempts = 0;  // attempts on `provider` before the fallbacks (0: never fall back)
  bool operator==(const TenantRoute&) const = default;
};

struct TenantPolicy {
  std::map<sdk::Channel, std::set<std::string>> allowed_senders;  // a channel not listed: any sender
  std::map<sdk::Channel, std::string> default_senders;            // used when a send gives no `from`
  std::set<std::string> allowed_provider_templates;               // empty: any
  std::set<std::string> allowed_countries;                        // ISO 3166-1 alpha-2; empty: any
  TenantQuotas quotas;
  // A month's estimated cost (segments x the instance's configured price) in
  // this currency may not pass this amount.
  std::optional<sdk::Money> spend_cap;
  std::map<sdk::Channel, TenantRoute> routing;  // a channel not listed: the global routing
  // The highest priority its sends may ask for (none: any); a send or bulk
  // above it is refused, one that asks for none gets at most this.
  std::optional<Priority> max_priority;
  // Its weight when tenants take turns at a shared instance's send slots
  // within one priority: `share` slots per turn.
  int share = 1;
};

// What storing a message charges to its tenant's usage, and the limits the
// charge must stay within: set by the accept path, checked and counted by the
// store in the transaction that stores the message.
struct UsageCharge {
  std::int64_t cost_micros = 0;  // estimated: segments x the serving instance's price
  std::string currency;          // that price's; empty when the instance has none
  std::optional<std::int64_t> day_limit, month_limit;
  std::optional<sdk::Money> spend_cap;
  bool limited() const noexcept { return day_limit || month_limit || spend_cap; }
};

// What a tenant has sent in the current UTC day and month: messages stored
// to be sent (suppressed ones are not counted), their segments and their
// estimated cost per currency.
struct UsagePeriod {
  std::string start;  // YYYY-MM-DD
  std::int64_t messages = 0;
  std::int64_t segments = 0;
  std::map<std::string, std::int64_t> cost_micros_by_currency;
};
struct TenantUsage {
  UsagePeriod day, month;
};

struct Tenant {
  TenantId id = 0;
  std::string name;
  std::string default_language = "en";
  std::optional<int> retention_days;  // overrides the gateway's default (capped by its maximum)
  // Privacy defaults: discard every message's body once it is final (a send
  // may ask for it too), and erase the body of any message older than N days.
  bool discard_content = false;
  std::optional<int> redact_after_days;
  std::optional<TimePoint> suspended_at;  // set: every call refused, nothing dispatched
  TimePoint created_at{};
  TenantPolicy policy;
};

// What a tenant's API key may do. Operator keys manage tenants and keys
// (/v1/admin/...) and hold no tenant scope.
enum class Scope : std::uint8_t { send = 1, read = 2, manage = 4 };
using Scopes = std::uint8_t;  // a set of Scope bits
inline constexpr Scopes kAllScopes = 7;
inline constexpr bool has_scope(Scopes set, Scope s) noexcept { return (set & static_cast<Scopes>(s)) != 0; }
inline constexpr std::string_view to_string(Scope s) noexcept {
  return s == Scope::send ? "send" : s == Scope::read ? "read" : "manage";
}
// "send,read" <-> bits; nullopt for an unknown word.
std::optional<Scopes> scopes_from_list(const std::vector<std::string>& words);
std::vector<std::string> scopes_to_list(Scopes set);

enum class KeyRole : std::uint8_t { tenant, operator_ };

struct ApiKeyRecord {
  std::string key_id;       // public part of the key
  TenantId tenant_id = 0;   // 0 for an operator key
  std::string secret_hash;  // SHA-256 of the secret part, 32 raw bytes
  std::string label;
  bool revoked = false;
  KeyRole role = KeyRole::tenant;
  Scopes scopes = kAllScopes;
  bool tenant_suspended = false;  // the key's tenant is suspended (read with the key)
  TimePoint created_at{};
  std::optional<TimePoint> revoked_at;
};

// Who caused an event: the API key's id (or "dispatcher", "provider:<name>",
// "job:<name>"), and the client's address and user agent when there is one.
struct Actor {
  std::string actor;
  std::string ip;
  std::string user_agent;
};

// A send from a template, until the accept policy renders it.
struct TemplateRequest {
  std::string code;
  std::string language;  // requested; empty: the recipient's, the tenant's, then "en"
  std::map<std::string, std::string> variables;
};

// A message as the intake hands it to the store.
struct NewMessage {
  MessageId id;
  TenantId tenant_id = 0;
  sdk::Channel channel = sdk::Channel::sms;
  std::string to;  // E.164
  std::string from;
  std::string body;
  MessageStatus status = MessageStatus::queued;  // queued, scheduled or suppressed
  std::string status_reason;                     // why it was suppressed
  int max_attempts = 3;
  std::optional<TimePoint> scheduled_at;
  // Unset until the request, a template's default or the kind of send (bulk:
  // low) decides; stored as normal when nothing did.
  std::optional<Priority> priority;
  // Not handed to a provider after this: it ends `expired`. `validity` is the
  // request's relative form, resolved against the due time by the intake.
  std::optional<TimePoint> expires_at;
  SegmentCount segments;
  std::string idempotency_key;  // empty: none
  std::string request_hash;     // SHA-256 of the request, 32 raw bytes, with an idempotency key
  std::optional<Uuid> batch_id;
  std::string recipient_id;
  std::string category;
  std::string template_code;
  std::string language;
  std::string provider_template;
  std::vector<std::string> template_variables;
  std::string reference;  // the client's own reference
  Actor actor;
  std::optional<TemplateRequest> template_request;  // rendered before it is stored
  UsageCharge charge;
  // The answers the send expects, keyed by their normalised form
  // (normalise_reply), and how long after the due time a reply may answer.
  std::map<std::string, std::string> replies;
  std::chrono::seconds reply_window{std::chrono::hours(72)};
  // content_retention "discard": the body and variables are erased once the
  // message is final. Unset: the tenant's default decides.
  std::optional<bool> discard_content;
};

struct InsertOutcome {
  enum class Kind {
    inserted,
    duplicate,             // the idempotency key was used before with the same request
    idempotency_mismatch,  // the idempotency key was used before with another request
    over_quota,            // not stored: a daily or monthly quota is reached
    over_spend_cap,        // not stored: the month's spend cap is reached
  };
  Kind kind = Kind::inserted;
  MessageId id;  // the stored message's id (the earlier one for a duplicate)
  MessageStatus status = MessageStatus::queued;
  std::string status_reason;  // why it was suppressed
  std::string limit_detail;   // over_*: which limit, for people
  int retry_after_s = 0;      // over_*: until the day or month ends
};

struct Message {
  MessageId id;
  TenantId tenant_id = 0;
  sdk::Channel channel = sdk::Channel::sms;
  std::string to;
  std::string from;
  std::string body;
  MessageStatus status = MessageStatus::queued;
  std::string status_reason;
  int attempts = 0;
  int max_attempts = 3;
  std::string provider_instance;
  std::string provider_message_id;
  int segments = 1;
  Encoding encoding = Encoding::gsm7;
  std::optional<sdk::Money> cost;
  std::string error_code;
  std::string error_message;
  std::string idempotency_key;
  std::optional<Uuid> batch_id;
  std::string recipient_id;
  std::string category;
  std::string template_code;
  std::string language;
  std::string provider_template;
  std::vector<std::string> template_variables;
  std::string reference;
  Priority priority = Priority::normal;
  std::optional<TimePoint> expires_at;
  TimePoint created_at{};
  std::optional<TimePoint> scheduled_at;
  std::optional<TimePoint> next_attempt_at;
  std::optional<TimePoint> sent_at;
  std::optional<TimePoint> delivered_at;
  std::optional<TimePoint> read_at;
  std::optional<TimePoint> failed_at;
  TimePoint updated_at{};
  // The answers it expects (normalised answer -> intent), until when, and
  // the intent of the latest reply that answered it.
  std::map<std::string, std::string> replies;
  std::optional<TimePoint> replies_until;
  std::string reply_intent;
  std::optional<TimePoint> replied_at;
  bool discard_content = false;
  // When the body and variables were erased (discard after delivery, the
  // tenant's redact_after_days); body is then empty and means nothing.
  std::optional<TimePoint> body_redacted_at;
  // Why the stored body did not open (encryption at rest): a missing key, or
  // a value altered or copied from another row. Body is then empty.
  std::string content_error;
  // ... because this node has no key of that id (another node, or this one
  // after a restart with the key file of a rotation, may open it).
  bool content_key_missing = false;
};

// The message a recipient's reply may answer: the latest one sent to them
// with replies that are still open.
struct OpenQuestion {
  MessageId message_id;
  std::string reference;
  std::map<std::string, std::string> replies;
};

struct MessageEvent {
  std::int64_t id = 0;
  TimePoint at{};
  std::string type;  // accepted, suppressed, sent, retry_scheduled, failed, delivered, ...
  std::optional<MessageStatus> status;
  std::string detail;
  Actor actor;
};

// What the dispatcher decided after one provider call.
struct AttemptResult {
  // expired: its validity ended before the send could start (never sent).
  enum class Decision { sent, retry, failed, expired };
  MessageId id;
  TenantId tenant_id = 0;
  Decision decision = Decision::failed;
  int attempt = 1;
  std::string provider_instance;
  // sent
  MessageStatus status = MessageStatus::sent;
  std::string provider_message_id;
  int segments = 0;
  std::optional<sdk::Money> cost;
  // The sender it went out from: the message's own, else the instance's
  // default (empty when the provider picked it).
  std::string sender;
  // retry
  std::chrono::milliseconds retry_in{0};
  // retry / failed
  sdk::ProviderError error;
  bool retryable = false;  // failed: the cause was transient (attempts ran out)
  std::string detail;  // for the audit trail
};

// A bulk request: its messages carry its id.
struct Batch {
  Uuid id;
  TenantId tenant_id = 0;
  sdk::Channel channel = sdk::Channel::sms;
  std::string template_code;
  int total = 0;       // recipients in the request
  int accepted = 0;    // stored to be sent
  int suppressed = 0;  // stored as suppressed
  int rejected = 0;    // invalid, not stored
  std::string idempotency_key;
  std::string request_hash;
  std::string actor;
  TimePoint created_at{};
};

// Which messages GET /v1/messages lists, newest first.
struct MessageFilter {
  std::optional<MessageStatus> status;
  std::optional<sdk::Channel> channel;
  std::optional<Uuid> batch_id;
  std::string to;            // E.164
  std::string recipient_id;
  std::optional<TimePoint> from;  // accepted at or after
  std::optional<TimePoint> to_time;  // accepted before
  std::optional<Uuid> after;  // the cursor: the last message of the previous page
  int limit = 50;
};

// A tenant-level API action (template saved, preferences changed, ...).
struct AuditEntry {
  std::int64_t id = 0;
  TenantId tenant_id = 0;
  TimePoint at{};
  std::string action;
  std::string subject;
  std::string detail;
  Actor actor;
};

// The audit entry of a read of bodies ("message.body_read",
// "inbound.body_read"): the ids read in `detail`, comma-separated, and as
// `subject` the one id or their count ("3 ids").
AuditEntry body_read_entry(TenantId tenant, std::string action, Actor actor, const std::vector<std::string>& ids);

// What became of one delivery report.
struct ReportOutcome {
  enum class Kind { applied, ignored, unknown_message };
  Kind kind = Kind::unknown_message;
  std::optional<MessageId> id;
  MessageStatus from = MessageStatus::sent;
  MessageStatus to = MessageStatus::sent;
};

}  // namespace barid::core
