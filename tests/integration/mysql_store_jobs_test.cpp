// What the periodic jobs ask of the MySQL store, against a real MariaDB:
// retention, the status refresh's choice of messages, claiming a job run.

#include "store_fixture.hpp"

#include <gtest/gtest.h>

#include <set>

namespace barid::core {
namespace {

using namespace std::chrono;

std::string unhex(const MessageId& id) { return "UNHEX(REPLACE('" + id.str() + "', '-', ''))"; }

class StoreJobsTest : public MySqlStoreTest {
 protected:
  // Moves a stored message's acceptance `days` back.
  void age(const MessageId& id, int days) {
    db_->execute("UPDATE messages SET created_at = UTC_TIMESTAMP(6) - INTERVAL " + std::to_string(days) +
                 " DAY WHERE id = " + unhex(id));
  }
  void set_status(const MessageId& id, const std::string& status) {
    db_->execute("UPDATE messages SET status = '" + status + "' WHERE id = " + unhex(id));
  }
  std::string count(const std::string& where) {
    return db_->scalar("SELECT COUNT(*) FROM messages WHERE " + where);
  }
  const TimePoint ninety_days_ago = now_us() - hours(24 * 90);
};

TEST_F(StoreJobsTest, RetentionKeepsMessagesThatHaveNotGoneOutYet) {
  auto delivered = message(), failed = message(), queued = message(), scheduled = message(), sending = message();
  scheduled.status = MessageStatus::scheduled;  // a reminder booked far ahead
  scheduled.scheduled_at = now_us() + hours(24 * 200);
  insert({delivered, failed, queued, scheduled, sending});
  set_status(delivered.id, "delivered");
  set_status(failed.id, "failed");
  set_status(sending.id, "sending");
  for (const auto* m : {&delivered, &failed, &queued, &scheduled, &sending}) age(m->id, 120);
  ASSERT_EQ(get(scheduled.id).status, MessageStatus::scheduled);

  auto n = store_->delete_messages_before(tenant_, ninety_days_ago, 1000);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(count("1"), "3");
  EXPECT_EQ(count("status IN ('queued', 'scheduled', 'sending')"), "3");
  // Their events went with them; the others' stay.
  EXPECT_EQ(db_->scalar("SELECT COUNT(*) FROM message_events WHERE message_id = " + unhex(delivered.id)), "0");
  EXPECT_EQ(event_types(scheduled.id), (std::vector<std::string>{"accepted"}));
}

TEST_F(StoreJobsTest, RetentionDeletesInBatchesAndOnlyTheTenantsOwn) {
  std::vector<NewMessage> mine, theirs;
  for (int i = 0; i < 5; ++i) mine.push_back(message());
  for (int i = 0; i < 2; ++i) {
    auto m = message();
    m.tenant_id = other_tenant_;
    theirs.push_back(m);
  }
  insert(mine);
  insert(theirs);
  db_->execute("UPDATE messages SET status = 'delivered', created_at = UTC_TIMESTAMP(6) - INTERVAL 91 DAY");
  age(mine[4].id, 89);  // inside the period

  auto first = store_->delete_messages_before(tenant_, ninety_days_ago, 3);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 3);
  auto second = store_->delete_messages_before(tenant_, ninety_days_ago, 3);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, 1);
  EXPECT_EQ(count("tenant_id = " + std::to_string(tenant_)), "1");
  EXPECT_EQ(get(mine[4].id).id, mine[4].id);
  EXPECT_EQ(count("tenant_id = " + std::to_string(other_tenant_)), "2");
}

