#pragma once
// Which tenants a provider instance serves on a channel: the tenants an
// opt-out (or opt-in) received through it applies to. A patient who writes
// STOP to a clinic's own number stops that clinic, not every clinic on the
// gateway; STOP to the shared number stops every clinic that writes from it.

#include <barid/core/message.hpp>
#include <barid/core/provider_registry.hpp>
#include <barid/core/recipients.hpp>
#include <barid/core/store.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace barid::core {

// Tenants routed to instances of their own (TenantPolicy::routing).
using TenantRoutes = std::map<TenantId, std::map<sdk::Channel, TenantRoute>>;

struct OptOutScope {
  // The instance is a primary or fallback of the channel's global route: it
  // serves every tenant without a route of its own on the channel.
  bool global = false;
  std::set<TenantId> tenants;       // tenants whose own route on the channel names it
  std::set<TenantId> routed_apart;  // tenants with a route of their own on the channel

  bool serves(TenantId tenant) const { return tenants.count(tenant) || (global && !routed_apart.count(tenant)); }
  bool empty() const { return !global && tenants.empty(); }
  // The tenant ids its opt-outs are stored under (0: the global route's).
  std::vector<TenantId> rows() const;
};

// The scope of `instance` on `channel`, from the global routing in `set` and
// the tenants' own routes (a tenant route naming no configured instance is
// ignored, as the dispatcher ignores it).
OptOutScope opt_out_scope(const ProviderSet& set, const TenantRoutes& routes, const std::string& instance,
                          sdk::Channel channel);

// Records `o` (its tenant_id aside) once for each tenant the scope stores
// under; an instance that serves no route records it for `fallback` (the
// tenant its inbound message was given to), if any. The event goes to
// `o.notify_tenant` only when the opt-out applies to that tenant. Returns how
// many rows were written.
Result<int> record_scoped_opt_out(RecipientStore& store, const OptOutScope& scope, OptOut o,
                                  std::optional<TenantId> fallback);

}  // namespace barid::core
