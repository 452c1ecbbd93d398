#pragma once
// The MySQL (MariaDB) store through MySQL Connector/C++ 1.1: a pool of
// connections, versioned migrations, reconnection after a server restart,
// multi-row inserts for the accept path.

#include <barid/core/mysql_options.hpp>
#include <barid/core/store.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace barid::core {

namespace mysql {
class ConnectionPool;
}  // namespace mysql

class MySqlStore final : public Store {
 public:
  explicit MySqlStore(MySqlOptions options);
  // Initialises the MySQL driver. Call once, before any thread opens a
  // connection: the driver's initialisation is not thread-safe.
  static void global_init();
  ~MySqlStore() override;

  Status migrate() override;
  Status ping() override;
  // The TLS protocol and cipher of a pooled connection ("TLSv1.3,
  // TLS_AES_256_GCM_SHA384"), or empty when it is not encrypted: for the
  // operator, in the start-up log. Never a secret.
  Result<std::string> connection_tls();

  Result<Tenant> ensure_tenant(const std::string& name) override;
  Result<Tenant> create_tenant(const std::string& name) override;
  Result<std::optional<Tenant>> find_tenant(TenantId id) override;
  Result<std::optional<Tenant>> find_tenant_by_name(const std::string& name) override;
  Result<bool> set_tenant_suspended(TenantId id, bool suspended) override;
  Result<bool> set_tenant_policy(TenantId id, const TenantPolicy& policy) override;
  Status add_api_key(const ApiKeyRecord& key) override;
  Result<std::optional<ApiKeyRecord>> find_api_key(const std::string& key_id) override;
  Result<std::vector<ApiKeyRecord>> list_api_keys(TenantId tenant) override;
  Result<std::optional<KeyRevocation>> revoke_api_key(const std::string& key_id) override;
  Result<AuthChanges> auth_changes_since(TimePoint since) override;
  Result<std::vector<std::string>> active_api_key_ids() override;
  Result<TenantUsage> usage(TenantId tenant) override;

  Result<std::vector<InsertOutcome>> insert_messages(const std::vector<NewMessage>& batch) override;

  Result<Claim> claim_due(const ClaimRequest& request) override;
  Result<int> record_attempts(const std::string& owner, const std::vector<AttemptResult>& results) override;
  Status release(const std::string& owner, const std::vector<MessageId>& ids) override;
  Result<int> requeue_expired_leases(int limit, int max_attempts_slack) override;

  Result<std::optional<Message>> find_message(TenantId tenant, const MessageId& id) override;
  Result<std::vector<MessageEvent>> list_events(TenantId tenant, const MessageId& id) override;

  Result<std::vector<ReportOutcome>> apply_reports(const std::string& instance,
                                                   const std::vector<sdk::StatusUpdate>& updates,
                                                   const Actor& actor) override;

  Result<std::vector<Message>> list_messages(TenantId tenant, const MessageFilter& filter) override;
  Status update_tenant_settings(TenantId tenant, const TenantSettings& settings) override;
  Status add_audit(const AuditEntry& entry) override;
  Result<std::vector<AuditEntry>> list_audit(TenantId tenant, int limit, std::optional<std::int64_t> before) override;
  Result<Message> retry_message(TenantId tenant, const MessageId& id, const Actor& actor) override;
  Result<Message> cancel_message(TenantId tenant, const MessageId& id, const Actor& actor) override;
  Status record_event(TenantId tenant, const MessageId& id, std::string_view type, std::string_view detail,
                      const Actor& actor) override;

  Result<BatchInsert> insert_batch(const Batch& batch, const std::vector<NewMessage>& messages) override;
  Result<std::optional<Batch>> find_batch(TenantId tenant, const Uuid& id) override;
  Result<std::map<std::string, std::int64_t>> batch_status_counts(TenantId tenant, const Uuid& id) override;

