#pragma once
// The storage interface of the core. MySQL (MariaDB) through Connector/C++
// is the production backend (mysql_store.hpp); the interface stays narrow so
// that another backend can pass the same conformance tests.
//
// Scheduling comparisons use the database's clock (UTC_TIMESTAMP), so that
// gateway nodes with skewed clocks still agree on which message is due and
// which lease has expired.

#include <barid/core/message.hpp>
#include <barid/core/message_queue.hpp>
#include <barid/core/recipients.hpp>
#include <barid/core/result.hpp>
#include <barid/core/statistics.hpp>
#include <barid/core/templates.hpp>
#include <barid/core/webhooks.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace barid::core {

// What a tenant sets for itself (PUT /v1/settings).
struct TenantSettings {
  std::string default_language = "en";
  std::optional<int> retention_days;  // nullopt: the gateway's
  bool discard_content = false;       // content_retention "discard" by default
  std::optional<int> redact_after_days;
};

// Tenants, their API keys and settings, and the audit log of tenant-level actions.
class TenantStore {
 public:
  virtual ~TenantStore() = default;

  // --- tenants
  // The tenant with this name, created if there is none.
  virtual Result<Tenant> ensure_tenant(const std::string& name) = 0;
  // A new tenant; conflict when the name is taken.
  virtual Result<Tenant> create_tenant(const std::string& name) = 0;
  virtual Result<std::optional<Tenant>> find_tenant(TenantId id) = 0;
  virtual Result<std::optional<Tenant>> find_tenant_by_name(const std::string& name) = 0;
  virtual Result<std::vector<Tenant>> list_tenants() = 0;
  // Suspends or resumes; false when there is no such tenant.
  virtual Result<bool> set_tenant_suspended(TenantId id, bool suspended) = 0;
  // Replaces what the tenant may send; false when there is no such tenant.
  virtual Result<bool> set_tenant_policy(TenantId id, const TenantPolicy& policy) = 0;

  // --- API keys (a tenant's, or an operator's with tenant 0)
  virtual Status add_api_key(const ApiKeyRecord& key) = 0;
  // With whether its tenant is suspended.
  virtual Result<std::optional<ApiKeyRecord>> find_api_key(const std::string& key_id) = 0;
  virtual Result<std::vector<ApiKeyRecord>> list_api_keys(TenantId tenant) = 0;
  // Revokes it now (a revoked key stays revoked); the key as it is after,
  // with whether this call revoked it (false: it already was), or nullopt
  // when there is no such key.
  struct KeyRevocation {
    ApiKeyRecord key;
    bool revoked_now = false;
  };
  virtual Result<std::optional<KeyRevocation>> revoke_api_key(const std::string& key_id) = 0;
  // Keys revoked, keys created (and not revoked) and tenants suspended or
  // resumed since `since` (the database's clock), for the key caches of every
  // node; `as_of` is the next `since`.
  struct AuthChanges {
    std::vector<std::string> keys;
    std::vector<std::string> added;
    std::vector<TenantId> tenants;
    TimePoint as_of{};
  };
  virtual Result<AuthChanges> auth_changes_since(TimePoint since) = 0;
  // The ids of every key that is not revoked.
  virtual Result<std::vector<std::string>> active_api_key_ids() = 0;

  // What the tenant has sent today and this month (UTC), as the accept path
  // counted it.
  virtual Result<TenantUsage> usage(TenantId tenant) = 0;

  virtual Status update_tenant_settings(TenantId tenant, const TenantSettings& settings) = 0;
  virtual Status add_audit(const AuditEntry& entry) = 0;
  virtual Result<std::vector<AuditEntry>> list_audit(TenantId tenant, int limit, std::optional<std::int64_t> before) = 0;
};

// Messages as the API sees them: stored by the accept path (one by one or as a
// bulk batch), read, retried, canceled. Every read is scoped to a tenant.
class MessageStore {
 public:
  virtual ~MessageStore() = default;

