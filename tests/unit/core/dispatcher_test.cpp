// The dispatcher against the in-memory queue and an in-process provider:
// pace, priority, validity, lease loss and shutdown, without a database.

#include "in_process_provider.hpp"

#include <barid/core/dispatcher.hpp>
#include "memory_queue.hpp"

#include <gtest/gtest.h>

#include <set>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace barid::core {
namespace {

using namespace std::chrono;
using Clock = steady_clock;

// Accepts every message after `latency`, and remembers when each send began.
class RecordingProvider final : public sdk::Provider {
 public:
  explicit RecordingProvider(milliseconds latency = milliseconds(0)) : latency_(latency) {}
  sdk::SendResult send(const sdk::OutboundMessage& m) noexcept override {
    {
      std::lock_guard lock(mutex_);
      sends.push_back({m.id, Clock::now(), m.validity});
    }
    cv_.notify_all();
    if (latency_.count() > 0) std::this_thread::sleep_for(latency_);
    return sdk::SendResult::accepted("P-" + m.id, MessageStatus::sent);
  }
  sdk::StatusResult fetch_status(const std::string&) noexcept override { return {}; }
  sdk::CallbackResult parse_callback(const sdk::CallbackRequest&) noexcept override { return {}; }
  sdk::HealthReport check_health() noexcept override { return {}; }

  struct Send {
    std::string id;
    Clock::time_point at;
    std::optional<seconds> validity;
  };
  std::vector<Send> snapshot() {
    std::lock_guard lock(mutex_);
    return sends;
  }
  // Waits until `n` sends began (false after `timeout`).
  bool wait_for_sends(std::size_t n, milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return sends.size() >= n; });
  }

 private:
  milliseconds latency_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Send> sends;
};

class DispatcherTest : public ::testing::Test {
 protected:
  // One SMS instance "sms-1" at `rate` per second (0: unpaced).
  void route(double rate, milliseconds send_timeout = milliseconds(1000), milliseconds latency = milliseconds(0)) {
    auto provider = std::make_unique<RecordingProvider>(latency);
    provider_ = provider.get();
    auto set = std::make_shared<ProviderSet>();
    ProviderSlot slot;
    slot.instance = in_process_instance("sms-1", std::move(provider));
    slot.rate = rate;
    slot.burst = 1;
    slot.send_timeout = send_timeout;
    set->instances.emplace("sms-1", std::move(slot));
    set->routes[sdk::Channel::sms] = Route{"sms-1", {}, 0};
    registry_.replace(set);
  }

  Message add(Priority priority = Priority::normal, std::optional<TimePoint> expires_at = std::nullopt) {
    Message m;
    m.id = Uuid::v7();
    m.tenant_id = 1;
    m.to = "+966501234567";
    m.body = "Your appointment is tomorrow";
    m.priority = priority;
    m.expires_at = expires_at;
    queue_.add(m);
    return m;
  }

  std::unique_ptr<Dispatcher> dispatcher(milliseconds lease = seconds(30), int senders = 4) {
    DispatcherOptions o;
    o.node_id = "node-a";
    o.senders = senders;
    o.lease = lease;
    o.idle_poll = milliseconds(50);
    o.pace_horizon = milliseconds(1000);
    RetryPolicy retry;
    return std::make_unique<Dispatcher>(queue_, registry_, o, retry);
  }

  // Waits until `pred` holds for the queue (false after `timeout`).
  template <typename Pred>
  bool eventually(Pred pred, milliseconds timeout = seconds(10)) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return pred();
  }

  MessageStatus status(const Message& m) { return queue_.find(m.id)->status; }

  MemoryQueue queue_;
  ProviderRegistry registry_;
  RecordingProvider* provider_ = nullptr;
};

