// The MySQL store against a real MariaDB (the one scripts/test starts): each
// test gets a database of its own.

#include "store_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

namespace barid::core {
namespace {

TEST_F(MySqlStoreTest, MigrationsAreRecordedAndIdempotent) {
  const std::string applied = db_->scalar("SELECT COUNT(*) FROM schema_migrations");
  EXPECT_NE(applied, "0");
  EXPECT_EQ(db_->scalar("SELECT MAX(version) FROM schema_migrations"), applied);  // 1..n, none skipped
  ASSERT_TRUE(store_->migrate().ok());
  EXPECT_EQ(db_->scalar("SELECT COUNT(*) FROM schema_migrations"), applied);
  EXPECT_EQ(db_->scalar("SELECT TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                        "AND TABLE_NAME = 'messages'"),
            "utf8mb4_unicode_ci");
}

TEST_F(MySqlStoreTest, TenantsAreCreatedOnce) {
  auto again = store_->ensure_tenant("clinic-a");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, tenant_);
  EXPECT_NE(tenant_, other_tenant_);
  auto found = store_->find_tenant(tenant_);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->name, "clinic-a");
}

TEST_F(MySqlStoreTest, ApiKeysAreFoundByIdWithTheirHash) {
  ApiKeyRecord k;
  k.key_id = "abcdef0123456789";
  k.tenant_id = tenant_;
  k.secret_hash = std::string(32, '\x01');
  k.label = "ops";
  k.secret_hash[5] = '\0';  // binary-safe
  ASSERT_TRUE(store_->add_api_key(k).ok());
  auto found = store_->find_api_key("abcdef0123456789");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->tenant_id, tenant_);
  EXPECT_EQ((*found)->secret_hash, k.secret_hash);
  EXPECT_FALSE((*found)->revoked);
  auto missing = store_->find_api_key("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(MySqlStoreTest, ArabicAndEmojiRoundTripByteExact) {
  const std::string body = "مرحبا أحمد، موعدك غدًا الساعة ١٠:٠٠ 😀👨‍👩‍👧";
  auto m = message("+966501234567", body);
  auto out = insert({m});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, InsertOutcome::Kind::inserted);
  Message back = get(m.id);
  EXPECT_EQ(back.body, body);
  EXPECT_EQ(back.encoding, Encoding::ucs2);
  EXPECT_EQ(back.status, MessageStatus::queued);
  EXPECT_EQ(back.to, "+966501234567");
  EXPECT_EQ(event_types(m.id), std::vector<std::string>{"accepted"});
  auto events = store_->list_events(tenant_, m.id);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ((*events)[0].actor.actor, "key:test");
  EXPECT_EQ((*events)[0].actor.user_agent, "gtest");
  // The audit trail names ids and counts, never the body.
  EXPECT_EQ((*events)[0].detail.find("موعدك"), std::string::npos);
}

TEST_F(MySqlStoreTest, AnotherTenantDoesNotSeeTheMessage) {
  auto m = message();
  insert({m});
  auto r = store_->find_message(other_tenant_, m.id);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  auto events = store_->list_events(other_tenant_, m.id);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
}

TEST_F(MySqlStoreTest, IdempotencyKeyReturnsTheFirstMessage) {
  auto first = message();
  first.idempotency_key = "req-1";
  first.request_hash = std::string(32, 'a');
  insert({first});

  auto again = message();
  again.idempotency_key = "req-1";
  again.request_hash = std::string(32, 'a');
  auto out = insert({again});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, InsertOutcome::Kind::duplicate);
  EXPECT_EQ(out[0].id, first.id);

  auto different = message();
  different.idempotency_key = "req-1";
  different.request_hash = std::string(32, 'b');
  out = insert({different});
  EXPECT_EQ(out[0].kind, InsertOutcome::Kind::idempotency_mismatch);
  EXPECT_EQ(out[0].id, first.id);

  // The same key in another tenant is another request.
  auto other = message();
  other.tenant_id = other_tenant_;
  other.idempotency_key = "req-1";
  other.request_hash = std::string(32, 'a');
  out = insert({other});
  EXPECT_EQ(out[0].kind, InsertOutcome::Kind::inserted);
  EXPECT_EQ(db_->scalar("SELECT COUNT(*) FROM messages"), "2");
}

TEST_F(MySqlStoreTest, IdempotencyKeyRepeatedInsideOneBatch) {
  auto a = message();
  auto b = message();
  a.idempotency_key = b.idempotency_key = "same";
  a.request_hash = b.request_hash = std::string(32, 'x');
  auto out = insert({a, b});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, InsertOutcome::Kind::inserted);
  EXPECT_EQ(out[1].kind, InsertOutcome::Kind::duplicate);
  EXPECT_EQ(out[1].id, a.id);
  EXPECT_EQ(db_->scalar("SELECT COUNT(*) FROM message_events"), "1");
}

