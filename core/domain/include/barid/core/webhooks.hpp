#pragma once
// Event webhooks: a tenant's endpoints, the events written to an outbox in
// the transaction of the change they describe, and the Standard Webhooks
// signature every delivery carries (https://www.standardwebhooks.com):
//
//   webhook-id: evt_<event uuid>      (the same on every attempt)
//   webhook-timestamp: <unix seconds of the attempt>
//   webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>
//
// where key is the base64 part of the endpoint's "whsec_..." secret, decoded.
// During a rotation's overlap the header has one "v1,..." per secret,
// separated by spaces.

#include <barid/core/message.hpp>
#include <barid/core/recipients.hpp>
#include <barid/core/result.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace barid::core {

inline constexpr std::array<std::string_view, 11> kWebhookEventTypes = {
    "message.sent",      "message.delivered",  "message.read",     "message.failed",
    "message.undelivered", "message.expired",  "message.suppressed", "message.replied",
    "inbound.received",  "recipient.opted_out", "recipient.opted_in"};

bool is_webhook_event_type(std::string_view type);

// The event a message's move to `status` is: "message.<status>" for sent,
// delivered, read, failed, undelivered, expired and suppressed; empty for
// the others (queued, scheduled, sending, canceled).
std::string webhook_event_for(MessageStatus status);

struct WebhookEndpoint {
  Uuid id;
  TenantId tenant_id = 0;
  std::string url;
  std::string description;
  std::set<std::string> events;  // empty: every type
  bool include_body = false;     // message bodies (and numbers) in the events' data
  std::string secret;            // "whsec_" + base64
  std::string previous_secret;   // still signing until previous_secret_until (a rotation)
  std::optional<TimePoint> previous_secret_until;
  std::optional<TimePoint> disabled_at;
  std::string disabled_reason;
  std::optional<TimePoint> failing_since;  // the first failure since the last success
  TimePoint created_at{};
  TimePoint updated_at{};

  bool wants(std::string_view type) const { return events.empty() || events.count(std::string(type)) > 0; }
};

// An event of the outbox.
struct WebhookEvent {
  std::int64_t seq = 0;  // increases with the order events were written
  Uuid id;
  TenantId tenant_id = 0;
  std::string type;
  std::optional<Uuid> message_id;
  std::optional<MessageStatus> status;
  std::string detail;  // message.replied: the intent; recipient.opted_out: its source
  std::optional<Uuid> inbound_id;
  std::string phone;    // recipient.*: the number
  std::string channel;  // recipient.*: the channel ("*": every channel)
  TimePoint occurred_at{};
};

// One event on its way to one endpoint.
struct WebhookDelivery {
  WebhookEvent event;
  WebhookEndpoint endpoint;
  int attempts = 0;  // this one included
  TimePoint created_at{};
  // What the event describes, read with the claim (one query for all the
  // claim's messages, one for its inbound messages, rather than one per
  // delivery): null when it is gone, or the event names none.
  std::shared_ptr<const Message> message;
  std::shared_ptr<const InboundRecord> inbound;
};

// A delivery's key: the event, and the endpoint it goes to.
struct WebhookDeliveryKey {
  std::int64_t event_seq = 0;
  Uuid endpoint;
  auto operator<=>(const WebhookDeliveryKey&) const = default;
};

// How an attempt went, and what is next: delivered; or again at
// `next_attempt_at`; or given up (neither). `disable_reason` disables the
// endpoint.
struct WebhookAttemptOutcome {
  bool delivered = false;
  int status_code = 0;  // 0: no answer
  std::chrono::milliseconds latency{0};
  std::string error;
  std::optional<TimePoint> next_attempt_at;
  std::string disable_reason;
  bool skipped = false;  // nothing was sent (what the event describes is gone): says nothing of the endpoint
};

// What one claim may take: at most `limit` deliveries, and of each endpoint
// at most its `room` (the node's own limit for that endpoint, less what it
// already holds of it; 0: none), or `per_endpoint` for an endpoint not in
// `room`; endpoints take turns (see claim_webhook_deliveries).
struct WebhookClaim {
  int limit = 16;
  int per_endpoint = 4;
  std::map<Uuid, int> room;
  std::chrono::milliseconds lease{25000};
};

// What a replay queued: `replayed` events; when the limit left some out,
// `next_since` is the time of the first left out (a replay from it, once
// this one is done, sends the rest).
struct WebhookReplay {
  int replayed = 0;
  std::optional<TimePoint> next_since;
};

// Whether an event delivered to `endpoint` carries a message's text and
// number (include_body: message.* but message.replied, and
// inbound.received), which counts as a read of it in the audit log.
bool webhook_event_carries_body(const WebhookEndpoint& endpoint, std::string_view type);

// An attempt as GET /v1/webhooks/{id}/deliveries lists it.
struct WebhookAttempt {
  std::int64_t id = 0;
  Uuid event_id;
  std::string type;
  TimePoint at{};
  int status_code = 0;
  int latency_ms = 0;
  std::string error;
  bool delivered = false;
};

// "whsec_" + base64 of 32 random bytes from OpenSSL's CSPRNG.
std::string new_webhook_secret();

// "v1,<base64 signature>" of `body` sent as event `id` at `timestamp` (unix
// seconds) with `secret` ("whsec_..."); empty when the secret is malformed.
std::string sign_webhook(std::string_view secret, std::string_view id, std::int64_t timestamp, std::string_view body);

// The operator's exceptions to the rules of webhook URLs.
struct WebhookHostRules {
  // webhooks.allow_hosts: "host:port" (lower-case; an IPv6 address in
  // brackets, "[::1]:8080"), the only endpoints that may use plain http:// or
  // reach a refused address (net_address.hpp), on that port alone.
  std::vector<std::string> allow_hosts;
  // webhooks.allow_http_hosts (deprecated): hosts listed without a port, for
  // every port.
  std::vector<std::string> any_port_hosts;

  bool operator==(const WebhookHostRules&) const = default;
};

// Whether `url`'s host and port (443 or 80 when it names none) are listed in
// `rules`. False for a URL that cannot be read.
bool webhook_host_listed(std::string_view url, const WebhookHostRules& rules);

// Whether events may go to `url`: an absolute https URL, whose host is not
// written as a refused address (net_address.hpp), unless its host:port is
// listed in `rules`, which also allows http. Empty when it may, else why not.
std::string webhook_url_problem(std::string_view url, const WebhookHostRules& rules);

// Whether webhook_url_problem refuses `url` for its address alone.
bool webhook_address_refused(std::string_view url, const WebhookHostRules& rules);

// The webhook-id of an event.
inline std::string webhook_id(const Uuid& event) { return "evt_" + event.str(); }

}  // namespace barid::core
