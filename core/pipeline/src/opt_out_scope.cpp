#include <barid/core/opt_out_scope.hpp>

#include <algorithm>

namespace barid::core {

std::vector<TenantId> OptOutScope::rows() const {
  std::vector<TenantId> out;
  if (global) out.push_back(0);
  out.insert(out.end(), tenants.begin(), tenants.end());
  return out;
}

OptOutScope opt_out_scope(const ProviderSet& set, const TenantRoutes& routes, const std::string& instance,
                          sdk::Channel channel) {
  auto names = [&](const std::string& primary, const std::vector<std::string>& fallbacks) {
    return primary == instance || std::find(fallbacks.begin(), fallbacks.end(), instance) != fallbacks.end();
  };
  OptOutScope out;
  if (auto g = set.routes.find(channel); g != set.routes.end()) out.global = names(g->second.primary, g->second.fallbacks);
  for (const auto& [tenant, own] : routes) {
    auto r = own.find(channel);
    if (r == own.end() || !set.find(r->second.provider)) continue;
    out.routed_apart.insert(tenant);
    if (names(r->second.provider, r->second.fallback)) out.tenants.insert(tenant);
  }
  return out;
}

Result<int> record_scoped_opt_out(RecipientStore& store, const OptOutScope& scope, OptOut o,
                                  std::optional<TenantId> fallback) {
  std::vector<TenantId> rows = scope.rows();
  bool notify = o.notify_tenant && scope.serves(*o.notify_tenant);
  if (rows.empty() && fallback) {
    rows.push_back(*fallback);
    notify = o.notify_tenant == fallback;
  }
  const auto told = o.notify_tenant;
  int written = 0;
  for (TenantId t : rows) {
    o.tenant_id = t;
    o.notify_tenant = notify && written == 0 ? told : std::nullopt;
    if (auto st = store.add_opt_out(o); !st) return st.error();
    ++written;
  }
  return written;
}

}  // namespace barid::core
