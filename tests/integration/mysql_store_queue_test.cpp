// The MySQL store as the dispatcher's queue, on a real MariaDB: priority
// order, send slots shared by every node, validity, outcomes guarded by the
// lease, and one bad outcome never blocking the others.

#include "store_fixture.hpp"

#include <barid/sdk/encoding.hpp>

#include <gtest/gtest.h>

#include <cmath>

namespace barid::core {
namespace {

using namespace std::chrono;

class MySqlQueueTest : public MySqlStoreTest {
 protected:
  ClaimRequest request(const std::string& owner, int limit, double rate = 0) {
    ClaimRequest req;
    req.owner = owner;
    req.limit = limit;
    req.lease = seconds(30);
    req.horizon = milliseconds(1000);
    req.route = [rate](int) { return PacedRoute{"sms-paced", rate, 1}; };
    return req;
  }

  std::vector<MessageId> ids_of(const Claim& c) {
    std::vector<MessageId> out;
    for (const auto& m : c.messages) out.push_back(m.message.id);
    return out;
  }

  AttemptResult sent(const Message& m, std::string provider_id = "P-1") {
    AttemptResult r;
    r.id = m.id;
    r.tenant_id = tenant_;
    r.attempt = m.attempts;
    r.decision = AttemptResult::Decision::sent;
    r.provider_instance = "sms-paced";
    r.provider_message_id = std::move(provider_id);
    return r;
  }
};

TEST_F(MySqlQueueTest, HighGoesBeforeNormalBeforeLowAndADueScheduledMessageCompetesByPriority) {
  auto low = message();
  low.priority = Priority::low;
  auto normal = message();
  auto high = message();
  high.priority = Priority::high;
  auto reminder = message();  // scheduled, high, and due now
  reminder.priority = Priority::high;
  reminder.status = MessageStatus::scheduled;
  reminder.scheduled_at = now_us() + hours(1);
  insert({low, normal, high, reminder});
  db_->execute("UPDATE messages SET next_attempt_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE status = 'scheduled'");

  auto first = store_->claim_due(request("node-a", 2));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(ids_of(*first), (std::vector<MessageId>{reminder.id, high.id}));
  auto second = store_->claim_due(request("node-a", 10));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(ids_of(*second), (std::vector<MessageId>{normal.id, low.id}));
  EXPECT_EQ(get(low.id).priority, Priority::low);
}

// Clinic A's backlog of 300 and clinic B's three messages, all normal: the
// claims deal the instance's slots to the two in turn, each clinic's own
// messages oldest first, so B's are in the first six, not after A's 300.
TEST_F(MySqlQueueTest, WithinOnePriorityTenantsTakeTurnsSoABacklogHoldsNobody) {
  std::vector<NewMessage> backlog;
  for (int i = 0; i < 300; ++i) backlog.push_back(message());
  insert(backlog);
  std::vector<NewMessage> reminders;
  for (int i = 0; i < 3; ++i) {
    auto m = message();
    m.tenant_id = other_tenant_;
    reminders.push_back(m);
  }
  insert(reminders);
  ASSERT_LT(tenant_, other_tenant_);

  auto first = store_->claim_due(request("node-a", 6, 20));
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->messages.size(), 6u);
  std::vector<TenantId> whose;
  for (const auto& m : first->messages) whose.push_back(m.message.tenant_id);
  EXPECT_EQ(whose, (std::vector<TenantId>{tenant_, other_tenant_, tenant_, other_tenant_, tenant_, other_tenant_}));
  EXPECT_EQ(first->messages[0].message.id, backlog[0].id);
  EXPECT_EQ(first->messages[1].message.id, reminders[0].id);
  EXPECT_EQ(first->messages[5].message.id, reminders[2].id);
  // The slots go in that order: B's third has the sixth slot.
  for (std::size_t i = 1; i < first->messages.size(); ++i)
    EXPECT_GT(first->messages[i].send_at, first->messages[i - 1].send_at);
  // B has nothing left: the next claim is A's, oldest first.
  auto second = store_->claim_due(request("node-a", 4));
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(ids_of(*second), (std::vector<MessageId>{backlog[3].id, backlog[4].id, backlog[5].id, backlog[6].id}));
  // A message B sends now goes in the next claim's first turns.
  auto late = message();
  late.tenant_id = other_tenant_;
  insert({late});
  auto third = store_->claim_due(request("node-a", 3));
  ASSERT_TRUE(third.ok());
  ASSERT_EQ(third->messages.size(), 3u);
  EXPECT_EQ(third->messages[0].message.id, late.id);  // A had the last turn
}

// A tenant with a `share` of 3 takes three slots a turn; the other, one.
TEST_F(MySqlQueueTest, ATenantsShareWeighsItsTurns) {
  db_->execute("UPDATE tenants SET policy = '{\"share\": 3}' WHERE id = " + std::to_string(tenant_));
  std::vector<NewMessage> b, a;
  for (int i = 0; i < 50; ++i) {
    auto m = message();
    m.tenant_id = other_tenant_;
    b.push_back(m);
  }
  insert(b);  // B's are older
  for (int i = 0; i < 50; ++i) a.push_back(message());
  insert(a);
  ASSERT_LT(tenant_, other_tenant_);
  std::vector<TenantId> whose;
  for (int round = 0; round < 3; ++round) {
    auto c = store_->claim_due(request("node-a", 6));
    ASSERT_TRUE(c.ok()) << c.error().message;
    ASSERT_EQ(c->messages.size(), 6u);
    for (const auto& m : c->messages) whose.push_back(m.message.tenant_id);
  }
  const TenantId A = tenant_, B = other_tenant_;
  // Turns go on from one claim to the next.
  EXPECT_EQ(whose, (std::vector<TenantId>{A, A, A, B, A, A, A, B, A, A, A, B, A, A, A, B, A, A}));
}

TEST_F(MySqlQueueTest, TwoNodesShareOneInstancesSendSlots) {
  std::vector<NewMessage> batch;
  for (int i = 0; i < 20; ++i) batch.push_back(message());
  insert(batch);
  MySqlStore node_b(db_->options());

  // Each claim's slots are times from that claim's own clock (the
  // database's, read in the claim): B's are made comparable with A's through
  // the wall-clock time of each claim, known within how long it took.
  const auto began = steady_clock::now();
  const auto a_from = system_clock::now();
  auto a = store_->claim_due(request("node-a", 4, 10));
  const auto a_to = system_clock::now();
  ASSERT_TRUE(a.ok()) << a.error().message;
  const auto b_from = system_clock::now();
  auto b = node_b.claim_due(request("node-b", 4, 10));
  const auto b_to = system_clock::now();
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_EQ(a->messages.size(), 4u);
  ASSERT_EQ(b->messages.size(), 4u);
  // Slots 100 ms apart within each claim (one clock: exactly), and node B's
  // first a slot after node A's last: eight distinct turns.
  for (const auto* c : {&*a, &*b})
    for (std::size_t i = 1; i < c->messages.size(); ++i) {
      const auto gap = c->messages[i].send_at - c->messages[i - 1].send_at;
      EXPECT_GE(gap, milliseconds(99)) << "slot " << i;
      EXPECT_LE(gap, milliseconds(101)) << "slot " << i;
    }
  const auto a_last = a->messages.back().send_at, b_first = b->messages.front().send_at;
  // B's first slot minus A's last, at the most and the least the clocks allow.
  const auto most = duration_cast<microseconds>(b_to - a_from) + b_first - a_last;
  const auto least = duration_cast<microseconds>(b_from - a_to) + b_first - a_last;
  EXPECT_GE(most, milliseconds(99)) << "node B's first slot is not a slot after node A's last";
  EXPECT_LE(least, milliseconds(101)) << "node B's first slot leaves a turn unused after node A's last";
  // The horizon (1 s at 10/s) has two turns left (one more for every 100 ms
  // the claims took), then none until a quarter horizon frees up.
  auto more = store_->claim_due(request("node-a", 20, 10));
  ASSERT_TRUE(more.ok());
  const double elapsed = duration<double>(steady_clock::now() - began).count();
  EXPECT_GE(more->messages.size(), 2u);
  EXPECT_LE(static_cast<double>(8 + more->messages.size()), 10 + std::ceil(elapsed * 10));
  // With less room than a step (a quarter horizon: 2 slots at 10/s), a claim
  // takes nothing and says when a step's worth is free. The first free slot
  // is set 5 s ahead so that the answer does not depend on how long the
  // claims above took: a step is free when that slot is 1 s (the horizon)
  // minus one slot (100 ms) away, 4.1 s after the update, less the time the
  // claim itself took to start.
  const auto set_at = steady_clock::now();
  db_->execute("UPDATE provider_pace SET next_slot_at = UTC_TIMESTAMP(6) + INTERVAL 5 SECOND");
  auto none = node_b.claim_due(request("node-b", 20, 10));
  ASSERT_TRUE(none.ok());
  const auto took = duration_cast<microseconds>(steady_clock::now() - set_at);
  EXPECT_TRUE(none->messages.empty());
  EXPECT_LE(none->room_in, milliseconds(4100) + milliseconds(1));
  EXPECT_GE(none->room_in, milliseconds(4100) - took);
}

TEST_F(MySqlQueueTest, AMessagePastItsValidityEndsExpiredInsteadOfBeingClaimed) {
  auto late = message();
  late.expires_at = now_us() + milliseconds(50);
  auto fine = message();
  fine.expires_at = now_us() + hours(1);
  insert({late, fine});
  db_->execute("UPDATE messages SET expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE id = " +
               std::string("X'") + sdk::hex_encode(late.id.raw()) + "'");
  auto c = store_->claim_due(request("node-a", 10));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->expired, 1);
  ASSERT_EQ(ids_of(*c), std::vector<MessageId>{fine.id});
  ASSERT_TRUE(c->messages[0].expires_in.has_value());
  EXPECT_GT(*c->messages[0].expires_in, minutes(59));
  Message back = get(late.id);
  EXPECT_EQ(back.status, MessageStatus::expired);
  EXPECT_EQ(back.attempts, 0);
  EXPECT_EQ(event_types(late.id), (std::vector<std::string>{"accepted", "expired"}));
}

