#include <barid/core/provider_registry.hpp>

#include <algorithm>

namespace barid::core {

const ProviderSlot* ProviderSet::find(const std::string& name) const {
  auto it = instances.find(name);
  return it == instances.end() ? nullptr : &it->second;
}

const ProviderSlot* ProviderSet::pick(sdk::Channel channel, int attempt) const {
  auto it = routes.find(channel);
  if (it == routes.end()) return nullptr;
  return pick(it->second, attempt);
}

const ProviderSlot* ProviderSet::pick(const Route& r, int attempt) const {
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
