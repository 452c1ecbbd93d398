#include <barid/core/provider_registry.hpp>

#include <algorithm>
#include <thread>

namespace barid::core {

RateLimiter::RateLimiter(double rate, double burst)
    : rate_(rate), burst_(std::max(1.0, burst)), tokens_(std::max(1.0, burst)),
      last_(std::chrono::steady_clock::now()) {}

bool RateLimiter::acquire(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    std::chrono::steady_clock::duration wait;
    {
      std::lock_guard lock(mutex_);
      auto now = std::chrono::steady_clock::now();
      tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
      last_ = now;
      if (tokens_ >= 1.0) {
        tokens_ -= 1.0;
        return true;
      }
      wait = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>((1.0 - tokens_) / rate_));
      if (now + wait > deadline) return false;
    }
    std::this_thread::sleep_for(wait);
  }
}

const ProviderSlot* ProviderSet::find(const std::string& name) const {
  auto it = instances.find(name);
  return it == instances.end() ? nullptr : &it->second;
}

const ProviderSlot* ProviderSet::pick(sdk::Channel channel, int attempt) const {
  auto it = routes.find(channel);
  if (it == routes.end()) return nullptr;
  const Route& r = it->second;
  if (r.fallbacks.empty() || r.primary_attempts <= 0 || attempt <= r.primary_attempts) return find(r.primary);
  const auto index = static_cast<std::size_t>(attempt - r.primary_attempts - 1) % r.fallbacks.size();
  return find(r.fallbacks[index]);
}

std::shared_ptr<const ProviderSet> ProviderRegistry::snapshot() const {
  std::lock_guard lock(mutex_);
  return current_;
}

void ProviderRegistry::replace(std::shared_ptr<const ProviderSet> next) {
  std::lock_guard lock(mutex_);
  current_ = std::move(next);
}

}  // namespace barid::core