TEST_F(MySqlStoreTest, LargeBatchIsStoredInOneCall) {
  std::vector<NewMessage> batch;
  for (int i = 0; i < 2500; ++i) batch.push_back(message("+9665012345" + std::to_string(10 + i % 80)));
  auto out = insert(batch);
  ASSERT_EQ(out.size(), 2500u);
  EXPECT_EQ(db_->scalar("SELECT COUNT(*) FROM messages"), "2500");
  EXPECT_EQ(db_->scalar("SELECT COUNT(*) FROM message_events WHERE type = 'accepted'"), "2500");
}

TEST_F(MySqlStoreTest, SuppressedMessagesAreRecordedWithTheirReason) {
  auto m = message();
  m.status = MessageStatus::suppressed;
  m.status_reason = "the recipient opted out";
  insert({m});
  Message back = get(m.id);
  EXPECT_EQ(back.status, MessageStatus::suppressed);
  EXPECT_EQ(back.status_reason, "the recipient opted out");
  EXPECT_EQ(event_types(m.id), std::vector<std::string>{"suppressed"});
  auto claimed = claim("node-a", 10, std::chrono::seconds(30));
  ASSERT_TRUE(claimed.ok());
  EXPECT_TRUE(claimed->empty());
}

TEST_F(MySqlStoreTest, ClaimLeasesDueMessagesAndCountsTheAttempt) {
  auto due = message();
  auto later = message();
  later.status = MessageStatus::scheduled;
  later.scheduled_at = now_us() + std::chrono::hours(1);
  insert({due, later});

  auto claimed = claim("node-a", 10, std::chrono::seconds(30));
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].id, due.id);
  EXPECT_EQ((*claimed)[0].status, MessageStatus::sending);
  EXPECT_EQ((*claimed)[0].attempts, 1);
  EXPECT_EQ(db_->scalar("SELECT lease_owner FROM messages WHERE status = 'sending'"), "node-a");

  auto again = claim("node-b", 10, std::chrono::seconds(30));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());  // leased, and the other one is not due
}

TEST_F(MySqlStoreTest, ScheduledMessageIsClaimedOnceDue) {
  auto m = message();
  m.status = MessageStatus::scheduled;
  m.scheduled_at = now_us() + std::chrono::hours(1);
  insert({m});
  db_->execute("UPDATE messages SET next_attempt_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND");
  auto claimed = claim("node-a", 10, std::chrono::seconds(30));
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].id, m.id);
}

TEST_F(MySqlStoreTest, ConcurrentClaimersNeverShareAMessage) {
  std::vector<NewMessage> batch;
  for (int i = 0; i < 400; ++i) batch.push_back(message());
  insert(batch);

  MySqlStore second(db_->options());
  std::vector<MessageId> a_ids, b_ids;
  auto claim_all = [](MySqlStore& s, const std::string& owner, std::vector<MessageId>& into) {
    for (;;) {
      auto c = claim_messages(s, owner, 25, std::chrono::seconds(60));
      ASSERT_TRUE(c.ok()) << c.error().message;
      if (c->empty()) return;
      for (const auto& m : *c) into.push_back(m.id);
    }
  };
  std::thread ta([&] { claim_all(*store_, "node-a", a_ids); });
  std::thread tb([&] { claim_all(second, "node-b", b_ids); });
  ta.join();
  tb.join();

  std::set<MessageId> all(a_ids.begin(), a_ids.end());
  for (const auto& id : b_ids) EXPECT_FALSE(all.count(id)) << "claimed twice: " << id.str();
  all.insert(b_ids.begin(), b_ids.end());
  EXPECT_EQ(all.size(), 400u);
  EXPECT_EQ(a_ids.size() + b_ids.size(), 400u);
}

