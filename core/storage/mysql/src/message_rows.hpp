#pragma once
// Rows of messages and inbound_messages in the MySQL store: the columns a
// read selects and the record a row becomes (its sealed columns opened), and
// the steps of storing accepted messages that the store's files share.

#include "connection.hpp"

#include <barid/core/message.hpp>
#include <barid/core/recipients.hpp>

#include <cppconn/resultset.h>

#include <vector>

namespace barid::core::mysql::message_rows {

inline constexpr const char* kMessageColumns =
    "id, tenant_id, channel, recipient, sender, body, status, status_reason, attempts, max_attempts, "
    "provider_instance, provider_message_id, segments, encoding, cost_micros, cost_currency, error_code, "
    "error_message, idempotency_key, batch_id, recipient_id, category, template_code, language, "
    "provider_template, template_variables, reference, priority, expires_at, created_at, scheduled_at, "
    "next_attempt_at, sent_at, delivered_at, read_at, failed_at, updated_at, replies, replies_until, reply_intent, "
    "replied_at, content_key, discard_content, body_redacted_at, recipient_sealed";

// A row of kMessageColumns. Content that does not open reads as empty, and
// Message::content_error says why.
Message read_message(DbConnection& c, sql::ResultSet& rs);

inline constexpr const char* kInboundColumns =
    "id, tenant_id, channel, instance, from_phone, to_address, body, provider_message_id, received_at, message_id, "
    "intent, body_key, from_sealed";

// A row of kInboundColumns, the same way.
InboundRecord read_inbound(DbConnection& c, sql::ResultSet& rs);

// Inserts `batch` (minus the rows an earlier try stored), resolves
// idempotency keys and writes the accept events, in the caller's transaction.
std::vector<InsertOutcome> insert_message_rows(DbConnection& c, const std::vector<NewMessage>& batch,
                                               const std::vector<char>& stored_before);
// Counts the messages just stored in their tenants' usage, after taking out
// (and marking over_quota / over_spend_cap) those their limits do not allow;
// in the caller's transaction, before their events are written.
void charge_usage(DbConnection& c, const std::vector<NewMessage>& batch, std::vector<InsertOutcome>& out,
                  const std::vector<char>& stored_before);
// Which rows of `batch` already exist (an interrupted try committed them).
std::vector<char> already_stored(DbConnection& c, const std::vector<NewMessage>& batch);

}  // namespace barid::core::mysql::message_rows
