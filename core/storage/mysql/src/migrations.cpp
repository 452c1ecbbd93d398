#include "migrations.hpp"

namespace barid::core::mysql {

// Append only: a migration that has shipped is never edited; change the
// schema with a new one. Every table is utf8mb4 (Arabic and emoji
// round-trip byte-exact).
const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = {
      {1,
       "initial schema: tenants, api keys, messages, message events",
       {
           R"sql(
CREATE TABLE tenants (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  name VARCHAR(100) NOT NULL,
  default_language VARCHAR(8) NOT NULL DEFAULT 'en',
  retention_days INT UNSIGNED NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_tenants_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
           R"sql(
CREATE TABLE api_keys (
  id VARCHAR(32) NOT NULL,
  tenant_id INT UNSIGNED NOT NULL,
  secret_hash BINARY(32) NOT NULL,
  label VARCHAR(100) NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL,
  revoked_at DATETIME(6) NULL,
  PRIMARY KEY (id),
  KEY ix_api_keys_tenant (tenant_id),
  CONSTRAINT fk_api_keys_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
           // The queue and the record of every message. No foreign keys:
           // the accept path inserts in multi-row batches and retention
           // deletes in batches; tenant scoping is enforced by every query.
           R"sql(
CREATE TABLE messages (
  id BINARY(16) NOT NULL,
  tenant_id INT UNSIGNED NOT NULL,
  channel VARCHAR(16) NOT NULL,
  recipient VARCHAR(32) NOT NULL,
  sender VARCHAR(64) NOT NULL DEFAULT '',
  body TEXT NOT NULL,
  status VARCHAR(16) NOT NULL,
  status_reason VARCHAR(255) NOT NULL DEFAULT '',
  attempts SMALLINT UNSIGNED NOT NULL DEFAULT 0,
  max_attempts SMALLINT UNSIGNED NOT NULL,
  next_attempt_at DATETIME(6) NOT NULL,
  lease_owner VARCHAR(64) NULL,
  lease_expires_at DATETIME(6) NULL,
  provider_instance VARCHAR(64) NULL,
  provider_message_id VARCHAR(128) NULL,
  segments SMALLINT UNSIGNED NOT NULL,
  encoding VARCHAR(8) NOT NULL,
  cost_micros BIGINT NULL,
  cost_currency CHAR(3) NULL,
  error_code VARCHAR(32) NULL,
  error_message VARCHAR(512) NULL,
  idempotency_key VARCHAR(255) NULL,
  request_hash BINARY(32) NULL,
  batch_id BINARY(16) NULL,
  recipient_id VARCHAR(128) NULL,
  category VARCHAR(32) NULL,
  template_code VARCHAR(64) NULL,
  language VARCHAR(8) NULL,
  provider_template VARCHAR(128) NULL,
  template_variables TEXT NULL,
  reference VARCHAR(128) NULL,
  created_at DATETIME(6) NOT NULL,
  scheduled_at DATETIME(6) NULL,
  sent_at DATETIME(6) NULL,
  delivered_at DATETIME(6) NULL,
  read_at DATETIME(6) NULL,
  failed_at DATETIME(6) NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_messages_idempotency (tenant_id, idempotency_key),
  KEY ix_messages_due (status, next_attempt_at),
  KEY ix_messages_tenant_time (tenant_id, created_at),
  KEY ix_messages_provider_ref (provider_instance, provider_message_id),
  KEY ix_messages_batch (batch_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
           R"sql(
CREATE TABLE message_events (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  message_id BINARY(16) NOT NULL,
  tenant_id INT UNSIGNED NOT NULL,
  at DATETIME(6) NOT NULL,
  type VARCHAR(32) NOT NULL,
  status VARCHAR(16) NULL,
  detail VARCHAR(1024) NOT NULL DEFAULT '',
  actor VARCHAR(64) NOT NULL DEFAULT '',
  ip VARCHAR(45) NOT NULL DEFAULT '',
  user_agent VARCHAR(255) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  KEY ix_message_events_message (message_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
       }},
      {2,
       "opt-outs, recipient sessions and preferences, templates, batches, jobs, provider health",
       {
           // tenant_id 0: an opt-out that came from the recipient through a
           // provider (STOP, or the provider refusing an unsubscribed number);
           // it applies to every tenant. channel '*': every channel.
           R"sql(
CREATE TABLE opt_outs (
  tenant_id INT UNSIGNED NOT NULL,
  phone VARCHAR(32) NOT NULL,
  channel VARCHAR(16) NOT NULL,
  source VARCHAR(64) NOT NULL,
  detail VARCHAR(255) NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (phone, tenant_id, channel)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
           // When each recipient last wrote to us, per channel (the WhatsApp
           // 24-hour customer-service window).
           R"sql(
CREATE TABLE recipient_sessions (
  phone VARCHAR(32) NOT NULL,
  channel VARCHAR(16) NOT NULL,
  provider_instance VARCHAR(64) NOT NULL,
  last_inbound_at DATETIME(6) NOT NULL,
  PRIMARY KEY (phone, channel)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
           // A recipient is known by the tenant's own id for them, or by phone
           // when there is none: recipient_key is "id:<recipient_id>" or
           // "phone:<E.164>". Empty channels/categories mean no restriction.
           R"sql(
CREATE TABLE recipient_preferences (
  tenant_id INT UNSIGNED NOT NULL,
  recipient_key VARCHAR(160) NOT NULL,
  recipient_id VARCHAR(128) NULL,
  phone VARCHAR(32) NULL,
  channels VARCHAR(64) NOT NULL DEFAULT '',
  blocked_categories VARCHAR(512) NOT NULL DEFAULT '',
  language VARCHAR(8) NULL,
  opted_out TINYINT(1) NOT NULL DEFAULT 0,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (tenant_id, recipient_key),
  KEY ix_recipient_preferences_phone (tenant_id, phone)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
           R"sql(
CREATE TABLE templates (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  tenant_id INT UNSIGNED NOT NULL,
  code VARCHAR(64) NOT NULL,
  channels VARCHAR(64) NOT NULL,
  category VARCHAR(32) NULL,
  description VARCHAR(255) NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_templates_code (tenant_id, code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
           R"sql(
CREATE TABLE template_translations (
  template_id BIGINT UNSIGNED NOT NULL,
  language VARCHAR(8) NOT NULL,
  body TEXT NOT NULL,
  provider_template VARCHAR(128) NULL,
  provider_variables TEXT NULL,
  PRIMARY KEY (template_id, language),
  CONSTRAINT fk_template_translations_template FOREIGN KEY (template_id) REFERENCES templates (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
           R"sql(
CREATE TABLE batches (
  id BINARY(16) NOT NULL,
  tenant_id INT UNSIGNED NOT NULL,
  channel VARCHAR(16) NOT NULL,
  template_code VARCHAR(64) NULL,
  total INT UNSIGNED NOT NULL,
  accepted INT UNSIGNED NOT NULL,
  suppressed INT UNSIGNED NOT NULL,
  rejected INT UNSIGNED NOT NULL,
  idempotency_key VARCHAR(255) NULL,
  request_hash BINARY(32) NULL,
  actor VARCHAR(64) NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_batches_idempotency (tenant_id, idempotency_key),
  KEY ix_batches_tenant_time (tenant_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
           // One row per periodic job: a node runs a job only if it moves
           // next_run_at forward itself (an atomic UPDATE), so exactly one
           // node runs each scheduled run.
           R"sql(
CREATE TABLE jobs (
  name VARCHAR(64) NOT NULL,
  next_run_at DATETIME(6) NOT NULL,
  last_started_at DATETIME(6) NULL,
  last_finished_at DATETIME(6) NULL,
  last_node VARCHAR(64) NULL,
  last_result VARCHAR(1024) NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
           R"sql(
CREATE TABLE provider_health (
  instance VARCHAR(64) NOT NULL,
  state VARCHAR(16) NOT NULL,
  detail VARCHAR(512) NOT NULL DEFAULT '',
  checked_at DATETIME(6) NOT NULL,
  checked_by VARCHAR(64) NOT NULL DEFAULT '',
  PRIMARY KEY (instance)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
           // Whether a failure may be tried again (the retry sweep), and the
           // index the statistics and the status refresh read.
           "ALTER TABLE messages ADD COLUMN retryable TINYINT(1) NOT NULL DEFAULT 0 AFTER error_message",
           "ALTER TABLE messages ADD KEY ix_messages_sent (status, sent_at)",
           "ALTER TABLE messages ADD KEY ix_messages_failed (status, failed_at)",
       }},
      {3,
       "audit log of tenant-level API actions",
       {
           R"sql(
CREATE TABLE audit_log (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  tenant_id INT UNSIGNED NOT NULL,
  at DATETIME(6) NOT NULL,
  action VARCHAR(64) NOT NULL,
  subject VARCHAR(200) NOT NULL DEFAULT '',
  detail VARCHAR(1024) NOT NULL DEFAULT '',
  actor VARCHAR(64) NOT NULL DEFAULT '',
  ip VARCHAR(45) NOT NULL DEFAULT '',
  user_agent VARCHAR(255) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  KEY ix_audit_log_tenant (tenant_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
       }},
      {4,
       "statistics read only the tenant/time index (it covers every column they need)",
       {
           "ALTER TABLE messages DROP KEY ix_messages_tenant_time, ADD KEY ix_messages_tenant_time (tenant_id, "
           "created_at, status, channel, provider_instance, cost_currency, cost_micros, attempts, delivered_at, "
           "error_code)",
       }},
      {5,
       "count how often a final message was polled for the cost its provider reports late",
       {
           "ALTER TABLE messages ADD COLUMN cost_polls TINYINT UNSIGNED NOT NULL DEFAULT 0 AFTER cost_currency",
       }},
      {6,
       "the status refresh, cost polls and retry sweep read ix_messages_due: next_attempt_at holds when a sent or "
       "failed message got there",
       {
           "UPDATE messages SET next_attempt_at = COALESCE(failed_at, sent_at, next_attempt_at) "
           "WHERE status IN ('sent', 'delivered', 'read', 'undelivered', 'failed')",
           "ALTER TABLE messages DROP KEY ix_messages_sent, DROP KEY ix_messages_failed",
       }},
      {7,
       "the status refresh polls the least recently polled first; delivery time counts from when a scheduled "
       "message was due, so the statistics index covers scheduled_at",
       {
           "ALTER TABLE messages ADD COLUMN polled_at DATETIME(6) NULL AFTER cost_polls",
           "ALTER TABLE messages DROP KEY ix_messages_tenant_time, ADD KEY ix_messages_tenant_time (tenant_id, "
           "created_at, status, channel, provider_instance, cost_currency, cost_micros, attempts, scheduled_at, "
           "delivered_at, error_code)",
       }},
      {8,
       "dispatch by priority and channel, validity, provider pace shared by every node",
       {
           // 0 high, 1 normal, 2 low. The claim reads one (status, channel,
           // priority) range at a time, oldest due first; the jobs' ranges of
           // sent or failed messages list the channels and priorities.
           "ALTER TABLE messages ADD COLUMN priority TINYINT UNSIGNED NOT NULL DEFAULT 1 AFTER status, "
           "ADD COLUMN expires_at DATETIME(6) NULL AFTER scheduled_at, DROP KEY ix_messages_due, "
           "ADD KEY ix_messages_due (status, channel, priority, next_attempt_at)",
           // The next free send slot of each paced provider instance: a
           // claim reserves slots here, under the row's lock, so that every
           // node together keeps the instance's rate.
           R"sql(
CREATE TABLE provider_pace (
  instance VARCHAR(64) NOT NULL,
  next_slot_at DATETIME(6) NOT NULL,
  PRIMARY KEY (instance)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
           "ALTER TABLE templates ADD COLUMN priority TINYINT UNSIGNED NULL AFTER description, "
           "ADD COLUMN validity_seconds INT UNSIGNED NULL AFTER priority",
       }},
      {9,
       "idempotency keys compare byte for byte: Appt-77 and appt-77 are two requests",
       {
           "ALTER TABLE messages MODIFY idempotency_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL",
           "ALTER TABLE batches MODIFY idempotency_key VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL",
       }},
      {10,
       "operator keys (no tenant), scopes on keys, suspended tenants, and when either changed (for the caches of "
       "every node)",
       {
           "ALTER TABLE tenants ADD COLUMN suspended_at DATETIME(6) NULL, ADD COLUMN changed_at DATETIME(6) NULL, "
           "ADD KEY ix_tenants_changed (changed_at)",
           "ALTER TABLE api_keys DROP FOREIGN KEY fk_api_keys_tenant",
           "ALTER TABLE api_keys MODIFY tenant_id INT UNSIGNED NULL, ADD COLUMN role VARCHAR(16) NOT NULL DEFAULT "
           "'tenant' AFTER tenant_id, ADD COLUMN scopes VARCHAR(64) NOT NULL DEFAULT 'send,read,manage' AFTER role, "
           "ADD KEY ix_api_keys_revoked (revoked_at)",
           "ALTER TABLE api_keys ADD CONSTRAINT fk_api_keys_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id)",
       }},
      {11,
       "what each tenant may send (senders, provider templates, countries), as its operator set it",
       {
           "ALTER TABLE tenants ADD COLUMN policy TEXT NULL",
       }},
      {12,
       "every node keeps the ids of all live keys, and each second reads the keys created since",
       {
           "ALTER TABLE api_keys ADD KEY ix_api_keys_created (created_at)",
       }},
      {13,
       "what each tenant sent today and this month, for its quotas, spend cap and GET /v1/usage",
       {
           // One tenant's commits spread over `slot` rows, so that two
           // writers do not wait for each other's row; a tenant with limits
           // locks its row in `tenants` while it checks and counts.
           R"sql(
CREATE TABLE tenant_usage (
  tenant_id INT UNSIGNED NOT NULL,
  period CHAR(1) CHARACTER SET ascii NOT NULL,
  period_start DATE NOT NULL,
  slot TINYINT UNSIGNED NOT NULL,
  currency CHAR(3) CHARACTER SET ascii NOT NULL DEFAULT '',
  messages BIGINT UNSIGNED NOT NULL DEFAULT 0,
  segments BIGINT UNSIGNED NOT NULL DEFAULT 0,
  cost_micros BIGINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, period, period_start, slot, currency)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
       }},
      {14,
       "inbound messages are handled once per provider id: a webhook the provider retries changes nothing",
       {
           R"sql(
CREATE TABLE inbound_handled (
  instance VARCHAR(64) NOT NULL,
  provider_message_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  handled_at DATETIME(6) NOT NULL,
  PRIMARY KEY (instance, provider_message_id),
  KEY ix_inbound_handled_at (handled_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
       }},
      {15,
       "inbound messages are kept, each with the tenant it belongs to; messages are found by recipient (the "
       "tenant that last wrote to a number)",
       {
           // tenant_id NULL: no tenant could be found (the operator sees it).
           R"sql(
CREATE TABLE inbound_messages (
  id BINARY(16) NOT NULL,
  tenant_id INT UNSIGNED NULL,
  channel VARCHAR(16) NOT NULL,
  instance VARCHAR(64) NOT NULL,
  from_phone VARCHAR(32) NOT NULL,
  to_address VARCHAR(64) NOT NULL DEFAULT '',
  body TEXT NOT NULL,
  provider_message_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  received_at DATETIME(6) NOT NULL,
  message_id BINARY(16) NULL,
  intent VARCHAR(64) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_inbound_provider_id (instance, provider_message_id),
  KEY ix_inbound_tenant (tenant_id, id),
  KEY ix_inbound_tenant_phone (tenant_id, from_phone, id),
  KEY ix_inbound_received (received_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
           "ALTER TABLE messages ADD KEY ix_messages_recipient (recipient, created_at)",
           // When a number last wrote is now read per tenant from the kept
           // messages: the global record told every tenant of every number.
           "DROP TABLE recipient_sessions",
       }},
      {16,
       "a send may expect replies (answer -> intent) for a while; the intent of the reply that answered it",
       {
           "ALTER TABLE messages ADD COLUMN replies TEXT NULL, ADD COLUMN replies_until DATETIME(6) NULL, "
           "ADD COLUMN reply_intent VARCHAR(64) NULL, ADD COLUMN replied_at DATETIME(6) NULL",
           "ALTER TABLE template_translations ADD COLUMN replies TEXT NULL",
       }},
      {17,
       "event webhooks: tenants' endpoints, the outbox of events, a delivery per event and endpoint, and every "
       "attempt",
       {
           // events: a comma-separated list of types, '' for all.
           R"sql(
CREATE TABLE webhook_endpoints (
  id BINARY(16) NOT NULL,
  tenant_id INT UNSIGNED NOT NULL,
  url VARCHAR(2048) NOT NULL,
  description VARCHAR(255) NOT NULL DEFAULT '',
  events VARCHAR(512) NOT NULL DEFAULT '',
  include_body TINYINT(1) NOT NULL DEFAULT 0,
  secret VARCHAR(128) CHARACTER SET ascii NOT NULL,
  previous_secret VARCHAR(128) CHARACTER SET ascii NULL,
  previous_secret_until DATETIME(6) NULL,
  disabled_at DATETIME(6) NULL,
  disabled_reason VARCHAR(255) NULL,
  failing_since DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY ix_webhook_endpoints_tenant (tenant_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
           // seq: the order events were written; a message's events are
           // written under its row lock, so seq is their order.
           R"sql(
CREATE TABLE webhook_events (
  seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  id BINARY(16) NOT NULL,
  tenant_id INT UNSIGNED NOT NULL,
  type VARCHAR(32) NOT NULL,
  message_id BINARY(16) NULL,
  status VARCHAR(16) NULL,
  detail VARCHAR(1024) NOT NULL DEFAULT '',
  inbound_id BINARY(16) NULL,
  phone VARCHAR(32) NULL,
  channel VARCHAR(16) NULL,
  occurred_at DATETIME(6) NOT NULL,
  PRIMARY KEY (seq),
  UNIQUE KEY uq_webhook_events_id (id),
  KEY ix_webhook_events_tenant_time (tenant_id, occurred_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
           // status: pending, delivered or failed (given up).
           R"sql(
CREATE TABLE webhook_deliveries (
  event_seq BIGINT UNSIGNED NOT NULL,
  endpoint_id BINARY(16) NOT NULL,
  tenant_id INT UNSIGNED NOT NULL,
  message_id BINARY(16) NULL,
  status VARCHAR(16) NOT NULL,
  attempts INT UNSIGNED NOT NULL DEFAULT 0,
  next_attempt_at DATETIME(6) NOT NULL,
  lease_owner VARCHAR(64) NULL,
  lease_expires_at DATETIME(6) NULL,
  last_status_code SMALLINT NULL,
  last_error VARCHAR(512) NULL,
  created_at DATETIME(6) NOT NULL,
  delivered_at DATETIME(6) NULL,
  PRIMARY KEY (event_seq, endpoint_id),
  KEY ix_webhook_deliveries_due (status, next_attempt_at),
  KEY ix_webhook_deliveries_order (endpoint_id, message_id, event_seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
           R"sql(
CREATE TABLE webhook_attempts (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  endpoint_id BINARY(16) NOT NULL,
  tenant_id INT UNSIGNED NOT NULL,
  event_seq BIGINT UNSIGNED NOT NULL,
  at DATETIME(6) NOT NULL,
  status_code SMALLINT NULL,
  latency_ms INT UNSIGNED NOT NULL,
  error VARCHAR(512) NULL,
  delivered TINYINT(1) NOT NULL,
  PRIMARY KEY (id),
  KEY ix_webhook_attempts_endpoint (endpoint_id, id),
  KEY ix_webhook_attempts_event (event_seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
       }},
      {18,
       "privacy: the key that sealed a message's or an inbound message's content (NULL: stored in clear), discard "
       "after delivery and the time a body was erased; a tenant's privacy defaults",
       {
           "ALTER TABLE messages ADD COLUMN content_key VARCHAR(32) CHARACTER SET ascii NULL, ADD COLUMN "
           "discard_content TINYINT(1) NOT NULL DEFAULT 0, ADD COLUMN body_redacted_at DATETIME(6) NULL",
           "ALTER TABLE inbound_messages ADD COLUMN body_key VARCHAR(32) CHARACTER SET ascii NULL",
           "ALTER TABLE tenants ADD COLUMN discard_content TINYINT(1) NOT NULL DEFAULT 0, ADD COLUMN "
           "redact_after_days INT UNSIGNED NULL",
           // A read of bodies names every message it showed.
           "ALTER TABLE audit_log MODIFY detail TEXT NOT NULL DEFAULT ''",
       }},
      {19,
       "privacy: numbers stored as keyed hashes (privacy.encryption.numbers), each with a sealed copy where it is "
       "shown",
       {
           "ALTER TABLE messages ADD COLUMN recipient_sealed TEXT NULL",
           "ALTER TABLE inbound_messages ADD COLUMN from_sealed TEXT NULL",
           "ALTER TABLE webhook_events ADD COLUMN phone_sealed TEXT NULL, ADD COLUMN phone_key VARCHAR(32) CHARACTER "
           "SET ascii NULL",
       }},
      {20,
       "opt-outs have a scope: the instance an opt-out came through, so that it applies to the tenants that instance "
       "serves and only a START through it removes it",
       {
           // '' : recorded before (tenant 0, applying to every tenant).
           "ALTER TABLE opt_outs ADD COLUMN instance VARCHAR(64) NOT NULL DEFAULT '' AFTER channel, DROP PRIMARY KEY, "
           "ADD PRIMARY KEY (phone, tenant_id, channel, instance)",
       }},
      {21,
       "job runs an operator asked for, read by id from any node",
       {
           R"sql(
CREATE TABLE job_runs (
  id BINARY(16) NOT NULL,
  job VARCHAR(64) CHARACTER SET ascii NOT NULL,
  node VARCHAR(64) NOT NULL,
  requested_by VARCHAR(64) NOT NULL,
  requested_at DATETIME(6) NOT NULL,
  finished_at DATETIME(6) NULL,
  result TEXT NULL,
  PRIMARY KEY (id),
  KEY ix_job_runs_requested (requested_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci)sql",
       }},
      {22,
       "an inbound message is claimed before it is handled (done = 0) and marked once handled, so that two "
       "overlapping deliveries of it are handled once",
       {
           "ALTER TABLE inbound_handled ADD COLUMN done TINYINT(1) NOT NULL DEFAULT 1",
       }},
      {23,
       "webhooks: claims take endpoints in turn (the endpoints with something due, and each one's due deliveries, "
       "read by an index range of their own)",
       {
           "ALTER TABLE webhook_deliveries ADD KEY ix_webhook_deliveries_endpoint_due (status, endpoint_id, "
           "next_attempt_at)",
       }},
      {24,
       "webhooks: the deliveries a replay queued are marked, so that the next replay waits for them",
       {
           "ALTER TABLE webhook_deliveries ADD COLUMN replayed TINYINT(1) NOT NULL DEFAULT 0",
       }},
      {25,
       "within one priority the tenants take turns at a shared instance's send slots: the claim reads each "
       "tenant's due messages apart",
       {
           "ALTER TABLE messages ADD KEY ix_messages_turns (status, channel, priority, tenant_id, next_attempt_at)",
       }},
  };
  return all;
}

}  // namespace barid::core::mysql
