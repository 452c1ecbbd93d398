#pragma once
// Value types that cross the boundary between the gateway and a provider
// plugin. Only these types, the other SDK headers' types and the standard
// library cross it (see docs/plugin-guide.md for the toolchain contract).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace barid::sdk {

enum class Channel : std::uint8_t { sms, whatsapp, email };

inline constexpr std::string_view to_string(Channel c) noexcept {
  switch (c) {
    case Channel::sms: return "sms";
    case Channel::whatsapp: return "whatsapp";
    case Channel::email: return "email";
  }
  return "unknown";
}

inline std::optional<Channel> channel_from_string(std::string_view s) noexcept {
  if (s == "sms") return Channel::sms;
  if (s == "whatsapp") return Channel::whatsapp;
  if (s == "email") return Channel::email;
  return std::nullopt;
}

// The lifecycle of a message as the gateway tracks it. Providers report the
// subset that describes what happened at their side (sent, delivered, read,
// undelivered, failed); the gateway owns the rest.
enum class MessageStatus : std::uint8_t {
  scheduled,    // accepted, waiting for its scheduled time
  queued,       // accepted, waiting for a dispatcher
  sending,      // leased by a dispatcher, the provider call is under way
  sent,         // the provider accepted it
  delivered,    // the handset (or the carrier) confirmed delivery
  read,         // the recipient opened it (WhatsApp)
  undelivered,  // the provider reported that it could not be delivered
  failed,       // it could not be sent, and no attempt is left
  suppressed,   // never sent: the recipient's preferences or an opt-out forbid it
  canceled,     // canceled before it was sent
  expired,      // never sent: its validity ended before a provider could take it
};

inline constexpr std::string_view to_string(MessageStatus s) noexcept {
  switch (s) {
    case MessageStatus::scheduled: return "scheduled";
    case MessageStatus::queued: return "queued";
    case MessageStatus::sending: return "sending";
    case MessageStatus::sent: return "sent";
    case MessageStatus::delivered: return "delivered";
    case MessageStatus::read: return "read";
    case MessageStatus::undelivered: return "undelivered";
    case MessageStatus::failed: return "failed";
    case MessageStatus::suppressed: return "suppressed";
    case MessageStatus::canceled: return "canceled";
    case MessageStatus::expired: return "expired";
  }
  return "unknown";
}

inline std::optional<MessageStatus> status_from_string(std::string_view s) noexcept {
  static constexpr MessageStatus all[] = {
      MessageStatus::scheduled, MessageStatus::queued,      MessageStatus::sending,
      MessageStatus::sent,      MessageStatus::delivered,   MessageStatus::read,
      MessageStatus::undelivered, MessageStatus::failed,    MessageStatus::suppressed,
      MessageStatus::canceled,  MessageStatus::expired};
  for (auto st : all)
    if (to_string(st) == s) return st;
  return std::nullopt;
}

// The three results of any provider call.
enum class Outcome : std::uint8_t {
  ok,         // done
  retry,      // transient (5xx, 429, timeout, connection failure): try again later
  permanent,  // will not succeed if repeated (invalid number, unsubscribed, bad credentials)
};

inline constexpr std::string_view to_string(Outcome o) noexcept {
  switch (o) {
    case Outcome::ok: return "ok";
    case Outcome::retry: return "retry";
    case Outcome::permanent: return "permanent";
  }
  return "unknown";
}

// An amount of money in millionths of the currency unit, so that sums are
// exact. 0.0075 USD is {7500, "USD"}. Charges are positive.
struct Money {
  std::int64_t micros = 0;
  std::string currency;  // ISO 4217, upper case
};

// A provider's own error, as the provider reported it.
struct ProviderError {
  std::string code;     // e.g. "21211", "ER-04"; empty when there is none
  std::string message;  // for people; never contains a secret or a message body
};

// One message handed to a plugin to send.
struct OutboundMessage {
  std::string id;  // the gateway's message id (a provider may echo it as a reference)
  Channel channel = Channel::sms;
  std::string to;    // E.164, e.g. +966501234567
  std::string from;  // sender override; empty means the instance's configured sender
  std::string body;  // rendered text; empty when a provider template is used
  // A provider-side template (e.g. a Twilio Content SID) and its ordered variables.
  std::string provider_template;
  std::vector<std::string> template_variables;
  int segments = 1;  // as counted by the gateway (GSM-7 / UCS-2)
  int attempt = 1;   // 1 for the first attempt
  // Where the provider should post delivery reports for this message; empty
  // when the gateway publishes no webhook URL.
  std::string status_callback_url;
  // How long the message may still wait before it is useless (a reminder
  // after its appointment); none when the send set no validity. A provider
  // that can drop queued messages passes it on (Twilio: ValidityPeriod).
  std::optional<std::chrono::seconds> validity;
};