TEST_F(StoreJobsTest, RetentionDeletesAnOldBatchOnceNoneOfItsMessagesIsLeft) {
  auto batch = [&](int days_ago) {
    const MessageId id = Uuid::v7();
    db_->execute("INSERT INTO batches (id, tenant_id, channel, total, accepted, suppressed, rejected, created_at) "
                 "VALUES (" + unhex(id) + ", " + std::to_string(tenant_) + ", 'sms', 1, 1, 0, 0, "
                 "UTC_TIMESTAMP(6) - INTERVAL " + std::to_string(days_ago) + " DAY)");
    auto m = message();
    insert({m});
    db_->execute("UPDATE messages SET batch_id = " + unhex(id) + " WHERE id = " + unhex(m.id));
    age(m.id, days_ago);
    return std::make_pair(id, m.id);
  };
  auto [sent_batch, sent_message] = batch(100);
  auto [waiting_batch, waiting_message] = batch(100);  // its message still queued
  auto [recent_batch, recent_message] = batch(10);
  set_status(sent_message, "delivered");
  set_status(recent_message, "delivered");

  auto n = store_->delete_messages_before(tenant_, ninety_days_ago, 1000);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  auto batch_exists = [&](const MessageId& id) {
    return db_->scalar("SELECT COUNT(*) FROM batches WHERE id = " + unhex(id)) == "1";
  };
  EXPECT_FALSE(batch_exists(sent_batch));
  EXPECT_TRUE(batch_exists(waiting_batch));  // its message has not gone out
  EXPECT_TRUE(batch_exists(recent_batch));
}

TEST_F(StoreJobsTest, StatusRefreshWorksThroughABacklogInTurn) {
  std::vector<NewMessage> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(message());
  insert(batch);
  db_->execute("UPDATE messages SET status = 'sent', provider_instance = 'poll-me', "
               "provider_message_id = HEX(id), next_attempt_at = UTC_TIMESTAMP(6)");
  const TimePoint since = now_us() - hours(24);

  std::vector<std::set<std::string>> rounds;
  for (int round = 0; round < 3; ++round) {
    auto due = store_->messages_to_refresh("poll-me", since, 2);
    ASSERT_TRUE(due.ok()) << due.error().message;
    std::set<std::string> ids;
    for (const auto& m : *due) ids.insert(m.id.str());
    rounds.push_back(ids);
  }
  ASSERT_EQ(rounds[0].size(), 2u);
  ASSERT_EQ(rounds[1].size(), 2u);
  ASSERT_EQ(rounds[2].size(), 2u);
  std::set<std::string> seen;
  for (const auto& r : rounds) seen.insert(r.begin(), r.end());
  // Three rounds of two saw all five: nobody polled twice before everyone once.
  EXPECT_EQ(seen.size(), 5u);
  for (const auto& id : rounds[0]) EXPECT_EQ(rounds[1].count(id), 0u);
  // Another instance's messages and final ones are not asked for.
  EXPECT_TRUE(store_->messages_to_refresh("someone-else", since, 10)->empty());
  db_->execute("UPDATE messages SET status = 'delivered'");
  EXPECT_TRUE(store_->messages_to_refresh("poll-me", since, 10)->empty());
}

TEST_F(StoreJobsTest, ADailyJobIsFirstDueAtItsTimeAnIntervalJobAtOnce) {
  const TimePoint now = now_us();
  auto tonight = store_->claim_job_run("retention", "node-a", now + hours(3), now + hours(27));
  ASSERT_TRUE(tonight.ok());
  EXPECT_FALSE(*tonight);
  EXPECT_EQ(db_->scalar("SELECT next_run_at > UTC_TIMESTAMP(6) + INTERVAL 2 HOUR FROM jobs WHERE name = 'retention'"),
            "1");

  auto at_once = store_->claim_job_run("status-refresh", "node-a", std::nullopt, now + minutes(5));
  ASSERT_TRUE(at_once.ok());
  EXPECT_TRUE(*at_once);
  // Another node asking for the same run does not get it.
  auto again = store_->claim_job_run("status-refresh", "node-b", std::nullopt, now + minutes(5));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(db_->scalar("SELECT last_node FROM jobs WHERE name = 'status-refresh'"), "node-a");
}

}  // namespace
}  // namespace barid::core
