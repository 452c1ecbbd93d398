#pragma once
// The MySQL (MariaDB) store through MySQL Connector/C++ 1.1: a pool of
// connections, versioned migrations, reconnection after a server restart,
// multi-row inserts for the accept path.

#include <barid/core/mysql_options.hpp>
#include <barid/core/store.hpp>

#include <memory>

namespace barid::core {

namespace mysql {
class ConnectionPool;
}  // namespace mysql

class MySqlStore final : public Store {
 public:
  explicit MySqlStore(MySqlOptions options);
  ~MySqlStore() override;

  Status migrate() override;
  Status ping() override;

  Result<Tenant> ensure_tenant(const std::string& name) override;
  Result<std::optional<Tenant>> find_tenant(TenantId id) override;
  Status add_api_key(const ApiKeyRecord& key) override;
  Result<std::optional<ApiKeyRecord>> find_api_key(const std::string& key_id) override;

  Result<std::vector<InsertOutcome>> insert_messages(const std::vector<NewMessage>& batch) override;

  Result<std::vector<Message>> claim_due(const std::string& owner, int limit,
                                         std::chrono::milliseconds lease) override;
  Status record_attempts(const std::vector<AttemptResult>& results) override;
  Status release(const std::string& owner, const std::vector<MessageId>& ids) override;
  Result<int> requeue_expired_leases(int limit, int max_attempts_slack) override;

  Result<std::optional<Message>> find_message(TenantId tenant, const MessageId& id) override;
  Result<std::vector<MessageEvent>> list_events(TenantId tenant, const MessageId& id) override;

  Result<std::vector<ReportOutcome>> apply_reports(const std::string& instance,
                                                   const std::vector<sdk::StatusUpdate>& updates,
                                                   const Actor& actor) override;

 private:
  std::unique_ptr<mysql::ConnectionPool> pool_;
};

}  // namespace barid::core
