#pragma once
// A MySQL store on a database of its own (on the server scripts/test
// started), with two tenants, for the store's integration tests.

#include "test_database.hpp"

#include <barid/core/mysql_store.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace barid::core {

using testing::TestDatabase;

// Claims due SMS messages for an unpaced instance, as a dispatcher would.
inline Result<std::vector<Message>> claim_messages(MessageQueue& queue, const std::string& owner, int limit,
                                                   std::chrono::milliseconds lease) {
  ClaimRequest req;
  req.owner = owner;
  req.limit = limit;
  req.lease = lease;
  req.route = [](int) { return PacedRoute{"mock-sms", 0, 1}; };
  auto claim = queue.claim_due(req);
  if (!claim) return claim.error();
  std::vector<Message> out;
  for (auto& c : claim->messages) out.push_back(std::move(c.message));
  return out;
}

class MySqlStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>();
    store_ = std::make_unique<MySqlStore>(db_->options());
    ASSERT_TRUE(store_->migrate().ok());
    auto t = store_->ensure_tenant("clinic-a");
    ASSERT_TRUE(t.ok());
    tenant_ = t->id;
    auto other = store_->ensure_tenant("clinic-b");
    ASSERT_TRUE(other.ok());
    other_tenant_ = other->id;
  }

  NewMessage message(std::string to = "+966501234567", std::string body = "Your appointment is tomorrow") {
    NewMessage m;
    m.id = Uuid::v7();
    m.tenant_id = tenant_;
    m.to = std::move(to);
    m.body = std::move(body);
    m.segments = count_segments(m.body);
    m.max_attempts = 3;
    m.actor = {"key:test", "127.0.0.1", "gtest"};
    return m;
  }

  Result<std::vector<Message>> claim(const std::string& owner, int limit, std::chrono::milliseconds lease) {
    return claim_messages(*store_, owner, limit, lease);
  }

  std::vector<InsertOutcome> insert(const std::vector<NewMessage>& batch) {
    auto r = store_->insert_messages(batch);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : std::vector<InsertOutcome>{};
  }

  Message get(const MessageId& id) {
    auto r = store_->find_message(tenant_, id);
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r->has_value());
    return r.ok() && r->has_value() ? **r : Message{};
  }

  std::vector<std::string> event_types(const MessageId& id) {
    std::vector<std::string> out;
    auto r = store_->list_events(tenant_, id);
    EXPECT_TRUE(r.ok());
    if (r.ok())
      for (const auto& e : *r) out.push_back(e.type);
    return out;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<MySqlStore> store_;
  TenantId tenant_ = 0;
  TenantId other_tenant_ = 0;
};

}  // namespace barid::core