TEST_F(MySqlQueueTest, ANodeWhoseLeaseWasTakenOverCannotOverwriteTheNewOwnersOutcome) {
  auto m = message();
  insert({m});
  auto first = claim("node-a", 10, seconds(30));
  ASSERT_EQ(first->size(), 1u);
  const Message held_by_a = (*first)[0];
  // node-a stalls; its lease runs out and node-b takes the message over.
  db_->execute("UPDATE messages SET lease_expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND");
  ASSERT_EQ(*store_->requeue_expired_leases(100, 2), 1);
  auto second = claim("node-b", 10, seconds(30));
  ASSERT_EQ(second->size(), 1u);
  const Message held_by_b = (*second)[0];

  auto lost = store_->record_attempts("node-a", {sent(held_by_a, "P-from-a")});
  ASSERT_TRUE(lost.ok()) << lost.error().message;
  EXPECT_EQ(*lost, 1);
  Message now = get(m.id);
  EXPECT_EQ(now.status, MessageStatus::sending);
  EXPECT_EQ(db_->scalar("SELECT lease_owner FROM messages"), "node-b");
  EXPECT_EQ(event_types(m.id), (std::vector<std::string>{"accepted", "lease_expired"}));

  auto recorded = store_->record_attempts("node-b", {sent(held_by_b, "P-from-b")});
  ASSERT_TRUE(recorded.ok());
  EXPECT_EQ(*recorded, 0);
  now = get(m.id);
  EXPECT_EQ(now.status, MessageStatus::sent);
  EXPECT_EQ(now.provider_message_id, "P-from-b");
  EXPECT_EQ(event_types(m.id), (std::vector<std::string>{"accepted", "lease_expired", "sent"}));
}