TEST_F(DispatcherTest, APacedInstanceSendsAtItsRateAndNothingFails) {
  route(20);
  std::vector<Message> all;
  for (int i = 0; i < 30; ++i) all.push_back(add());
  auto d = dispatcher();
  const auto started = Clock::now();
  d->start();
  ASSERT_TRUE(provider_->wait_for_sends(30, seconds(10)));
  ASSERT_TRUE(eventually([&] {
    return std::all_of(all.begin(), all.end(), [&](const Message& m) { return status(m) == MessageStatus::sent; });
  }));
  d->stop();
  auto sends = provider_->snapshot();
  ASSERT_EQ(sends.size(), 30u);
  // Slot k of the pace is k intervals of 50 ms after the first claim, which
  // comes after `started`: no send goes before its slot, so 30 sends take at
  // least 1.45 s. (A single gap may be shorter: after a send that went late,
  // the next still goes at its own slot.) 1 ms for the clocks' rounding.
  for (std::size_t k = 0; k < sends.size(); ++k)
    EXPECT_GE(duration_cast<microseconds>(sends[k].at - started).count(), static_cast<long>(k) * 50'000 - 1'000)
        << "send " << k;
  const auto stats = d->stats();
  EXPECT_EQ(stats.sent, 30u);
  EXPECT_EQ(stats.retried, 0u);
  EXPECT_EQ(stats.failed, 0u);
  for (const auto& m : all) EXPECT_EQ(queue_.find(m.id)->attempts, 1);
}

TEST_F(DispatcherTest, AHighPriorityMessageGoesBeforeALowBacklog) {
  route(10);
  for (int i = 0; i < 40; ++i) add(Priority::low);
  auto d = dispatcher();
  d->start();
  ASSERT_TRUE(provider_->wait_for_sends(3, seconds(5)));
  const auto submitted = Clock::now();
  const Message urgent = add(Priority::high);
  d->wake();
  ASSERT_TRUE(eventually([&] { return status(urgent) == MessageStatus::sent; }));
  d->stop();
  auto sends = provider_->snapshot();
  auto it = std::find_if(sends.begin(), sends.end(), [&](const auto& s) { return s.id == urgent.id.str(); });
  ASSERT_NE(it, sends.end());
  // It takes the next turn this node has (or the next claim's first), not the
  // end of the 40-message line: counted in sends (slots of 100 ms at 10/s),
  // so that a busy machine running every slot late does not fail it.
  const auto before_it = std::count_if(sends.begin(), it, [&](const auto& s) { return s.at > submitted; });
  EXPECT_LE(before_it, 7) << duration_cast<milliseconds>(it->at - submitted).count() << " ms";
  EXPECT_LT(it - sends.begin(), 12);
}

// Clinic 1 drains 200 high-priority messages at 20/s; clinic 2's
// high-priority reminder, added meanwhile, waits for a few of clinic 1's
// sends (the next claim, then the next turn in hand), not for the backlog.
TEST_F(DispatcherTest, AnotherTenantsBacklogHoldsAMessageForAFewSlotsOnly) {
  route(20);
  for (int i = 0; i < 200; ++i) add(Priority::high);
  auto d = dispatcher();
  d->start();
  ASSERT_TRUE(provider_->wait_for_sends(25, seconds(10)));
  Message reminder;
  reminder.id = Uuid::v7();
  reminder.tenant_id = 2;
  reminder.to = "+966501234568";
  reminder.body = "Your appointment is at 10:00";
  reminder.priority = Priority::high;
  const auto before = provider_->snapshot().size();
  queue_.add(reminder);
  d->wake();
  ASSERT_TRUE(eventually([&] { return status(reminder) == MessageStatus::sent; }));
  d->stop();
  const auto sends = provider_->snapshot();
  auto it = std::find_if(sends.begin(), sends.end(), [&](const auto& s) { return s.id == reminder.id.str(); });
  ASSERT_NE(it, sends.end());
  const auto between = static_cast<std::size_t>(it - sends.begin()) - before;
  // A claim comes every quarter of the 1 s horizon (5 slots at 20/s).
  EXPECT_LE(between, 7u) << "the reminder waited for " << between << " of the other clinic's sends";
}