TEST_F(MySqlStoreTest, RecordedOutcomesMoveTheMessageAndAreAudited) {
  auto ok = message("+966501234561");
  auto retry = message("+966501234562");
  auto bad = message("+966501234563");
  insert({ok, retry, bad});
  auto claimed = claim("node-a", 10, std::chrono::seconds(30));
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 3u);

  AttemptResult r1;
  r1.id = ok.id;
  r1.tenant_id = tenant_;
  r1.decision = AttemptResult::Decision::sent;
  r1.provider_instance = "mock-sms";
  r1.provider_message_id = "P-1";
  r1.segments = 2;
  r1.cost = sdk::Money{7500, "USD"};
  AttemptResult r2;
  r2.id = retry.id;
  r2.tenant_id = tenant_;
  r2.decision = AttemptResult::Decision::retry;
  r2.provider_instance = "mock-sms";
  r2.retry_in = std::chrono::hours(1);
  r2.error = {"20429", "Too Many Requests"};
  AttemptResult r3;
  r3.id = bad.id;
  r3.tenant_id = tenant_;
  r3.decision = AttemptResult::Decision::failed;
  r3.provider_instance = "mock-sms";
  r3.error = {"21211", "invalid To"};
  ASSERT_TRUE(store_->record_attempts("node-a", {r1, r2, r3}).ok());

  Message m1 = get(ok.id);
  EXPECT_EQ(m1.status, MessageStatus::sent);
  EXPECT_EQ(m1.provider_message_id, "P-1");
  EXPECT_EQ(m1.segments, 2);
  ASSERT_TRUE(m1.cost.has_value());
  EXPECT_EQ(m1.cost->micros, 7500);
  EXPECT_EQ(m1.cost->currency, "USD");
  EXPECT_TRUE(m1.sent_at.has_value());

  Message m2 = get(retry.id);
  EXPECT_EQ(m2.status, MessageStatus::queued);
  EXPECT_EQ(m2.error_code, "20429");
  EXPECT_GT(*m2.next_attempt_at, now_us() + std::chrono::minutes(50));

  Message m3 = get(bad.id);
  EXPECT_EQ(m3.status, MessageStatus::failed);
  EXPECT_EQ(m3.error_code, "21211");
  EXPECT_TRUE(m3.failed_at.has_value());

  EXPECT_EQ(event_types(ok.id), (std::vector<std::string>{"accepted", "sent"}));
  EXPECT_EQ(event_types(retry.id), (std::vector<std::string>{"accepted", "retry_scheduled"}));
  EXPECT_EQ(event_types(bad.id), (std::vector<std::string>{"accepted", "failed"}));

  // Retry is not due for an hour: nothing to claim.
  auto next = claim("node-a", 10, std::chrono::seconds(30));
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->empty());
}

TEST_F(MySqlStoreTest, ReleaseGivesUntriedMessagesBackWithoutCountingAnAttempt) {
  auto m = message();
  insert({m});
  auto claimed = claim("node-a", 10, std::chrono::seconds(30));
  ASSERT_EQ(claimed->size(), 1u);
  ASSERT_TRUE(store_->release("node-b", {m.id}).ok());  // not the owner: nothing happens
  EXPECT_EQ(get(m.id).status, MessageStatus::sending);
  ASSERT_TRUE(store_->release("node-a", {m.id}).ok());
  Message back = get(m.id);
  EXPECT_EQ(back.status, MessageStatus::queued);
  EXPECT_EQ(back.attempts, 0);
}

TEST_F(MySqlStoreTest, ExpiredLeasesGoBackToTheQueue) {
  auto m = message();
  insert({m});
  auto claimed = claim("node-dead", 10, std::chrono::milliseconds(0));
  ASSERT_EQ(claimed->size(), 1u);
  db_->execute("UPDATE messages SET lease_expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND");
  auto n = store_->requeue_expired_leases(100, 2);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  Message back = get(m.id);
  EXPECT_EQ(back.status, MessageStatus::queued);
  EXPECT_EQ(back.attempts, 1);  // the lost attempt still counts
  EXPECT_EQ(event_types(m.id), (std::vector<std::string>{"accepted", "lease_expired"}));
  auto reclaimed = claim("node-b", 10, std::chrono::seconds(30));
  ASSERT_EQ(reclaimed->size(), 1u);
  EXPECT_EQ((*reclaimed)[0].attempts, 2);
}

TEST_F(MySqlStoreTest, AMessageThatKeepsLosingItsLeaseFails) {
  auto m = message();
  m.max_attempts = 1;
  insert({m});
  db_->execute("UPDATE messages SET attempts = 2");
  ASSERT_EQ(claim("node-dead", 10, std::chrono::seconds(30))->size(), 1u);  // attempts -> 3
  db_->execute("UPDATE messages SET lease_expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND");
  auto n = store_->requeue_expired_leases(100, 2);
  ASSERT_TRUE(n.ok());
  Message back = get(m.id);
  EXPECT_EQ(back.status, MessageStatus::failed);
  EXPECT_EQ(back.error_code, "LEASE-EXPIRED");
}

class ReportsTest : public MySqlStoreTest {
 protected:
  void SetUp() override {
    MySqlStoreTest::SetUp();
    m_ = message();
    insert({m_});
    auto claimed = claim("node-a", 10, std::chrono::seconds(30));
    ASSERT_EQ(claimed->size(), 1u);
    AttemptResult r;
    r.id = m_.id;
    r.tenant_id = tenant_;
    r.decision = AttemptResult::Decision::sent;
    r.provider_instance = "twilio-sms";
    r.provider_message_id = "SM1";
    ASSERT_TRUE(store_->record_attempts("node-a", {r}).ok());
  }

  sdk::StatusUpdate by_provider(MessageStatus s, std::string id = "SM1") {
    sdk::StatusUpdate u;
    u.provider_message_id = std::move(id);
    u.status = s;
    return u;
  }

