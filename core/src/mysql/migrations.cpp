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
  };
  return all;
}

}  // namespace barid::core::mysql
