#pragma once
// What a status change does to a message, decided without a database: a
// provider's delivery report (decide_report) and the outcome of a send
// attempt (decide_attempt). Each answer says which status the message takes,
// which of its timestamps and error fields move, the audit event to write
// (and the webhook event that goes with it), and whether a message that
// asked to discard its content loses it now; cancel_refusal and
// retry_refusal say why an explicit cancel or retry is a conflict. The store
// locks the rows, asks, and writes what the answer says.

#include <barid/core/message.hpp>
#include <barid/core/message_status.hpp>

#include <barid/sdk/types.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace barid::core {

// Nothing more will be sent for a message in this status (delivered, and
// every terminal status): one that asked for content_retention: discard
// loses its body on reaching it.
bool ends_content(MessageStatus s) noexcept;

// The statuses a provider may report: sent, delivered, read, undelivered,
// failed. Anything else in a report (queued, canceled, ...) is refused.
bool provider_reportable(MessageStatus s) noexcept;

// How a change moves one timestamp: not at all, to now unless it is set
// already (a message delivered once stays delivered at that time), or to now.
enum class Stamp { unchanged, now_unless_set, now };

// The timestamps a change sets.
struct TimestampMoves {
  Stamp sent_at = Stamp::unchanged;
  Stamp delivered_at = Stamp::unchanged;
  Stamp read_at = Stamp::unchanged;
  Stamp failed_at = Stamp::unchanged;
  // next_attempt_at: now plus this delay (the retry sweep's and the claim's
  // clock); absent: unchanged.
  std::optional<std::chrono::milliseconds> next_attempt_in;
};

// The error fields a change records (error_code at most 32 bytes,
// error_message at most 512 with every phone number masked). An empty field
// is stored as NULL.
struct RecordedError {
  std::string code;
  std::string message;
};

// One row of a message's audit trail, and the webhook event (message.*) it
// puts in the outbox; empty `webhook_event`: none.
struct EventToWrite {
  std::string type;
  std::optional<MessageStatus> status;
  std::string detail;
  std::string webhook_event;
};

// An event of `type` moving a message to `status` (or none): the webhook
// event is webhook_event_for(status), none without a status.
EventToWrite event_to_write(std::string type, std::optional<MessageStatus> status, std::string detail);

struct ReportDecision {
  // applied: the report moves the message. repeat: it says what is already
  // known (providers resend, polls see the same): nothing to record. ignored:
  // the state machine refuses it (a late "sent" after "delivered", a status
  // a provider cannot report); the audit trail says so.
  enum class Kind { applied, repeat, ignored };
  Kind kind = Kind::ignored;
  MessageStatus status = MessageStatus::sent;  // the message's status afterwards
  TimestampMoves timestamps;
  // undelivered, failed: the provider's error, and whether it is transient
  // (the retry sweep may send again).
  std::optional<RecordedError> error;
  bool retryable = false;
  std::optional<EventToWrite> event;  // absent for a repeat
  // message.sent when the report finds the message still `sending`: the
  // provider answered before the attempt's outcome was recorded. The clinic
  // hears that it was sent before it hears of this change (the outcome,
  // recorded later, then puts no message.sent in the outbox). Empty
  // otherwise.
  std::string webhook_event_first;
  bool discard_content = false;  // when the message asked for it
};

// What `report` from provider instance `instance` does to a message now in
// `current`. The event's detail names both statuses and the provider's error
// (its message with phone numbers masked).
ReportDecision decide_report(MessageStatus current, const sdk::StatusUpdate& report, std::string_view instance);

// The columns that bound what an attempt's outcome may store.
inline constexpr std::size_t kProviderIdMaxBytes = 128;
inline constexpr int kSegmentsMax = 65535;

// What the outcome of a send attempt (AttemptResult, decided by the
// dispatcher) writes, only while the attempt's lease holds.
struct AttemptDecision {
  MessageStatus status = MessageStatus::failed;  // what the message becomes
  // A send the provider accepted is written whatever the status, which
  // moves only from `sending`: a delivery report can arrive before this
  // outcome is recorded, and the status it set stays. Then the event's
  // webhook event is not written either: the report announced message.sent
  // (ReportDecision::webhook_event_first). A retry, failure or expiry is
  // written only while the message is still `sending`.
  enum class Guard { status_moves_from_sending, requires_sending };
  Guard guard = Guard::requires_sending;
  // The provider instance the attempt went to is stored (not for an expiry:
  // no provider was asked).
  bool records_instance = false;
  TimestampMoves timestamps;
  // Recorded (an empty field is NULL; sent: both cleared); absent: kept.
  std::optional<RecordedError> error;
  std::optional<bool> retryable;  // failed: the cause was transient
  // sent: what the provider said, as it can be stored: its id (empty, NULL,
  // when it does not fit its column or is not UTF-8; absent: kept), the
  // sender used (empty: kept), the segments (0: kept), the cost (absent when
  // its currency is not an ISO 4217 code).
  std::optional<std::string> provider_message_id;
  std::string sender;
  int segments = 0;
  std::optional<sdk::Money> cost;
  // expired: why, and the attempt it did not make is given back.
  std::string status_reason;
  bool give_back_attempt = false;
  EventToWrite event;
  bool discard_content = false;  // when the message asked for it
};

// What `a` writes. `minimal` keeps only the decision and the error code,
// nothing else the provider said: the fallback for a row whose values the
// database refused.
AttemptDecision decide_attempt(const AttemptResult& a, bool minimal);

// Why a message now in `current` cannot be canceled (a conflict); empty
// when it can (queued, scheduled).
std::string cancel_refusal(MessageStatus current);

// Why `m` cannot be put back in the queue at `now` (a conflict): only a
// failed or undelivered message with attempts left, still valid, whose body
// is there and can be opened; empty when it can.
std::string retry_refusal(const Message& m, TimePoint now);

}  // namespace barid::core
