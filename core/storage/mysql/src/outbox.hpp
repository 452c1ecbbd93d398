#pragma once
// The event outbox: what the MySQL store writes, in the transaction of each
// change, for the events that go out (a message's history in message_events,
// and the webhook events in webhook_events with a delivery for each endpoint
// that wants them). WebhookSender delivers them afterwards
// (mysql_store_webhooks.cpp reads the deliveries).

#include "connection.hpp"

#include <barid/core/message.hpp>
#include <barid/core/message_transitions.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace barid::core::mysql::outbox {

// A webhook event, before it is written to the outbox.
struct NewWebhookEvent {
  TenantId tenant = 0;
  std::string type;  // one of kWebhookEventTypes
  std::optional<MessageId> message_id;
  std::optional<MessageStatus> status;
  std::string detail;
  std::optional<Uuid> inbound_id;
  std::string phone;
  std::string channel;
};

// Writes `events` to the webhook outbox, inside the caller's transaction:
// only those of tenants that have an endpoint (enabled or not, so that a
// replay can find them), each with a delivery for every enabled endpoint of
// its tenant that wants its type. A tenant without endpoints costs one
// indexed read.
void write_outbox(DbConnection& c, const std::vector<NewWebhookEvent>& events);

// One row of message_events: its SQL values, and the webhook events it puts
// in the outbox.
struct MessageEventRow {
  std::string values;
  MessageId id;
  TenantId tenant = 0;
  std::optional<MessageStatus> status;
  std::string webhook_event;     // empty: none
  bool discard_content = false;  // the change makes the message final
  // A webhook event of the same message that goes out before webhook_event
  // (ReportDecision::webhook_event_first); empty: none.
  std::string webhook_event_first;
};

// `event` as a row, `discard_content` when its change makes the message
// final (the decision of message_transitions.hpp says).
MessageEventRow message_event_row(DbConnection& c, const MessageId& id, TenantId tenant, const EventToWrite& event,
                                  bool discard_content, const Actor& actor);
// An event of `type` moving the message to `status` (or none), with the
// webhook event and the discard that status brings.
MessageEventRow message_event_row(DbConnection& c, const MessageId& id, TenantId tenant, std::string_view type,
                                  std::optional<MessageStatus> status, std::string_view detail, const Actor& actor);

// Writes message events, and the webhook events their status changes are
// (MessageEventRow::webhook_event), in the caller's transaction; erases the
// content of the messages they make final that asked for it.
void insert_message_events(DbConnection& c, const std::vector<MessageEventRow>& rows);

}  // namespace barid::core::mysql::outbox
