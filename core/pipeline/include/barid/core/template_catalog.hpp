#pragma once
// The templates and tenants the accept path reads, through a short-lived
// cache (messaging.template_cache_ttl).

#include <barid/core/message.hpp>
#include <barid/core/result.hpp>
#include <barid/core/store.hpp>
#include <barid/core/templates.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace barid::core {

// Templates and tenants read through a short-lived cache: the accept path
// must not read them per request. A change made through this node is seen
// at once; one made through another node within `ttl`.
class TemplateCatalog {
 public:
  TemplateCatalog(TemplateStore& templates, TenantStore& tenants, std::chrono::milliseconds ttl)
      : template_store_(templates), tenant_store_(tenants), ttl_(ttl) {}

  Result<std::optional<Template>> find(TenantId tenant, const std::string& code);
  Result<Tenant> tenant(TenantId id);
  void invalidate(TenantId tenant, const std::string& code);
  void invalidate_tenant(TenantId tenant);

 private:
  template <typename T>
  struct Entry {
    T value;
    std::chrono::steady_clock::time_point expires;
  };
  TemplateStore& template_store_;
  TenantStore& tenant_store_;
  std::chrono::milliseconds ttl_;
  std::mutex mutex_;
  std::map<std::pair<TenantId, std::string>, Entry<std::optional<Template>>> templates_;
  std::map<TenantId, Entry<Tenant>> tenants_;
};

}  // namespace barid::core