  Status add_opt_out(const OptOut& opt_out) override;
  Result<int> remove_opt_out(const std::vector<TenantId>& tenants, const std::string& phone,
                             const std::string& channel, const std::string& instance,
                             std::optional<TenantId> notify = std::nullopt) override;
  Result<bool> claim_inbound(const std::string& instance, const std::string& provider_message_id) override;
  Status finish_inbound(const std::string& instance, const std::string& provider_message_id, bool handled) override;
  Result<std::optional<TenantId>> inbound_tenant(const std::string& phone, const std::string& instance,
                                                 const std::string& to, const InboundAssignment& rule) override;
  Result<bool> keep_inbound(const InboundRecord& m) override;
  Result<std::optional<OpenQuestion>> open_question(TenantId tenant, const std::string& phone,
                                                    const std::string& instance) override;
  Status record_reply(TenantId tenant, const MessageId& message, const std::string& intent,
                      const Uuid& inbound) override;
  Result<std::vector<InboundRecord>> list_inbound(const InboundFilter& f) override;
  // WebhookStore
  Status add_webhook(const WebhookEndpoint& endpoint) override;
  Result<std::vector<WebhookEndpoint>> list_webhooks(TenantId tenant) override;
  Result<std::optional<WebhookEndpoint>> find_webhook(TenantId tenant, const Uuid& id) override;
  Result<bool> update_webhook(const WebhookEndpoint& endpoint, std::optional<bool> enabled) override;
  Result<bool> delete_webhook(TenantId tenant, const Uuid& id) override;
  Result<bool> rotate_webhook_secret(TenantId tenant, const Uuid& id, const std::string& secret,
                                     TimePoint previous_until) override;
  using WebhookStore::claim_webhook_deliveries;
  Result<std::vector<WebhookDelivery>> claim_webhook_deliveries(const std::string& owner,
                                                                const WebhookClaim& claim) override;
  Result<int> extend_webhook_leases(const std::string& owner, const std::vector<WebhookDeliveryKey>& keys,
                                    std::chrono::milliseconds lease) override;
  Status release_webhook_deliveries(const std::string& owner, const std::vector<WebhookDeliveryKey>& keys) override;
  Result<int> end_webhook_leases_of(const std::string& owner) override;
  Status finish_webhook_deliveries(const std::vector<WebhookDelivery>& deliveries,
                                   const std::vector<WebhookAttemptOutcome>& outcomes) override;
  Result<std::vector<WebhookAttempt>> list_webhook_attempts(TenantId tenant, const Uuid& endpoint, int limit,
                                                            std::optional<std::int64_t> before) override;
  Result<WebhookReplay> replay_webhook_events(TenantId tenant, const Uuid& endpoint, TimePoint since,
                                              int limit) override;
  Result<std::optional<TimePoint>> last_inbound_of(TenantId tenant, const std::string& phone,
                                                  sdk::Channel channel) override;
  Status put_preferences(TenantId tenant, const RecipientPreferences& preferences) override;
  Result<RecipientRecords> find_recipients(TenantId tenant, const std::vector<std::string>& keys,
                                           const std::vector<std::string>& phones) override;
  Result<std::vector<RecipientPreferences>> preferences_naming(TenantId tenant, const std::string& phone) override;

  Result<Template> put_template(const Template& t) override;
  Result<std::optional<Template>> find_template(TenantId tenant, const std::string& code) override;
  Result<std::vector<Template>> list_templates(TenantId tenant) override;
  Result<bool> delete_template(TenantId tenant, const std::string& code) override;

  Result<Statistics> statistics(TenantId tenant, TimePoint from, TimePoint to) override;

  Result<bool> claim_job_run(const std::string& job, const std::string& node, std::optional<TimePoint> first_run,
                             TimePoint next_run) override;
  Status finish_job_run(const std::string& job, const std::string& result) override;
  Status record_requested_run(const RequestedRun& asked) override;
  Status finish_requested_run(const Uuid& id, const std::string& result) override;
  Result<std::optional<RequestedRun>> find_requested_run(const Uuid& id) override;
  Result<std::vector<Message>> messages_to_refresh(const std::string& instance, TimePoint since, int limit) override;
  Result<std::vector<Message>> claim_cost_polls(const std::string& instance, TimePoint since, int limit,
                                                int max_polls) override;
  Result<int> requeue_retryable_failures(TimePoint since, int max_attempts, int limit) override;
  Result<int> delete_messages_before(TenantId tenant, TimePoint cutoff, int limit) override;
  Result<int> delete_unassigned_inbound_before(TimePoint cutoff, int limit) override;
  Result<int> delete_audit_before(TenantId tenant, TimePoint cutoff, int limit) override;
  Result<int> delete_usage_days_before(TimePoint cutoff, int limit) override;
  Result<int> redact_messages_before(TenantId tenant, TimePoint cutoff, int limit) override;
  Result<std::vector<Tenant>> list_tenants() override;
  // Key rotation (barid-gateway rotate-key): re-seals with the current
  // sealing key up to `limit` rows of `table` ("messages" or
  // "inbound_messages") after the row id `after` (raw bytes, empty: from the
  // start) whose content is sealed with another key or stored in clear.
  struct ResealBatch {
    int scanned = 0;   // rows looked at (0: the table is done)
    int resealed = 0;
    int failed = 0;    // rows whose content did not open (left as they are)
    std::string last;  // the last row id looked at: where the next batch starts
    std::string first_error;
  };
  Result<ResealBatch> reseal(const std::string& table, const std::string& after, int limit);
  // Re-seals up to `limit` numbers of the webhook outbox sealed with another
  // key; with numbers sealed, also converts up to `limit` numbers still in
  // clear in opt_outs, recipient_preferences (number and key),
  // webhook_events and audit subjects to their keyed hash (or a sealed
  // copy). Returns how many it changed (0: nothing left).
  Result<int> reseal_numbers(int limit);
  // How many rows of each table are sealed with each key ("" : in clear).
  Result<std::map<std::string, std::map<std::string, long long>>> sealed_counts();

  Status save_provider_health(const std::string& instance, const sdk::HealthReport& report,
                              const std::string& node) override;
  Result<std::map<std::string, HealthRecord>> provider_health() override;

 private:
  std::unique_ptr<mysql::ConnectionPool> pool_;
  // Whose turn it is at each instance, per channel and priority
  // (TenantTurns): this node's own cursor, see claim_due.
  std::mutex turns_mutex_;
  std::map<std::string, TenantTurns::Cursor> turns_;
};

}  // namespace barid::core
