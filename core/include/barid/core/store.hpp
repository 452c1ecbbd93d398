#pragma once
// The storage interface of the core. MySQL (MariaDB) through Connector/C++
// is the production backend (mysql_store.hpp); the interface stays narrow so
// that another backend can pass the same conformance tests.
//
// Scheduling comparisons use the database's clock (UTC_TIMESTAMP), so that
// gateway nodes with skewed clocks still agree on which message is due and
// which lease has expired.

#include <barid/core/message.hpp>
#include <barid/core/result.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace barid::core {

class Store {
 public:
  virtual ~Store() = default;

  // Applies pending schema migrations (idempotent; safe with several nodes
  // starting at once).
  virtual Status migrate() = 0;
  // The database answers.
  virtual Status ping() = 0;

  // --- tenants and API keys
  virtual Result<Tenant> ensure_tenant(const std::string& name) = 0;
  virtual Result<std::optional<Tenant>> find_tenant(TenantId id) = 0;
  virtual Status add_api_key(const ApiKeyRecord& key) = 0;
  virtual Result<std::optional<ApiKeyRecord>> find_api_key(const std::string& key_id) = 0;

  // --- intake
  // Stores a batch in one transaction and returns one outcome per message,
  // in order. Nothing is stored if an error is returned. Safe to call again
  // with the same batch (ids are the primary key).
  virtual Result<std::vector<InsertOutcome>> insert_messages(const std::vector<NewMessage>& batch) = 0;

  // --- dispatch
  // Leases up to `limit` due messages (queued or scheduled, next attempt due)
  // to `owner` for `lease`, counting an attempt for each; other nodes skip
  // the rows this transaction locks (FOR UPDATE SKIP LOCKED).
  virtual Result<std::vector<Message>> claim_due(const std::string& owner, int limit,
                                                 std::chrono::milliseconds lease) = 0;
  // Records what the provider said for each leased message.
  virtual Status record_attempts(const std::vector<AttemptResult>& results) = 0;
  // Hands leased messages that were never tried back to the queue (drain).
  virtual Status release(const std::string& owner, const std::vector<MessageId>& ids) = 0;
  // Puts messages whose lease expired (their node died) back in the queue;
  // returns how many. `max_attempts_slack`: a message that already used
  // max_attempts + slack attempts fails instead (it keeps killing nodes).
  virtual Result<int> requeue_expired_leases(int limit, int max_attempts_slack) = 0;

  // --- reads (scoped to a tenant: another tenant's message is not found)
  virtual Result<std::optional<Message>> find_message(TenantId tenant, const MessageId& id) = 0;
  virtual Result<std::vector<MessageEvent>> list_events(TenantId tenant, const MessageId& id) = 0;

  // --- delivery reports from a provider instance
  // Finds each message by the gateway's id (when the provider echoed it and
  // the message was sent through `instance`) or by the provider's id, and
  // moves it forward when the state machine allows it; a report that would
  // move it backwards is recorded as ignored.
  virtual Result<std::vector<ReportOutcome>> apply_reports(const std::string& instance,
                                                           const std::vector<sdk::StatusUpdate>& updates,
                                                           const Actor& actor) = 0;
};

}  // namespace barid::core
