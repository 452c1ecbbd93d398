#pragma once
// What the accept path decides with the database's help, for a whole batch of
// messages at once (one preferences query and one opt-out query per tenant
// and batch): template rendering with language fallback, recipient
// preferences, opt-outs. A message the recipient does not want is stored as
// suppressed, with the reason.

#include <barid/core/intake_limits.hpp>
#include <barid/core/message.hpp>
#include <barid/core/result.hpp>
#include <barid/core/store.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

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

class AcceptPolicy {
 public:
  AcceptPolicy(RecipientStore& recipients, TemplateCatalog& catalog, IntakeLimits limits)
      : recipients_(recipients), catalog_(catalog), limits_(limits) {}

  // Completes `batch` in place (renders templates, applies preferences and
  // opt-outs). The result has one entry per message: nullopt when it may be
  // stored, else the error to answer with. An error for the whole call means
  // the database could not be asked (nothing should be stored).
  Result<std::vector<std::optional<Error>>> apply(std::vector<NewMessage>& batch);

 private:
  RecipientStore& recipients_;
  TemplateCatalog& catalog_;
  IntakeLimits limits_;
};

}  // namespace barid::core
