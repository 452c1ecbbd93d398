// Exponential backoff with jitter, capped, never sooner than retry-after.
#include <barid/core/retry_policy.hpp>

#include <gtest/gtest.h>

#include <set>

namespace barid::core {
namespace {

using std::chrono::milliseconds;

RetryPolicy no_jitter() {
  RetryPolicy p;
  p.initial_backoff = milliseconds(2000);
  p.max_backoff = milliseconds(300000);
  p.multiplier = 2.0;
  p.jitter = 0.0;
  return p;
}

TEST(RetryPolicy, DefaultsAreTheDocumentedOnes) {
  RetryPolicy p;
  EXPECT_EQ(p.max_attempts, 3);
  EXPECT_EQ(p.initial_backoff, milliseconds(2000));
  EXPECT_EQ(p.max_backoff, milliseconds(300000));
  EXPECT_DOUBLE_EQ(p.multiplier, 2.0);
  EXPECT_DOUBLE_EQ(p.jitter, 0.2);
}

TEST(RetryPolicy, GrowsExponentially) {
  const RetryPolicy p = no_jitter();
  std::mt19937_64 rng(1);
  EXPECT_EQ(p.backoff(1, std::nullopt, rng), milliseconds(2000));
  EXPECT_EQ(p.backoff(2, std::nullopt, rng), milliseconds(4000));
  EXPECT_EQ(p.backoff(3, std::nullopt, rng), milliseconds(8000));
  EXPECT_EQ(p.backoff(4, std::nullopt, rng), milliseconds(16000));
  EXPECT_EQ(p.backoff(8, std::nullopt, rng), milliseconds(256000));
}

TEST(RetryPolicy, HonoursTheMultiplier) {
  RetryPolicy p = no_jitter();
  p.initial_backoff = milliseconds(100);
  p.multiplier = 3.0;
  std::mt19937_64 rng(1);
  EXPECT_EQ(p.backoff(1, std::nullopt, rng), milliseconds(100));
  EXPECT_EQ(p.backoff(2, std::nullopt, rng), milliseconds(300));
  EXPECT_EQ(p.backoff(3, std::nullopt, rng), milliseconds(900));
  p.multiplier = 1.0;  // constant backoff
  EXPECT_EQ(p.backoff(7, std::nullopt, rng), milliseconds(100));
}

TEST(RetryPolicy, IsCappedAtMaxBackoff) {
  const RetryPolicy p = no_jitter();
  std::mt19937_64 rng(1);
  EXPECT_EQ(p.backoff(9, std::nullopt, rng), milliseconds(300000));  // 512 s capped
  EXPECT_EQ(p.backoff(30, std::nullopt, rng), milliseconds(300000));
  EXPECT_EQ(p.backoff(1000, std::nullopt, rng), milliseconds(300000));  // no overflow
}

TEST(RetryPolicy, AttemptsBelowOneCountAsTheFirst) {
  const RetryPolicy p = no_jitter();
  std::mt19937_64 rng(1);
  EXPECT_EQ(p.backoff(0, std::nullopt, rng), milliseconds(2000));
  EXPECT_EQ(p.backoff(-5, std::nullopt, rng), milliseconds(2000));
}

TEST(RetryPolicy, JitterStaysWithinItsFractionAndSpreads) {
  RetryPolicy p = no_jitter();
  p.jitter = 0.2;
  std::mt19937_64 rng(42);
  std::set<long long> seen;
  for (int i = 0; i < 2000; ++i) {
    const auto d = p.backoff(3, std::nullopt, rng);  // base 8000
    EXPECT_GE(d, milliseconds(6400));
    EXPECT_LE(d, milliseconds(9600));
    seen.insert(d.count());
  }
  // Spread over the range, not stuck at one value: both ends are reached
  // within 10 %.
  EXPECT_GT(seen.size(), 500u);
  EXPECT_LT(*seen.begin(), 6400 + 320);
  EXPECT_GT(*seen.rbegin(), 9600 - 320);
}

// max_backoff is a hard maximum: at the cap, jitter only shortens delays.
TEST(RetryPolicy, TheCapHoldsWithJitter) {
  RetryPolicy p = no_jitter();
  p.jitter = 0.2;
  std::mt19937_64 rng(7);
  bool below = false;
  for (int i = 0; i < 500; ++i) {
    const auto d = p.backoff(20, std::nullopt, rng);
    EXPECT_GE(d, milliseconds(240000));
    EXPECT_LE(d, milliseconds(300000));
    below = below || d < milliseconds(300000);
  }
  EXPECT_TRUE(below) << "jitter still spreads delays below the cap";
}

TEST(RetryPolicy, SameSeedSameDelays) {
  RetryPolicy p = no_jitter();
  p.jitter = 0.5;
  std::mt19937_64 a(99), b(99);
  for (int attempt = 1; attempt < 10; ++attempt)
    EXPECT_EQ(p.backoff(attempt, std::nullopt, a), p.backoff(attempt, std::nullopt, b));
}

TEST(RetryPolicy, RetryAfterIsAFloor) {
  RetryPolicy p = no_jitter();
  std::mt19937_64 rng(1);
  // Longer than the backoff: wait as long as the provider asked.
  EXPECT_EQ(p.backoff(1, milliseconds(30000), rng), milliseconds(30000));
  // Even beyond max_backoff: the provider's word wins.
  EXPECT_EQ(p.backoff(1, milliseconds(600000), rng), milliseconds(600000));
  // Shorter than the backoff: the backoff stands.
  EXPECT_EQ(p.backoff(3, milliseconds(1000), rng), milliseconds(8000));
  EXPECT_EQ(p.backoff(3, milliseconds(0), rng), milliseconds(8000));
  // With jitter, never below retry-after.
  p.jitter = 0.9;
  for (int i = 0; i < 500; ++i) EXPECT_GE(p.backoff(1, milliseconds(1900), rng), milliseconds(1900));
}

}  // namespace
}  // namespace barid::core