TEST_F(DispatcherTest, AnExpiredMessageIsNeverSent) {
  route(4);
  for (int i = 0; i < 8; ++i) add();
  const Message reminder = add(Priority::normal, now_us() + milliseconds(500));
  auto d = dispatcher();
  d->start();
  ASSERT_TRUE(eventually([&] { return status(reminder) == MessageStatus::expired; }));
  ASSERT_TRUE(provider_->wait_for_sends(8, seconds(5)));
  d->stop();
  for (const auto& s : provider_->snapshot()) EXPECT_NE(s.id, reminder.id.str());
  EXPECT_EQ(queue_.events_of(reminder.id).back().type, "expired");
  EXPECT_EQ(d->stats().expired, 1u);
}

TEST_F(DispatcherTest, TheProviderIsToldTheValidityLeft) {
  route(0);
  const Message m = add(Priority::normal, now_us() + minutes(30));
  auto d = dispatcher();
  d->start();
  ASSERT_TRUE(provider_->wait_for_sends(1, seconds(5)));
  d->stop();
  auto sends = provider_->snapshot();
  ASSERT_TRUE(sends[0].validity.has_value());
  EXPECT_GT(sends[0].validity->count(), 29 * 60);
  EXPECT_LE(sends[0].validity->count(), 30 * 60);
  EXPECT_EQ(status(m), MessageStatus::sent);
}

TEST_F(DispatcherTest, AnOutcomeAfterTheLeaseWasLostChangesNothing) {
  route(0, milliseconds(1000), milliseconds(400));
  const Message m = add();
  auto d = dispatcher();
  d->start();
  ASSERT_TRUE(provider_->wait_for_sends(1, seconds(5)));
  // While the send is under way the lease goes, and another node takes it.
  queue_.expire_lease(m.id);
  ClaimRequest other;
  other.owner = "node-b";
  other.route = [](int) { return PacedRoute{"sms-1", 0, 1}; };
  auto taken = queue_.claim_due(other);
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->messages.size(), 1u);
  ASSERT_TRUE(eventually([&] { return d->stats().lost_leases == 1; }));
  d->stop();
  const auto now = queue_.find(m.id);
  EXPECT_EQ(now->status, MessageStatus::sending);  // node-b's, untouched
  EXPECT_EQ(now->attempts, 2);
  for (const auto& e : queue_.events_of(m.id)) EXPECT_NE(e.type, "sent");
}

TEST_F(DispatcherTest, ASendThatCouldOutliveItsLeaseIsHandedBackUntried) {
  // A 3 s lease cannot hold a provider call of up to 2 s plus 2 s to record it.
  route(0, milliseconds(2000));
  const Message m = add();
  auto d = dispatcher(milliseconds(3000));
  d->start();
  ASSERT_TRUE(eventually([&] { return d->stats().handed_back >= 1; }));
  d->stop();
  EXPECT_TRUE(provider_->snapshot().empty());
  const auto back = queue_.find(m.id);
  EXPECT_EQ(back->status, MessageStatus::queued);
  EXPECT_EQ(back->attempts, 0);
}

TEST_F(DispatcherTest, WhenNoSendFitsTheLeaseTheClaimerBacksOffInsteadOfSpinning) {
  // Every send could outlive its lease: each claim's messages come back.
  route(0, milliseconds(2000));
  for (int i = 0; i < 10; ++i) add();
  auto d = dispatcher(milliseconds(3000));
  d->start();
  ASSERT_TRUE(eventually([&] { return d->stats().handed_back >= 1; }));
  // Not a wait for something to happen: the claims made in a fixed window.
  const auto claims_before = queue_.claims();
  std::this_thread::sleep_for(milliseconds(2000));
  const auto claims = queue_.claims() - claims_before;
  d->stop();
  EXPECT_TRUE(provider_->snapshot().empty());
  // Backing off from 100 ms and doubling: four rounds of claims (each at
  // most two: eight messages, then the other two) in 2 s, not one every
  // poll (50 ms here) or a spin.
  EXPECT_LE(claims, 10u);
}

