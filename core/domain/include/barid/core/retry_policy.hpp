#pragma once
// When to try a message again after a transient failure: exponential backoff
// with jitter, never sooner than the provider's retry-after, and a bounded
// number of attempts.

#include <chrono>
#include <optional>
#include <random>

namespace barid::core {

struct RetryPolicy {
  int max_attempts = 3;                        // attempts in all, the first included
  std::chrono::milliseconds initial_backoff{2000};
  std::chrono::milliseconds max_backoff{300000};  // a hard maximum, jitter included
  double multiplier = 2.0;
  double jitter = 0.2;  // +/- this fraction, spread so nodes do not retry in step

  // Delay before the attempt after `failed_attempt` (1-based).
  std::chrono::milliseconds backoff(int failed_attempt, std::optional<std::chrono::milliseconds> retry_after,
                                    std::mt19937_64& rng) const;
};

}  // namespace barid::core