  // --- intake
  // Stores a batch in one transaction and returns one outcome per message,
  // in order. Nothing is stored if an error is returned. Safe to call again
  // with the same batch (ids are the primary key). Each stored message is
  // counted in its tenant's usage in the same transaction, and one that its
  // `charge` limits do not allow is not stored (over_quota, over_spend_cap).
  virtual Result<std::vector<InsertOutcome>> insert_messages(const std::vector<NewMessage>& batch) = 0;

  // --- reads (scoped to a tenant: another tenant's message is not found)
  virtual Result<std::optional<Message>> find_message(TenantId tenant, const MessageId& id) = 0;
  virtual Result<std::vector<MessageEvent>> list_events(TenantId tenant, const MessageId& id) = 0;

  virtual Result<std::vector<Message>> list_messages(TenantId tenant, const MessageFilter& filter) = 0;
  // --- actions on one message (conflict errors say why not)
  // Back to the queue: failed or undelivered, with an attempt left.
  virtual Result<Message> retry_message(TenantId tenant, const MessageId& id, const Actor& actor) = 0;
  // Canceled: only while queued or scheduled.
  virtual Result<Message> cancel_message(TenantId tenant, const MessageId& id, const Actor& actor) = 0;
  // An action on the message that changed nothing (a refresh that found no
  // news), for its audit trail.
  virtual Status record_event(TenantId tenant, const MessageId& id, std::string_view type, std::string_view detail,
                              const Actor& actor) = 0;

  // --- bulk
  // The batch and its messages in one transaction. Returns the batch as
  // stored: an earlier one when the idempotency key was used before (then
  // `replayed` is set; a different request with the key is a conflict).
  struct BatchInsert {
    Batch batch;
    bool replayed = false;
  };
  // A batch that its tenant's limits do not allow whole is not stored: the
  // error is quota or spend_cap.
  virtual Result<BatchInsert> insert_batch(const Batch& batch, const std::vector<NewMessage>& messages) = 0;
  virtual Result<std::optional<Batch>> find_batch(TenantId tenant, const Uuid& id) = 0;
  virtual Result<std::map<std::string, std::int64_t>> batch_status_counts(TenantId tenant, const Uuid& id) = 0;
};

// Status reports from providers (webhooks and polls).
class DeliveryReports {
 public:
  virtual ~DeliveryReports() = default;

  // --- delivery reports from a provider instance
  // Finds each message by the gateway's id (when the provider echoed it and
  // the message was sent through `instance`) or by the provider's id, and
  // moves it forward when the state machine allows it; a report that would
  // move it backwards is recorded as ignored.
  virtual Result<std::vector<ReportOutcome>> apply_reports(const std::string& instance,
                                                           const std::vector<sdk::StatusUpdate>& updates,
                                                           const Actor& actor) = 0;
};

// Opt-outs, preferences and when each recipient last wrote.
class RecipientStore {
 public:
  virtual ~RecipientStore() = default;