  std::vector<ReportOutcome> apply(const std::string& instance, std::vector<sdk::StatusUpdate> updates) {
    auto r = store_->apply_reports(instance, updates, Actor{"provider:" + instance, "", ""});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : std::vector<ReportOutcome>{};
  }

  NewMessage m_;
};

TEST_F(ReportsTest, DeliveredThenLateSentDoesNotGoBackwards) {
  auto out = apply("twilio-sms", {by_provider(MessageStatus::delivered)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, ReportOutcome::Kind::applied);
  EXPECT_EQ(get(m_.id).status, MessageStatus::delivered);
  EXPECT_TRUE(get(m_.id).delivered_at.has_value());

  out = apply("twilio-sms", {by_provider(MessageStatus::sent)});
  EXPECT_EQ(out[0].kind, ReportOutcome::Kind::ignored);
  EXPECT_EQ(get(m_.id).status, MessageStatus::delivered);
  EXPECT_EQ(event_types(m_.id), (std::vector<std::string>{"accepted", "sent", "delivered", "report_ignored"}));
}

TEST_F(ReportsTest, SeveralReportsForOneMessageInOneBatch) {
  auto out = apply("twilio-sms", {by_provider(MessageStatus::delivered), by_provider(MessageStatus::read),
                                  by_provider(MessageStatus::sent)});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].kind, ReportOutcome::Kind::applied);
  EXPECT_EQ(out[1].kind, ReportOutcome::Kind::applied);
  EXPECT_EQ(out[2].kind, ReportOutcome::Kind::ignored);
  Message back = get(m_.id);
  EXPECT_EQ(back.status, MessageStatus::read);
  EXPECT_TRUE(back.read_at.has_value());
}

TEST_F(ReportsTest, MatchedByTheGatewaysOwnId) {
  sdk::StatusUpdate u;
  u.message_id = m_.id.str();
  u.status = MessageStatus::undelivered;
  u.error = {"30003", "Unreachable destination handset"};
  auto out = apply("twilio-sms", {u});
  EXPECT_EQ(out[0].kind, ReportOutcome::Kind::applied);
  Message back = get(m_.id);
  EXPECT_EQ(back.status, MessageStatus::undelivered);
  EXPECT_EQ(back.error_code, "30003");
}

TEST_F(ReportsTest, AnotherInstanceCannotTouchTheMessage) {
  sdk::StatusUpdate u;
  u.message_id = m_.id.str();
  u.status = MessageStatus::delivered;
  auto out = apply("unifonic-sms", {u, by_provider(MessageStatus::delivered)});
  EXPECT_EQ(out[0].kind, ReportOutcome::Kind::unknown_message);
  EXPECT_EQ(out[1].kind, ReportOutcome::Kind::unknown_message);
  EXPECT_EQ(get(m_.id).status, MessageStatus::sent);
}

TEST_F(ReportsTest, UnknownProviderIdIsReportedAsUnknown) {
  auto out = apply("twilio-sms", {by_provider(MessageStatus::delivered, "SM-unknown")});
  EXPECT_EQ(out[0].kind, ReportOutcome::Kind::unknown_message);
}

TEST_F(ReportsTest, CostArrivingWithALaterReportIsKept) {
  auto u = by_provider(MessageStatus::delivered);
  u.cost = sdk::Money{45000, "SAR"};
  u.segments = 3;
  apply("twilio-sms", {u});
  Message back = get(m_.id);
  ASSERT_TRUE(back.cost.has_value());
  EXPECT_EQ(back.cost->micros, 45000);
  EXPECT_EQ(back.cost->currency, "SAR");
  EXPECT_EQ(back.segments, 3);
}

TEST_F(MySqlStoreTest, ReconnectsAfterTheServerDropsItsConnections) {
  auto m = message();
  insert({m});
  ASSERT_TRUE(store_->ping().ok());
  ASSERT_NE(db_->scalar("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() "
                        "AND ID <> CONNECTION_ID()"),
            "0");
  // Kill every connection the store holds (a server restart looks the same
  // to the client: error 2006/2013 on the next query, prepared statements gone).
  db_->execute(
      "BEGIN NOT ATOMIC "
      "  FOR c IN (SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()) DO "
      "    KILL CONNECTION c.ID; "
      "  END FOR; "
      "END");
  // KILL is asynchronous: wait until the server has let them go.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (db_->scalar("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() "
                     "AND ID <> CONNECTION_ID()") != "0") {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the killed connections did not go away";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto found = store_->find_message(tenant_, m.id);  // a prepared statement, re-prepared on a new connection
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, m.id);
  auto more = insert({message()});
  EXPECT_EQ(more.size(), 1u);
}

}  // namespace
}  // namespace barid::core
