// SendQueue and PaceSlots: turns per instance, priority within them, and the
// arithmetic of send slots.

#include <barid/core/send_queue.hpp>

#include <gtest/gtest.h>

#include <thread>

namespace barid::core {
namespace {

using namespace std::chrono;
using Clock = steady_clock;

QueuedSend item(std::string instance, Priority p, Clock::time_point slot) {
  QueuedSend q;
  q.message.id = Uuid::v7();
  q.message.priority = p;
  q.instance = std::move(instance);
  q.slot = slot;
  q.lease_end = slot + seconds(60);
  return q;
}

TEST(SendQueueTest, TheBestMessageOfAnInstanceTakesItsNextTurn) {
  SendQueue q;
  const auto now = Clock::now();
  auto low1 = item("a", Priority::low, now);
  auto low2 = item("a", Priority::low, now + milliseconds(20));
  auto high = item("a", Priority::high, now + milliseconds(40));  // claimed last, with the last slot
  q.push({low1, low2, high});
  auto first = q.pop();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->message.id, high.message.id);
  EXPECT_EQ(first->slot, now);  // it took the earliest turn
  auto second = q.pop();
  EXPECT_EQ(second->message.id, low1.message.id);
  EXPECT_GE(Clock::now(), now + milliseconds(20));  // and the turns keep their times
  EXPECT_EQ(q.pop()->message.id, low2.message.id);
  EXPECT_GE(Clock::now(), now + milliseconds(40));
}

// Clinic A's claimed backlog waits in hand; clinic B's message, claimed
// after it at the same priority, takes the next turn but one, not the end of
// the line.
TEST(SendQueueTest, WithinOnePriorityATenantWithNothingWaitingTakesTheNextTurn) {
  SendQueue q;
  const auto now = Clock::now();
  std::vector<QueuedSend> backlog;
  for (int i = 0; i < 10; ++i) {
    backlog.push_back(item("a", Priority::high, now));
    backlog.back().message.tenant_id = 1;
  }
  q.push(backlog);
  EXPECT_EQ(q.pop()->message.id, backlog[0].message.id);
  EXPECT_EQ(q.pop()->message.id, backlog[1].message.id);
  auto reminder = item("a", Priority::high, now);
  reminder.message.tenant_id = 2;
  q.push({reminder});
  EXPECT_EQ(q.pop()->message.id, backlog[2].message.id);  // the same turn, claimed first
  EXPECT_EQ(q.pop()->message.id, reminder.message.id);
  for (int i = 3; i < 10; ++i) EXPECT_EQ(q.pop()->message.id, backlog[static_cast<std::size_t>(i)].message.id);
}

TEST(SendQueueTest, ATenantsShareWeighsItsTurnsInHand) {
  SendQueue q;
  const auto now = Clock::now();
  std::vector<QueuedSend> all;
  for (int i = 0; i < 6; ++i) {
    all.push_back(item("a", Priority::normal, now));
    all.back().message.tenant_id = 1;
    all.back().share = 2;
  }
  for (int i = 0; i < 3; ++i) {
    all.push_back(item("a", Priority::normal, now));
    all.back().message.tenant_id = 2;
  }
  q.push(all);
  std::vector<TenantId> whose;
  for (int i = 0; i < 9; ++i) whose.push_back(q.pop()->message.tenant_id);
  EXPECT_EQ(whose, (std::vector<TenantId>{1, 1, 2, 1, 1, 2, 1, 1, 2}));
}

TEST(TenantTurnsTest, TurnsGoRoundTheTenantsByShareFromTheCursor) {
  std::vector<TenantTurns::Tenant> tenants{{3, 1}, {7, 2}, {9, 1}};
  TenantTurns::Cursor cursor;
  EXPECT_EQ(TenantTurns::deal(tenants, 5, cursor), (std::vector<TenantId>{3, 7, 7, 9, 3}));
  EXPECT_EQ(TenantTurns::deal(tenants, 3, cursor), (std::vector<TenantId>{7, 7, 9}));
  // A tenant that left: the turn goes to the next one after it.
  std::vector<TenantTurns::Tenant> fewer{{3, 1}, {9, 1}};
  cursor = {7, 1};
  EXPECT_EQ(TenantTurns::deal(fewer, 3, cursor), (std::vector<TenantId>{9, 3, 9}));
  // Past the last: back to the first.
  cursor = {10, 0};
  EXPECT_EQ(TenantTurns::deal(fewer, 2, cursor), (std::vector<TenantId>{3, 9}));
  EXPECT_TRUE(TenantTurns::deal({}, 2, cursor).empty());
}

TEST(SendQueueTest, InstancesDoNotLendEachOtherTurns) {
  SendQueue q;
  const auto now = Clock::now();
  auto slow = item("slow", Priority::high, now + milliseconds(200));
  auto fast = item("fast", Priority::low, now);
  q.push({slow, fast});
  EXPECT_EQ(q.pop()->message.id, fast.message.id);
  EXPECT_EQ(q.waiting("slow"), 1u);
  EXPECT_EQ(q.pop()->message.id, slow.message.id);
  EXPECT_GE(Clock::now(), now + milliseconds(200));
}

TEST(SendQueueTest, CloseReturnsWhatWaitsAndWakesTheSenders) {
  SendQueue q;
  q.push({item("a", Priority::normal, Clock::now() + hours(1))});
  std::optional<QueuedSend> got = item("x", Priority::normal, Clock::now());
  std::thread sender([&] { got = q.pop(); });
  auto left = q.close();
  sender.join();
  EXPECT_FALSE(got.has_value());
  EXPECT_EQ(left.size(), 1u);
  EXPECT_EQ(q.size(), 0u);
}

TEST(PaceSlotsTest, ASlotEveryOneOverRateAndClaimsInQuarterHorizons) {
  const TimePoint now = now_us();
  auto p = PaceSlots::open(std::nullopt, now, 10, 1);
  EXPECT_EQ(p.slot(0), now);
  EXPECT_EQ(p.slot(3), now + milliseconds(300));
  microseconds room_in{};
  EXPECT_EQ(p.allowance(now, milliseconds(1000), 100, room_in), 10);  // one second of turns
  EXPECT_EQ(p.allowance(now, milliseconds(1000), 4, room_in), 4);      // no more than asked
  p.taken = 10;  // all of them taken: the next step (2 turns) is free in 200 ms
  EXPECT_EQ(p.allowance(now, milliseconds(1000), 100, room_in), 0);
  EXPECT_GT(room_in, milliseconds(100));
  EXPECT_LE(room_in, milliseconds(201));
}

TEST(PaceSlotsTest, AQuietInstanceSavesUpItsBurst) {
  const TimePoint now = now_us();
  auto p = PaceSlots::open(now - hours(1), now, 2, 5);
  EXPECT_EQ(p.first, now - seconds(2));  // four turns in the past: five at once
  auto busy = PaceSlots::open(now + seconds(3), now, 2, 5);
  EXPECT_EQ(busy.first, now + seconds(3));  // a reserved future stays reserved
}

}  // namespace
}  // namespace barid::core
