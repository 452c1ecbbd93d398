// Tenants' usage in the store: counted in the transaction that stores the
// messages, and held to the tenant's limits across concurrent writers on
// several nodes.

#include "store_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace barid::core {
namespace {

class UsageTest : public MySqlStoreTest {
 protected:
  NewMessage charged(int n, std::optional<std::int64_t> day_limit, std::int64_t cost = 50000) {
    NewMessage m = message("+9665012" + std::to_string(10000 + n));
    m.charge.cost_micros = cost;
    m.charge.currency = "USD";
    m.charge.day_limit = day_limit;
    return m;
  }
};

TEST_F(UsageTest, AQuotaHoldsExactlyAcrossConcurrentWritersOnTwoNodes) {
  MySqlStore second(db_->options());
  std::atomic<int> stored{0}, over{0}, errors{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 8; ++w)
    writers.emplace_back([&, w] {
      MessageStore& store = w % 2 ? static_cast<MessageStore&>(second) : *store_;
      for (int b = 0; b < 5; ++b) {
        std::vector<NewMessage> batch;
        for (int i = 0; i < 4; ++i) batch.push_back(charged(w * 100 + b * 10 + i, 50));
        auto r = store.insert_messages(batch);
        if (!r) {
          ++errors;
          continue;
        }
        for (const auto& o : *r) (o.kind == InsertOutcome::Kind::inserted ? stored : over)++;
      }
    });
  for (auto& t : writers) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(stored.load(), 50);
  EXPECT_EQ(over.load(), 8 * 5 * 4 - 50);
  EXPECT_EQ(db_->scalar("SELECT COUNT(*) FROM messages WHERE tenant_id = " + std::to_string(tenant_)), "50");
  auto u = store_->usage(tenant_);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->day.messages, 50);
  EXPECT_EQ(u->month.messages, 50);
  EXPECT_EQ(u->month.cost_micros_by_currency.at("USD"), 50 * 50000);
  // Refused messages left no event behind.
  EXPECT_EQ(db_->scalar("SELECT COUNT(*) FROM message_events WHERE tenant_id = " + std::to_string(tenant_)), "50");
}

TEST_F(UsageTest, SuppressedMessagesAndReplaysAreNotCounted) {
  NewMessage suppressed = charged(1, 1);
  suppressed.status = MessageStatus::suppressed;
  suppressed.status_reason = "opted out";
  NewMessage keyed = charged(2, 1);
  keyed.idempotency_key = "appt-1";
  keyed.request_hash = std::string(32, 'h');
  auto r = store_->insert_messages({suppressed, keyed});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[1].kind, InsertOutcome::Kind::inserted);
  NewMessage replay = keyed;
  replay.id = Uuid::v7();
  auto again = store_->insert_messages({replay});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].kind, InsertOutcome::Kind::duplicate);  // not over the quota of 1: a replay costs nothing
  auto u = store_->usage(tenant_);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->day.messages, 1);
}

TEST_F(UsageTest, TheSpendCapCountsTheMonthsEstimatedCostInItsCurrency) {
  auto capped = [&](int n, std::int64_t cost, const std::string& currency) {
    NewMessage m = charged(n, std::nullopt, cost);
    m.charge.currency = currency;
    m.charge.spend_cap = sdk::Money{100000, "USD"};  // 0.10 USD
    return m;
  };
  auto r = store_->insert_messages({capped(1, 60000, "USD"), capped(2, 60000, "USD"), capped(3, 60000, "SAR"),
                                    capped(4, 40000, "USD")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].kind, InsertOutcome::Kind::inserted);
  EXPECT_EQ((*r)[1].kind, InsertOutcome::Kind::over_spend_cap);
  EXPECT_GT((*r)[1].retry_after_s, 0);
  EXPECT_EQ((*r)[2].kind, InsertOutcome::Kind::inserted);  // another currency: not this cap's
  EXPECT_EQ((*r)[3].kind, InsertOutcome::Kind::inserted);  // 0.06 + 0.04 = the cap, not past it
  auto u = store_->usage(tenant_);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->month.cost_micros_by_currency.at("USD"), 100000);
  EXPECT_EQ(u->month.cost_micros_by_currency.at("SAR"), 60000);
  EXPECT_EQ(u->month.messages, 3);
}

TEST_F(UsageTest, ABulkThatPassesTheQuotaIsNotStoredAtAll) {
  Batch b;
  b.id = Uuid::v7();
  b.tenant_id = tenant_;
  b.total = b.accepted = 3;
  std::vector<NewMessage> messages;
  for (int i = 0; i < 3; ++i) {
    messages.push_back(charged(i, 2));
    messages.back().batch_id = b.id;
  }
  auto r = store_->insert_batch(b, messages);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::quota);
  EXPECT_EQ(db_->scalar("SELECT COUNT(*) FROM batches"), "0");
  EXPECT_EQ(db_->scalar("SELECT COUNT(*) FROM messages"), "0");
  auto u = store_->usage(tenant_);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->day.messages, 0);
}

}  // namespace
}  // namespace barid::core
