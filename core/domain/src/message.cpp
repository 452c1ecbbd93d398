#include <barid/core/message.hpp>

namespace barid::core {

AuditEntry body_read_entry(TenantId tenant, std::string action, Actor actor, const std::vector<std::string>& ids) {
  AuditEntry e;
  e.tenant_id = tenant;
  e.action = std::move(action);
  e.actor = std::move(actor);
  e.subject = ids.size() == 1 ? ids.front() : std::to_string(ids.size()) + " ids";
  for (const auto& id : ids) e.detail += (e.detail.empty() ? "" : ",") + id;
  return e;
}

std::optional<Scopes> scopes_from_list(const std::vector<std::string>& words) {
  Scopes set = 0;
  for (const auto& w : words) {
    if (w == "send") set |= static_cast<Scopes>(Scope::send);
    else if (w == "read") set |= static_cast<Scopes>(Scope::read);
    else if (w == "manage") set |= static_cast<Scopes>(Scope::manage);
    else return std::nullopt;
  }
  return set;
}

std::vector<std::string> scopes_to_list(Scopes set) {
  std::vector<std::string> out;
  for (Scope s : {Scope::send, Scope::read, Scope::manage})
    if (has_scope(set, s)) out.emplace_back(to_string(s));
  return out;
}

}  // namespace barid::core
