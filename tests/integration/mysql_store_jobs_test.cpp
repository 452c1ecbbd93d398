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

// Every table that holds a body, a number or an inbound message, seeded with
// one row just past the period and one just inside it, for this tenant and
// for another: one pass removes exactly this tenant's old rows, and keeps the
// audit entry that is the evidence of an opt-out still in force.
TEST_F(StoreJobsTest, RetentionRemovesExactlyWhatIsPastThePeriodInEveryTable) {
  const std::string endpoint = "UNHEX('00000000000000000000000000000e01')";
  for (TenantId t : {tenant_, other_tenant_}) {
    const std::string tid = std::to_string(t);
    for (int days : {91, 89}) {
      const std::string at = "UTC_TIMESTAMP(6) - INTERVAL " + std::to_string(days) + " DAY";
      auto m = message();
      m.tenant_id = t;
      insert({m});
      set_status(m.id, "delivered");
      age(m.id, days);
      db_->execute("UPDATE message_events SET at = " + at + " WHERE message_id = " + unhex(m.id));
      const Uuid in = Uuid::v7();
      db_->execute("INSERT INTO inbound_messages (id, tenant_id, channel, instance, from_phone, body, received_at) "
                   "VALUES (" + unhex(in) + "," + tid + ",'sms','mock-sms','+966501234567','yes'," + at + ")");
      const Uuid ev = Uuid::v7();
      db_->execute("INSERT INTO webhook_events (id, tenant_id, type, message_id, phone, occurred_at) VALUES (" +
                   unhex(ev) + "," + tid + ",'message.delivered'," + unhex(m.id) + ",'+966501234567'," + at + ")");
      const std::string seq = db_->scalar("SELECT seq FROM webhook_events WHERE id = " + unhex(ev));
      db_->execute("INSERT INTO webhook_deliveries (event_seq, endpoint_id, tenant_id, status, next_attempt_at, "
                   "created_at) VALUES (" + seq + "," + endpoint + "," + tid + ",'delivered'," + at + "," + at + ")");
      db_->execute("INSERT INTO webhook_attempts (endpoint_id, tenant_id, event_seq, at, latency_ms, delivered) "
                   "VALUES (" + endpoint + "," + tid + "," + seq + "," + at + ", 5, 1)");
      for (const char* subject : {"phone:+966501111111", "phone:+966502222222"})
        db_->execute("INSERT INTO audit_log (tenant_id, at, action, subject) VALUES (" + tid + "," + at +
                     ",'preferences.updated','" + subject + "')");
    }
  }
  // +966501111111 is opted out (by the recipient, for every tenant).
  db_->execute("INSERT INTO opt_outs (tenant_id, phone, channel, source, created_at) VALUES "
               "(0, '+966501111111', 'sms', 'inbound STOP', UTC_TIMESTAMP(6) - INTERVAL 200 DAY)");

  auto n = store_->delete_messages_before(tenant_, ninety_days_ago, 1000);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 2);  // one message, one inbound message
  // The audit goes by its own period (the job gives it the longer of the
  // tenant's and jobs.retention.audit_min_days): here the same cutoff.
  auto audit = store_->delete_audit_before(tenant_, ninety_days_ago, 1000);
  ASSERT_TRUE(audit.ok()) << audit.error().message;
  EXPECT_EQ(*audit, 1);

  const std::string mine = "tenant_id = " + std::to_string(tenant_);
  const std::string theirs = "tenant_id = " + std::to_string(other_tenant_);
  auto rows = [&](const std::string& table, const std::string& where) {
    return db_->scalar("SELECT COUNT(*) FROM " + table + " WHERE " + where);
  };
  for (const char* table : {"messages", "message_events", "inbound_messages", "webhook_events", "webhook_deliveries",
                            "webhook_attempts"}) {
    EXPECT_EQ(rows(table, mine), "1") << table;    // the one inside the period
    EXPECT_EQ(rows(table, theirs), "2") << table;  // another tenant's: untouched
  }
  // The audit: both recent entries, and the old one about the opted-out number.
  EXPECT_EQ(rows("audit_log", mine), "3");
  EXPECT_EQ(rows("audit_log", mine + " AND subject = 'phone:+966501111111'"), "2");
  EXPECT_EQ(rows("audit_log", theirs), "4");
  EXPECT_EQ(rows("opt_outs", "phone = '+966501111111'"), "1");  // in force: kept whatever its age
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