enum class HealthState : std::uint8_t { healthy, degraded, unhealthy };

inline constexpr std::string_view to_string(HealthState h) noexcept {
  switch (h) {
    case HealthState::healthy: return "healthy";
    case HealthState::degraded: return "degraded";
    case HealthState::unhealthy: return "unhealthy";
  }
  return "unknown";
}

struct HealthReport {
  HealthState state = HealthState::healthy;
  std::string detail;
};

struct SendResult {
  Outcome outcome = Outcome::permanent;
  std::string provider_message_id;
  // On ok: what the provider says happened (sent, or already delivered).
  MessageStatus status = MessageStatus::sent;
  int segments = 0;  // as billed by the provider; 0 when unknown
  std::optional<Money> cost;
  ProviderError error;
  std::optional<std::chrono::milliseconds> retry_after;  // honoured on retry
  // On permanent: the recipient unsubscribed at the provider (STOP); the
  // gateway records an opt-out.
  bool recipient_opted_out = false;
  // Set when this send changed what the plugin knows about the instance's
  // health (the provider rejected the credentials, or accepted them again
  // after a rejection): the gateway records it at once, as if check_health
  // had answered it, instead of waiting for the next health check. Leave it
  // empty when nothing changed, so that most sends write nothing.
  std::optional<HealthReport> health;

  static SendResult accepted(std::string provider_id, MessageStatus st = MessageStatus::sent) {
    SendResult r;
    r.outcome = Outcome::ok;
    r.provider_message_id = std::move(provider_id);
    r.status = st;
    return r;
  }
  static SendResult transient(ProviderError e,
                              std::optional<std::chrono::milliseconds> after = std::nullopt) {
    SendResult r;
    r.outcome = Outcome::retry;
    r.error = std::move(e);
    r.retry_after = after;
    return r;
  }
  static SendResult rejected(ProviderError e, bool opted_out = false) {
    SendResult r;
    r.outcome = Outcome::permanent;
    r.error = std::move(e);
    r.recipient_opted_out = opted_out;
    return r;
  }
};

// The provider's current view of one message (fetch_status).
struct StatusResult {
  Outcome outcome = Outcome::permanent;  // of the query itself
  MessageStatus status = MessageStatus::sent;
  int segments = 0;
  std::optional<Money> cost;
  ProviderError error;  // the message's error (when failed/undelivered) or the query's
  std::optional<std::chrono::milliseconds> retry_after;
  bool retryable = false;  // as in StatusUpdate: a failure the provider considers transient
  // The provider answered, and does not know this message (an id it never
  // issued, or one it no longer keeps): not an outage, and asking again will
  // not change the answer. With outcome permanent and `error` holding the
  // provider's code (unknown_message() sets all three); the gateway leaves
  // the message's status as it is.
  bool message_unknown = false;

  static StatusResult unknown_message(ProviderError e) {
    StatusResult r;
    r.outcome = Outcome::permanent;
    r.error = std::move(e);
    r.message_unknown = true;
    return r;
  }
};

// A delivery report that arrived through a webhook.
struct StatusUpdate {
  std::string provider_message_id;
  std::string message_id;  // the gateway's id when the provider echoes it back, else empty
  MessageStatus status = MessageStatus::sent;
  ProviderError error;
  std::optional<Money> cost;
  int segments = 0;
  // For undelivered / failed: the provider considers the cause transient
  // (e.g. a carrier queue overflow), so the gateway's retry sweep may send the
  // message again while it has attempts left.
  bool retryable = false;
};

// A message a recipient sent to us (STOP, START, or a reply).
struct InboundMessage {
  Channel channel = Channel::sms;
  std::string from;  // E.164
  std::string to;
  std::string body;
  std::string provider_message_id;
  // A WhatsApp quick-reply button's payload (Twilio's ButtonPayload), when
  // the message is a button press; `body` then holds the button's text.
  std::string button_payload;
};

}  // namespace barid::sdk