TEST_F(MySqlQueueTest, ProviderValuesOutOfRangeAreClampedOrRefusedPerMessage) {
  auto a = message("+966501234561");
  auto b = message("+966501234562");
  insert({a, b});
  auto claimed = claim("node-a", 10, seconds(30));
  ASSERT_EQ(claimed->size(), 2u);
  auto odd = sent((*claimed)[0], std::string(300, 'x'));  // longer than any provider id we store
  odd.segments = 1000000;
  odd.cost = sdk::Money{5000, "dollars"};
  AttemptResult fail;
  fail.id = (*claimed)[1].id;
  fail.tenant_id = tenant_;
  fail.attempt = (*claimed)[1].attempts;
  fail.decision = AttemptResult::Decision::failed;
  fail.error = {std::string(100, 'E'), "bad \xff\xfe bytes"};
  auto r = store_->record_attempts("node-a", {odd, fail});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, 0);
  Message m1 = get(odd.id);
  EXPECT_EQ(m1.status, MessageStatus::sent);
  EXPECT_EQ(m1.provider_message_id, "");
  EXPECT_EQ(m1.segments, 65535);
  EXPECT_FALSE(m1.cost.has_value());
  Message m2 = get(fail.id);
  EXPECT_EQ(m2.status, MessageStatus::failed);
  EXPECT_EQ(m2.error_code.size(), 32u);
  EXPECT_EQ(m2.error_message, "bad ?? bytes");
}

TEST_F(MySqlQueueTest, AnOutcomeTheDatabaseRefusesFallsBackAloneAndTheOthersAreRecorded) {
  std::vector<NewMessage> batch;
  for (int i = 0; i < 3; ++i) batch.push_back(message());
  insert(batch);
  auto claimed = claim("node-a", 10, seconds(30));
  ASSERT_EQ(claimed->size(), 3u);
  // The database refuses this one provider id, as it would refuse a value it
  // cannot store.
  db_->execute("ALTER TABLE messages ADD CONSTRAINT chk_test_poison CHECK (provider_message_id <> 'POISON')");
  auto r = store_->record_attempts(
      "node-a", {sent((*claimed)[0], "P-0"), sent((*claimed)[1], "POISON"), sent((*claimed)[2], "P-2")});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, 0);
  EXPECT_EQ(get((*claimed)[0].id).provider_message_id, "P-0");
  EXPECT_EQ(get((*claimed)[2].id).provider_message_id, "P-2");
  Message poisoned = get((*claimed)[1].id);
  EXPECT_EQ(poisoned.status, MessageStatus::sent);  // recorded without what the database refused
  EXPECT_EQ(poisoned.provider_message_id, "");
  EXPECT_EQ(db_->scalar("SELECT COUNT(*) FROM message_events WHERE type = 'sent'"), "3");
}

}  // namespace
}  // namespace barid::core
