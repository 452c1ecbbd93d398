#include <barid/core/template_catalog.hpp>

namespace barid::core {

Result<std::optional<Template>> TemplateCatalog::find(TenantId tenant, const std::string& code) {
  const auto now = std::chrono::steady_clock::now();
  const auto key = std::make_pair(tenant, code);
  {
    std::lock_guard lock(mutex_);
    auto it = templates_.find(key);
    if (it != templates_.end() && it->second.expires > now) return it->second.value;
  }
  auto loaded = template_store_.find_template(tenant, code);
  if (!loaded) return loaded.error();
  std::lock_guard lock(mutex_);
  if (templates_.size() > 10000) templates_.clear();
  templates_[key] = {*loaded, now + ttl_};
  return *loaded;
}

Result<Tenant> TemplateCatalog::tenant(TenantId id) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    auto it = tenants_.find(id);
    if (it != tenants_.end() && it->second.expires > now) return it->second.value;
  }
  auto loaded = tenant_store_.find_tenant(id);
  if (!loaded) return loaded.error();
  if (!*loaded) return Error::not_found("no tenant " + std::to_string(id));
  std::lock_guard lock(mutex_);
  tenants_[id] = {**loaded, now + ttl_};
  return **loaded;
}

void TemplateCatalog::invalidate(TenantId tenant, const std::string& code) {
  std::lock_guard lock(mutex_);
  templates_.erase(std::make_pair(tenant, code));
}

void TemplateCatalog::invalidate_tenant(TenantId tenant) {
  std::lock_guard lock(mutex_);
  tenants_.erase(tenant);
}

}  // namespace barid::core