TEST_F(DispatcherTest, StopHandsBackWhatWaitsForItsTurnAndReturnsInTime) {
  route(2);
  std::vector<Message> all;
  for (int i = 0; i < 10; ++i) all.push_back(add());
  DispatcherOptions o;
  o.node_id = "node-a";
  o.senders = 2;
  o.idle_poll = milliseconds(50);
  o.pace_horizon = milliseconds(3000);  // six turns in hand
  Dispatcher d(queue_, registry_, o, RetryPolicy{});
  d.start();
  ASSERT_TRUE(provider_->wait_for_sends(1, seconds(5)));
  ASSERT_TRUE(eventually([&] { return d.stats().claimed >= 3; }));
  const auto began = Clock::now();
  d.stop(Clock::now() + seconds(2));
  EXPECT_LT(Clock::now() - began, seconds(2));
  const auto sent = provider_->snapshot().size();
  int queued = 0, done = 0;
  for (const auto& m : all) {
    auto s = queue_.find(m.id);
    if (s->status == MessageStatus::queued) {
      ++queued;
      EXPECT_EQ(s->attempts, 0);
    }
    if (s->status == MessageStatus::sent) ++done;
  }
  EXPECT_EQ(static_cast<std::size_t>(done), sent);
  EXPECT_EQ(queued + done, 10);  // nothing left leased
  EXPECT_GE(d.stats().handed_back, 1u);
}

// A tenant routed to its own instance: its messages go there, and the
// global route's claims leave them alone.
TEST_F(DispatcherTest, ATenantsOwnRouteTakesItsMessagesAndOnlyThem) {
  auto global = std::make_unique<RecordingProvider>(milliseconds(0));
  auto own = std::make_unique<RecordingProvider>(milliseconds(0));
  RecordingProvider* global_p = global.get();
  RecordingProvider* own_p = own.get();
  auto set = std::make_shared<ProviderSet>();
  ProviderSlot a, b;
  a.instance = in_process_instance("sms-1", std::move(global));
  b.instance = in_process_instance("clinic-7-sms", std::move(own));
  a.send_timeout = b.send_timeout = milliseconds(1000);
  set->instances.emplace("sms-1", std::move(a));
  set->instances.emplace("clinic-7-sms", std::move(b));
  set->routes[sdk::Channel::sms] = Route{"sms-1", {}, 0};
  registry_.replace(set);
  std::set<std::string> mine, others;
  for (int i = 0; i < 10; ++i) {
    Message m;
    m.id = Uuid::v7();
    m.tenant_id = i % 2 ? 7 : 1;
    m.to = "+966501234567";
    m.body = "Your appointment is tomorrow";
    queue_.add(m);
    (i % 2 ? mine : others).insert(m.id.str());
  }
  auto d = dispatcher();
  const auto routes = std::make_shared<const Dispatcher::TenantRoutes>(
      Dispatcher::TenantRoutes{{7, {{sdk::Channel::sms, TenantRoute{"clinic-7-sms", {}, 0}}}}});
  d->set_tenant_routes([routes] { return routes; });
  d->start();
  ASSERT_TRUE(own_p->wait_for_sends(5, seconds(10)));
  ASSERT_TRUE(global_p->wait_for_sends(5, seconds(10)));
  d->stop();
  std::set<std::string> through_own, through_global;
  for (const auto& s : own_p->snapshot()) through_own.insert(s.id);
  for (const auto& s : global_p->snapshot()) through_global.insert(s.id);
  EXPECT_EQ(through_own, mine);
  EXPECT_EQ(through_global, others);
}

TEST_F(DispatcherTest, NoRouteIsNotAnAttempt) {
  // SMS routed to an instance that is not there (removed by a reload).
  auto set = std::make_shared<ProviderSet>();
  set->routes[sdk::Channel::sms] = Route{"gone", {}, 0};
  registry_.replace(set);
  const Message m = add();
  auto d = dispatcher();
  d->start();
  ASSERT_TRUE(eventually([&] { return queue_.claims() >= 5; }));  // several claim rounds
  d->stop();
  EXPECT_EQ(status(m), MessageStatus::queued);
  EXPECT_EQ(queue_.find(m.id)->attempts, 0);
}

}  // namespace
}  // namespace barid::core
