#include <barid/core/retry_policy.hpp>

#include <algorithm>
#include <cmath>

namespace barid::core {

std::chrono::milliseconds RetryPolicy::backoff(int failed_attempt,
                                               std::optional<std::chrono::milliseconds> retry_after,
                                               std::mt19937_64& rng) const {
  const int exponent = std::clamp(failed_attempt - 1, 0, 30);
  double base = static_cast<double>(initial_backoff.count()) * std::pow(multiplier, exponent);
  base = std::min(base, static_cast<double>(max_backoff.count()));
  if (jitter > 0) {
    std::uniform_real_distribution<double> dist(1.0 - jitter, 1.0 + jitter);
    base *= dist(rng);
  }
  // max_backoff is a hard maximum, jitter included.
  base = std::min(base, static_cast<double>(max_backoff.count()));
  auto delay = std::chrono::milliseconds(static_cast<long long>(base));
  if (retry_after && *retry_after > delay) delay = *retry_after;
  return delay;
}

}  // namespace barid::core
