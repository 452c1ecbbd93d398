// The per-instance token bucket and the provider set's routing. Timing
// assertions are lower bounds the bucket guarantees (a token cannot come
// sooner), or loose upper bounds far from the expected value.
#include <barid/core/provider_registry.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace barid::core {
namespace {

using namespace std::chrono;
using Steady = steady_clock;

TEST(RateLimiter, GrantsTheBurstAtOnce) {
  RateLimiter limiter(1.0, 5.0);
  const auto now = Steady::now();
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.acquire(now)) << "token " << i;
  // The sixth would take a second; a deadline of "now" refuses it.
  EXPECT_FALSE(limiter.acquire(Steady::now()));
}

TEST(RateLimiter, BurstBelowOneStillAllowsOneSend) {
  RateLimiter limiter(1.0, 0.0);
  EXPECT_TRUE(limiter.acquire(Steady::now()));
  EXPECT_FALSE(limiter.acquire(Steady::now()));
}

TEST(RateLimiter, RefusesAtOnceWhenTheDeadlineIsTooClose) {
  RateLimiter limiter(1.0, 1.0);  // next token in one second
  ASSERT_TRUE(limiter.acquire(Steady::now()));
  const auto start = Steady::now();
  EXPECT_FALSE(limiter.acquire(start + milliseconds(200)));
  // It does not sit out the deadline when it knows the token comes later.
  EXPECT_LT(Steady::now() - start, milliseconds(150));
}

TEST(RateLimiter, WaitsForTheNextToken) {
  RateLimiter limiter(50.0, 1.0);  // one token every 20 ms
  ASSERT_TRUE(limiter.acquire(Steady::now()));
  const auto start = Steady::now();
  EXPECT_TRUE(limiter.acquire(start + seconds(5)));
  EXPECT_GE(Steady::now() - start, milliseconds(15));
}

TEST(RateLimiter, SustainedRateIsTheConfiguredOne) {
  RateLimiter limiter(200.0, 1.0);  // 5 ms a token
  const auto start = Steady::now();
  for (int i = 0; i < 21; ++i) ASSERT_TRUE(limiter.acquire(start + seconds(10))) << i;
  // 1 token at once, 20 more at 5 ms each.
  EXPECT_GE(Steady::now() - start, milliseconds(95));
}

TEST(RateLimiter, RefillsUpToTheBurstOnly) {
  const double rate = 100.0;
  RateLimiter limiter(rate, 3.0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.acquire(Steady::now()));
  std::this_thread::sleep_for(milliseconds(200));  // 20 tokens' worth, were there no cap
  const auto counting = Steady::now();
  int granted = 0;
  while (limiter.acquire(Steady::now())) ++granted;
  const double counting_s = duration<double>(Steady::now() - counting).count();
  // The refilled bucket, plus whatever trickled in while counting.
  EXPECT_GE(granted, 3);
  EXPECT_LE(granted, 3 + 1 + static_cast<int>(rate * counting_s));
}

TEST(RateLimiter, ThreadsTogetherNeverExceedTheBucket) {
  const double rate = 100.0, burst = 5.0;
  RateLimiter limiter(rate, burst);
  std::atomic<int> granted{0};
  const auto start = Steady::now();
  const auto deadline = start + milliseconds(300);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (limiter.acquire(deadline)) ++granted;
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = duration<double>(Steady::now() - start).count();
  // A token bucket can never have handed out more than burst + rate * time.
  EXPECT_LE(granted.load(), static_cast<int>(burst + rate * elapsed) + 1);
  // And the threads do get tokens while they wait (at least half the rate).
  EXPECT_GE(granted.load(), static_cast<int>(burst + rate * 0.3 / 2));
}

TEST(ProviderSet, PicksThePrimaryThenRotatesThroughFallbacks) {
  ProviderSet set;
  set.instances["a"] = {};
  set.instances["b"] = {};
  set.instances["c"] = {};
  set.routes[sdk::Channel::sms] = Route{"a", {"b", "c"}, 2};
  EXPECT_EQ(set.pick(sdk::Channel::sms, 1), set.find("a"));
  EXPECT_EQ(set.pick(sdk::Channel::sms, 2), set.find("a"));
  EXPECT_EQ(set.pick(sdk::Channel::sms, 3), set.find("b"));
  EXPECT_EQ(set.pick(sdk::Channel::sms, 4), set.find("c"));
  EXPECT_EQ(set.pick(sdk::Channel::sms, 5), set.find("b"));
  EXPECT_EQ(set.pick(sdk::Channel::whatsapp, 1), nullptr);
  EXPECT_TRUE(set.routes_channel(sdk::Channel::sms));
  EXPECT_FALSE(set.routes_channel(sdk::Channel::whatsapp));
}

TEST(ProviderSet, WithoutPrimaryAttemptsItNeverFallsBack) {
  ProviderSet set;
  set.instances["a"] = {};
  set.instances["b"] = {};
  set.routes[sdk::Channel::sms] = Route{"a", {"b"}, 0};
  for (int attempt = 1; attempt < 6; ++attempt) EXPECT_EQ(set.pick(sdk::Channel::sms, attempt), set.find("a"));
  EXPECT_EQ(set.find("missing"), nullptr);
}

TEST(ProviderRegistry, ReplacesTheSnapshotAsAWhole) {
  ProviderRegistry registry;
  auto first = registry.snapshot();
  ASSERT_NE(first, nullptr);
  EXPECT_TRUE(first->instances.empty());
  auto next = std::make_shared<ProviderSet>();
  next->instances["x"] = {};
  registry.replace(next);
  EXPECT_EQ(registry.snapshot(), next);
  // The old snapshot stays valid for whoever holds it.
  EXPECT_TRUE(first->instances.empty());
}

}  // namespace
}  // namespace barid::core