  // --- recipients
  // Records an opt-out (one row per tenant, instance and channel: the same
  // again only updates its source and detail).
  virtual Status add_opt_out(const OptOut& opt_out) = 0;
  // A START through `instance`: removes the opt-outs of `phone` for `channel`
  // (and for "*") recorded through that instance for one of `tenants` (0:
  // the global route's), and those it recorded before opt-outs had a scope;
  // never one recorded through another instance. `notify` gets a
  // recipient.opted_in webhook event when one was removed.
  virtual Result<int> remove_opt_out(const std::vector<TenantId>& tenants, const std::string& phone,
                                     const std::string& channel, const std::string& instance,
                                     std::optional<TenantId> notify = std::nullopt) = 0;
  // Providers retry webhooks, so an inbound message is handled once per
  // provider id within kInboundMemory. claim_inbound is the one atomic step:
  // true for the one caller that is to handle it (no handled or live claim
  // exists), false for a duplicate, also one that overlaps the first. A
  // claim not finished within kInboundClaim (its node died) may be taken
  // again. finish_inbound records it handled, or, when handling failed,
  // releases the claim so that the provider's retry is handled.
  static constexpr std::chrono::hours kInboundMemory{24 * 7};
  static constexpr std::chrono::minutes kInboundClaim{5};
  virtual Result<bool> claim_inbound(const std::string& instance, const std::string& provider_message_id) = 0;
  virtual Status finish_inbound(const std::string& instance, const std::string& provider_message_id, bool handled) = 0;
  // --- inbound messages
  // The tenant an inbound message from `phone` to `to` through `instance`
  // belongs to, by the rule of InboundRecord; nullopt: none.
  virtual Result<std::optional<TenantId>> inbound_tenant(const std::string& phone, const std::string& instance,
                                                         const std::string& to, const InboundAssignment& rule) = 0;
  // Keeps an inbound message; one the instance's provider id was kept for
  // before is not kept again (false).
  virtual Result<bool> keep_inbound(const InboundRecord& m) = 0;
  virtual Result<std::vector<InboundRecord>> list_inbound(const InboundFilter& f) = 0;
  // The latest message of `tenant` to `phone` sent through `instance` whose
  // replies are still open (see Message::replies), if any.
  virtual Result<std::optional<OpenQuestion>> open_question(TenantId tenant, const std::string& phone,
                                                            const std::string& instance) = 0;
  // Records that inbound message `inbound` answered `message` with `intent`:
  // the message's reply intent and a "replied" event, in one transaction.
  virtual Status record_reply(TenantId tenant, const MessageId& message, const std::string& intent,
                              const Uuid& inbound) = 0;
  // When `phone` last wrote on `channel` in a message kept for `tenant`.
  virtual Result<std::optional<TimePoint>> last_inbound_of(TenantId tenant, const std::string& phone,
                                                          sdk::Channel channel) = 0;
  virtual Status put_preferences(TenantId tenant, const RecipientPreferences& preferences) = 0;
  // What is known of some recipients, in one round trip: the preferences of
  // `keys` (recipient keys, "id:..." / "phone:...") and the opt-outs that
  // concern `tenant` (its own and the global ones) for any of `phones`.
  virtual Result<RecipientRecords> find_recipients(TenantId tenant, const std::vector<std::string>& keys,
                                                   const std::vector<std::string>& phones) = 0;
  // The preferences of `tenant` stored under a recipient id whose record
  // names `phone` (never another tenant's), the most recently updated first.
  virtual Result<std::vector<RecipientPreferences>> preferences_naming(TenantId tenant, const std::string& phone) = 0;
};

// Message templates and their translations.
class TemplateStore {
 public:
  virtual ~TemplateStore() = default;

  // --- templates
  // Creates or replaces (all translations) the template with this code.
  virtual Result<Template> put_template(const Template& t) = 0;
  virtual Result<std::optional<Template>> find_template(TenantId tenant, const std::string& code) = 0;
  virtual Result<std::vector<Template>> list_templates(TenantId tenant) = 0;
  virtual Result<bool> delete_template(TenantId tenant, const std::string& code) = 0;
};

// Counts over a tenant's messages.
class StatisticsStore {
 public:
  virtual ~StatisticsStore() = default;

  // --- statistics
  virtual Result<Statistics> statistics(TenantId tenant, TimePoint from, TimePoint to) = 0;
};

// What the periodic jobs need: their schedule, and the messages and provider
// health they work on.
class JobStore {
 public:
  virtual ~JobStore() = default;

  // --- periodic jobs
  // True when this node may run `job` now: its next run was due and this
  // node moved it to `next_run` (exactly one node wins each run). A job seen
  // for the first time is first due at `first_run`, or at once without one.
  virtual Result<bool> claim_job_run(const std::string& job, const std::string& node,
                                     std::optional<TimePoint> first_run, TimePoint next_run) = 0;
  virtual Status finish_job_run(const std::string& job, const std::string& result) = 0;
  // Runs an operator asked for (POST /v1/admin/jobs/{name}/run): recorded
  // when asked, finished when done, read by id from any node. Runs asked
  // for more than 30 days ago are deleted as new ones are recorded.
  struct RequestedRun {
    Uuid id;
    std::string job;
    std::string node;
    std::string requested_by;
    TimePoint requested_at{};
    std::optional<TimePoint> finished_at;
    std::string result;
  };
  virtual Status record_requested_run(const RequestedRun& asked) = 0;
  virtual Status finish_requested_run(const Uuid& id, const std::string& result) = 0;
  virtual Result<std::optional<RequestedRun>> find_requested_run(const Uuid& id) = 0;
  // Sent but not final, sent through `instance` since `since`: up to `limit`,
  // the least recently polled first, marked as polled now (so a backlog
  // larger than `limit` is worked through in turn, not the same rows again).
  virtual Result<std::vector<Message>> messages_to_refresh(const std::string& instance, TimePoint since,
                                                           int limit) = 0;
  // Delivered, read or undelivered messages of `instance` sent since
  // `since` that have no cost yet and were polled for it fewer than
  // `max_polls` times; each returned message counts one more poll (some
  // providers, Twilio among them, price a message only after it is final).
  virtual Result<std::vector<Message>> claim_cost_polls(const std::string& instance, TimePoint since, int limit,
                                                        int max_polls) = 0;
  // Failed or undelivered since `since`, marked retryable, with attempts
  // below `max_attempts` in all: back to the queue. Returns how many.
  virtual Result<int> requeue_retryable_failures(TimePoint since, int max_attempts, int limit) = 0;
  // Deletes up to `limit` messages of `tenant` accepted before `cutoff`, and
  // their events; messages not yet sent (scheduled, queued, sending) are kept.
  // Up to `limit` of its inbound messages received before `cutoff` go too.
  // When fewer than `limit` of each are left, old batches with no message
  // left go too, and the tenant's webhook events of that age. Returns how
  // many messages and inbound messages.
  virtual Result<int> delete_messages_before(TenantId tenant, TimePoint cutoff, int limit) = 0;
  // Deletes up to `limit` inbound messages of no tenant received before
  // `cutoff`; returns how many.
  virtual Result<int> delete_unassigned_inbound_before(TimePoint cutoff, int limit) = 0;
  // Deletes up to `limit` audit entries of `tenant` (0: the operator's own)
  // recorded before `cutoff`, except the evidence of an opt-out still in
  // force (entries about a number or recipient that is opted out); returns
  // how many. The retention job gives it the later of the tenant's period
  // and jobs.retention.audit_min_days.
  virtual Result<int> delete_audit_before(TenantId tenant, TimePoint cutoff, int limit) = 0;
  // Deletes up to `limit` daily usage counters (tenant_usage, period 'd') of
  // days before `cutoff`'s; the quotas read only today's. Returns how many.
  virtual Result<int> delete_usage_days_before(TimePoint cutoff, int limit) = 0;
  // Erases the body and variables of up to `limit` final messages of
  // `tenant` created before `cutoff` (redact_after_days); returns how many.
  virtual Result<int> redact_messages_before(TenantId tenant, TimePoint cutoff, int limit) = 0;
  virtual Status save_provider_health(const std::string& instance, const sdk::HealthReport& report,
                                      const std::string& node) = 0;
  struct HealthRecord {
    sdk::HealthReport report;
    TimePoint checked_at{};
    std::string checked_by;
  };
  virtual Result<std::map<std::string, HealthRecord>> provider_health() = 0;
};

// Event webhooks: a tenant's endpoints, and the outbox's deliveries. Events
// themselves are written by the store in the transaction of the change they
// describe (a status change, a reply, an inbound message, an opt-out), for
// tenants that have an endpoint, with a delivery per enabled endpoint that
// wants the type.
class WebhookStore {
 public:
  virtual ~WebhookStore() = default;

  virtual Status add_webhook(const WebhookEndpoint& endpoint) = 0;
  virtual Result<std::vector<WebhookEndpoint>> list_webhooks(TenantId tenant) = 0;
  virtual Result<std::optional<WebhookEndpoint>> find_webhook(TenantId tenant, const Uuid& id) = 0;
  // Saves url, description, events and include_body; and, when `enabled`
  // is given, enables the endpoint (clearing failing_since) or disables it
  // with endpoint.disabled_reason.
  virtual Result<bool> update_webhook(const WebhookEndpoint& endpoint, std::optional<bool> enabled) = 0;
  // The endpoint goes, with its deliveries and attempts.
  virtual Result<bool> delete_webhook(TenantId tenant, const Uuid& id) = 0;
  // A new secret; the current one keeps signing until `previous_until`.
  virtual Result<bool> rotate_webhook_secret(TenantId tenant, const Uuid& id, const std::string& secret,
                                             TimePoint previous_until) = 0;

  // Leases up to `claim.limit` due deliveries of enabled endpoints for
  // `claim.lease` (database clock). Endpoints take turns: those with
  // something due, the one whose oldest due delivery waited longest first,
  // each give one delivery, then a second each, and so on, and none gives
  // more than its room (WebhookClaim). An endpoint's deliveries go oldest
  // due first. A delivery waits while an earlier event of the same message
  // is still pending for the same endpoint, unless `owner` holds that one
  // or takes it in the same claim: a message's events come in order, as a
  // chain for the owner to send one after the other. Each comes with what
  // its event describes (WebhookDelivery::message, ::inbound).
  virtual Result<std::vector<WebhookDelivery>> claim_webhook_deliveries(const std::string& owner,
                                                                        const WebhookClaim& claim) = 0;
  Result<std::vector<WebhookDelivery>> claim_webhook_deliveries(const std::string& owner, int limit,
                                                                std::chrono::milliseconds lease) {
    WebhookClaim claim;
    claim.limit = limit;
    claim.per_endpoint = limit;
    claim.lease = lease;
    return claim_webhook_deliveries(owner, claim);
  }
  // Extends to `lease` from now the leases `owner` still holds of these
  // deliveries (a node renews what it has claimed and not yet recorded, so
  // that a lease can be short and a crashed node's deliveries are taken up
  // soon); says how many it still held.
  virtual Result<int> extend_webhook_leases(const std::string& owner, const std::vector<WebhookDeliveryKey>& keys,
                                            std::chrono::milliseconds lease) = 0;
  // Gives back deliveries `owner` claimed and did not attempt (a node that
  // stops, or an endpoint disabled meanwhile): due again at once, to any
  // node, and the claim's attempt not counted.
  virtual Status release_webhook_deliveries(const std::string& owner, const std::vector<WebhookDeliveryKey>& keys) = 0;
  // Ends every lease `owner` holds: a node that starts again under the same
  // configured id takes back what its previous run held when it died, due
  // at once, instead of waiting for those leases to end. They may have been
  // sent already (at least once): their attempts stay counted. Says how many.
  virtual Result<int> end_webhook_leases_of(const std::string& owner) = 0;
  // Records the attempts and what follows each (see WebhookAttemptOutcome),
  // in one transaction; outcomes[i] is that of deliveries[i].
  virtual Status finish_webhook_deliveries(const std::vector<WebhookDelivery>& deliveries,
                                           const std::vector<WebhookAttemptOutcome>& outcomes) = 0;
  Status finish_webhook_delivery(const WebhookDelivery& delivery, const WebhookAttemptOutcome& outcome) {
    return finish_webhook_deliveries({delivery}, {outcome});
  }
  // The endpoint's attempts, newest first (before: the cursor, an attempt id).
  virtual Result<std::vector<WebhookAttempt>> list_webhook_attempts(TenantId tenant, const Uuid& endpoint, int limit,
                                                                    std::optional<std::int64_t> before) = 0;
  // Queues again, for the endpoint, the kept events of its tenant since
  // `since` that it wants, at most `limit` of them, the earliest first;
  // says how many, and where the rest begin. A conflict error while events
  // an earlier replay queued are still pending for the endpoint.
  virtual Result<WebhookReplay> replay_webhook_events(TenantId tenant, const Uuid& endpoint, TimePoint since,
                                                      int limit) = 0;
};

// The whole storage backend: every interface above, the dispatcher's queue
// (MessageQueue), and the schema. Code takes the narrowest interface it
// needs, so that each part can be tested against a fake of just that.
class Store : public TenantStore,
              public MessageStore,
              public MessageQueue,
              public DeliveryReports,
              public RecipientStore,
              public TemplateStore,
              public StatisticsStore,
              public JobStore,
              public WebhookStore {
 public:
  // Applies pending schema migrations (idempotent; safe with several nodes
  // starting at once).
  virtual Status migrate() = 0;
  // The database answers.
  virtual Status ping() = 0;
};

}  // namespace barid::core
