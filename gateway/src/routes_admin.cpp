// The operator's API (/v1/admin/, operator keys only): tenants, their API
// keys, running a periodic job now, the full view of the providers.

#include "routes.hpp"

#include <barid/core/log.hpp>
#include <barid/core/tenant_policy.hpp>

#include <algorithm>
#include <set>
#include <limits>

namespace barid::gateway {

using namespace Pistache;
using nlohmann::json;

namespace {

json tenant_json(const core::Tenant& t) {
  json j{{"id", t.id},
              {"name", t.name},
              {"status", t.suspended_at ? "suspended" : "active"},
              {"suspended_at", t.suspended_at ? json(core::format_iso8601(*t.suspended_at)) : json(nullptr)},
              {"default_language", t.default_language},
              {"retention_days", t.retention_days ? json(*t.retention_days) : json(nullptr)},
              {"created_at", core::format_iso8601(t.created_at)}};
  j.update(core::to_json(t.policy));
  return j;
}

json key_json(const core::ApiKeyRecord& k) {
  return json{{"id", k.key_id},
              {"tenant_id", k.tenant_id},
              {"label", k.label},
              {"scopes", core::scopes_to_list(k.scopes)},
              {"created_at", core::format_iso8601(k.created_at)},
              {"revoked_at", k.revoked_at ? json(core::format_iso8601(*k.revoked_at)) : json(nullptr)}};
}

core::Actor operator_actor(const Rest::Request& request, const TrustedProxies& proxies, const core::Principal& p) {
  return actor_of(request, proxies, "operator:" + p.key_id);
}

}  // namespace

std::optional<core::Tenant> HttpApi::Routes::tenant_param(const Rest::Request& request, Reply& reply) {
  return tenant_by_ref(request.param(":tenant").as<std::string>(), reply);
}

std::optional<core::Tenant> HttpApi::Routes::tenant_by_ref(const std::string& ref, Reply& reply,
                                                           const char* query_field) {
  const bool numeric = !ref.empty() && ref.size() <= 10 && std::all_of(ref.begin(), ref.end(), ::isdigit) &&
                       std::stoull(ref) <= std::numeric_limits<core::TenantId>::max();
  auto found = numeric ? app.store().find_tenant(static_cast<core::TenantId>(std::stoul(ref)))
                       : app.store().find_tenant_by_name(ref);
  if (found && !*found && numeric) found = app.store().find_tenant_by_name(ref);  // a name made of digits
  if (!found) {
    send_error(reply, found.error());
    return std::nullopt;
  }
  if (!*found) {
    if (query_field) send_error(reply, core::Error::invalid(query_field, "no tenant with id or name '" + ref + "'"));
    else reply.send_problem(problem(404, "not-found", "Not found", "no tenant with id or name '" + ref + "'"));
    return std::nullopt;
  }
  return **found;
}

void HttpApi::Routes::admin_audit(const core::Principal& p, const Rest::Request& request, core::TenantId tenant,
                                  const std::string& action, const std::string& subject, const std::string& detail) {
  core::AuditEntry e;
  e.tenant_id = tenant;
  e.action = action;
  e.subject = subject;
  e.detail = detail;
  e.actor = operator_actor(request, proxies, p);
  if (auto st = app.store().add_audit(e); !st)
    core::log_warn("audit", "cannot record '" + action + "': " + st.error().message);
}

// POST /v1/admin/tenants {"name"}
void HttpApi::Routes::admin_create_tenant(const Rest::Request& request, Reply& reply) {
  auto op = authenticate_operator(request, reply);
  if (!op) return;
  auto body = json_body(request, reply);
  if (!body) return;
  auto name = read_new_tenant(*body);
  if (!name) return send_error(reply, name.error());
  auto t = app.store().create_tenant(*name);
  if (!t) return send_error(reply, t.error());
  admin_audit(*op, request, t->id, "tenant_created", "tenant:" + std::to_string(t->id), t->name);
  reply.header("Location", "/v1/admin/tenants/" + std::to_string(t->id));
  reply.send_json(201, tenant_json(*t));
}

// GET /v1/admin/tenants
void HttpApi::Routes::admin_list_tenants(const Rest::Request& request, Reply& reply) {
  if (!authenticate_operator(request, reply)) return;
  auto all = app.store().list_tenants();
  if (!all) return send_error(reply, all.error());
  json items = json::array();
  for (const auto& t : *all) items.push_back(tenant_json(t));
  reply.send_json(200, json{{"tenants", items}});
}

// GET /v1/admin/tenants/{tenant}
void HttpApi::Routes::admin_get_tenant(const Rest::Request& request, Reply& reply) {
  if (!authenticate_operator(request, reply)) return;
  auto t = tenant_param(request, reply);
  if (!t) return;
  reply.send_json(200, tenant_json(*t));
}

// PUT /v1/admin/tenants/{tenant}: what the tenant may send, replaced as a
// whole ({"allowed_senders", "default_senders", "allowed_provider_templates",
// "allowed_countries", "quotas", "spend_cap"}; a rule left out restricts
// nothing).
void HttpApi::Routes::admin_put_tenant(const Rest::Request& request, Reply& reply) {
  auto op = authenticate_operator(request, reply);
  if (!op) return;
  auto t = tenant_param(request, reply);
  if (!t) return;
  auto body = json_body(request, reply);
  if (!body) return;
  JsonReader r(*body);
  if (auto st = r.only({"allowed_senders", "default_senders", "allowed_provider_templates", "allowed_countries",
                        "quotas", "spend_cap", "routing", "max_priority", "share"});
      !st)
    return send_error(reply, st.error());
  auto policy = core::policy_from_json(*body);
  if (!policy) return send_error(reply, policy.error());
  // Checked against the provider instances in force now (the configuration
  // as of the last reload), not the one the gateway started with.
  const auto set = app.providers().snapshot();
  // A tenant's own routes name instances of this configuration that serve
  // the channel.
  {
    for (const auto& [channel, route] : policy->routing) {
      const std::string field = "routing." + std::string(sdk::to_string(channel));
      std::vector<std::pair<std::string, std::string>> names{{field + ".provider", route.provider}};
      for (std::size_t i = 0; i < route.fallback.size(); ++i)
        names.emplace_back(field + ".fallback[" + std::to_string(i) + "]", route.fallback[i]);
      for (const auto& [f, name] : names) {
        const auto* slot = set->find(name);
        if (!slot)
          return send_error(reply, core::Error::invalid(f, "no provider instance named '" + name + "' is configured"));
        if (!slot->instance->descriptor().serves(channel))
          return send_error(reply, core::Error::invalid(f, "instance '" + name + "' does not serve " +
                                                               std::string(sdk::to_string(channel))));
      }
    }
  }
  if (policy->spend_cap) {
    // The cap counts estimated costs, which exist only in the currencies
    // that instances are priced in.
    std::set<std::string> priced;
    for (const auto& [name, slot] : set->instances)
      if (slot.price_per_segment) priced.insert(slot.price_per_segment->currency);
    if (!priced.count(policy->spend_cap->currency))
      return send_error(reply, core::Error::invalid("spend_cap.currency",
                                                    "no provider instance is priced in " + policy->spend_cap->currency +
                                                        " (providers.<instance>.price), so nothing would count "
                                                        "against this cap"));
  }
  if (auto saved = app.store().set_tenant_policy(t->id, *policy); !saved) return send_error(reply, saved.error());
  // This node at once; the others within messaging.template_cache_ttl (the
  // routes within two seconds).
  app.catalog().invalidate_tenant(t->id);
  app.forget_tenant_routes();
  admin_audit(*op, request, t->id, "tenant_policy_set", "tenant:" + std::to_string(t->id),
              core::to_json(*policy).dump());
  auto now = app.store().find_tenant(t->id);
  if (!now || !*now) return send_error(reply, now ? core::Error::not_found("the tenant is gone") : now.error());
  reply.send_json(200, tenant_json(**now));
}

// POST /v1/admin/tenants/{tenant}/suspend and /resume
void HttpApi::Routes::admin_suspend_tenant(const Rest::Request& request, Reply& reply) {
  admin_set_suspended(request, reply, true);
}

void HttpApi::Routes::admin_resume_tenant(const Rest::Request& request, Reply& reply) {
  admin_set_suspended(request, reply, false);
}

void HttpApi::Routes::admin_set_suspended(const Rest::Request& request, Reply& reply, bool suspended) {
  auto op = authenticate_operator(request, reply);
  if (!op) return;
  auto t = tenant_param(request, reply);
  if (!t) return;
  if (auto r = app.store().set_tenant_suspended(t->id, suspended); !r) return send_error(reply, r.error());
  // This node at once; the others within auth.revocation_poll.
  app.api_keys().forget_tenant(t->id);
  admin_audit(*op, request, t->id, suspended ? "tenant_suspended" : "tenant_resumed",
              "tenant:" + std::to_string(t->id), t->name);
  auto now = app.store().find_tenant(t->id);
  if (!now || !*now) return send_error(reply, now ? core::Error::not_found("the tenant is gone") : now.error());
  reply.send_json(200, tenant_json(**now));
}

// POST /v1/admin/tenants/{tenant}/keys {"label"?, "scopes"?}
void HttpApi::Routes::admin_create_key(const Rest::Request& request, Reply& reply) {
  auto op = authenticate_operator(request, reply);
  if (!op) return;
  auto t = tenant_param(request, reply);
  if (!t) return;
  // Both fields are optional, and so is the body.
  auto body = request.body().empty() ? std::optional<json>(json::object()) : json_body(request, reply);
  if (!body) return;
  auto read = read_new_key(*body);
  if (!read) return send_error(reply, read.error());
  const std::string& label = read->label;
  const core::Scopes scopes = read->scopes;
  auto created = app.api_keys().create_for(*t, label, scopes);
  if (!created) return send_error(reply, created.error());
  admin_audit(*op, request, t->id, "key_created", "key:" + created->key_id, label);
  reply.send_json(201, json{{"id", created->key_id},
                            {"key", created->key},
                            {"tenant_id", t->id},
                            {"label", label},
                            {"scopes", core::scopes_to_list(scopes)}});
}

// GET /v1/admin/tenants/{tenant}/keys
void HttpApi::Routes::admin_list_keys(const Rest::Request& request, Reply& reply) {
  if (!authenticate_operator(request, reply)) return;
  auto t = tenant_param(request, reply);
  if (!t) return;
  auto keys = app.store().list_api_keys(t->id);
  if (!keys) return send_error(reply, keys.error());
  json items = json::array();
  for (const auto& k : *keys) items.push_back(key_json(k));
  reply.send_json(200, json{{"keys", items}});
}

// DELETE /v1/admin/keys/{id}
void HttpApi::Routes::admin_revoke_key(const Rest::Request& request, Reply& reply) {
  auto op = authenticate_operator(request, reply);
  if (!op) return;
  const std::string id = request.param(":id").as<std::string>();
  auto k = app.store().revoke_api_key(id);
  if (!k) return send_error(reply, k.error());
  if (!*k) return reply.send_problem(problem(404, "not-found", "Not found", "no API key with id '" + id + "'"));
  app.api_keys().forget_key(id);
  // Revoking a revoked key changes nothing and records nothing. An operator
  // key's revocation is in the operator's own log (tenant 0), which
  // GET /v1/admin/audit shows.
  if ((*k)->revoked_now) admin_audit(*op, request, (*k)->key.tenant_id, "key_revoked", "key:" + id, (*k)->key.label);
  reply.send_json(200, key_json((*k)->key));
}

// POST /v1/admin/jobs/{name}/run: 202 at once; the run goes on on this node
// and GET /v1/admin/jobs/runs/{id} tells how it ended, from any node.
void HttpApi::Routes::admin_run_job(const Rest::Request& request, Reply& reply) {
  auto op = authenticate_operator(request, reply);
  if (!op) return;
  const std::string name = request.param(":name").as<std::string>();
  auto run = app.jobs().request_run(name, "operator:" + op->key_id);
  if (!run)
    return reply.send_problem(
        problem(404, "not-found", "Not found", "no job named '" + name + "' (or it is not enabled in the configuration)"));
  if (!*run) return send_error(reply, run->error());
  reply.header("Location", "/v1/admin/jobs/runs/" + (*run)->str());
  reply.send_json(202, json{{"id", (*run)->str()}, {"job", name}, {"status", "running"}});
}

// GET /v1/admin/jobs/runs/{id}
void HttpApi::Routes::admin_get_job_run(const Rest::Request& request, Reply& reply) {
  if (!authenticate_operator(request, reply)) return;
  const std::string text = request.param(":id").as<std::string>();
  const auto id = core::Uuid::parse(text);
  if (!id) return reply.send_problem(problem(404, "not-found", "Not found", "no job run with id '" + text + "'"));
  auto run = app.store().find_requested_run(*id);
  if (!run) return send_error(reply, run.error());
  if (!*run) return reply.send_problem(problem(404, "not-found", "Not found", "no job run with id '" + text + "'"));
  const auto& r = **run;
  reply.send_json(200, json{{"id", r.id.str()},
                            {"job", r.job},
                            {"status", r.finished_at ? "finished" : "running"},
                            {"result", r.finished_at ? json(r.result) : json(nullptr)},
                            {"node", r.node},
                            {"requested_by", r.requested_by},
                            {"requested_at", core::format_iso8601(r.requested_at)},
                            {"finished_at", r.finished_at ? json(core::format_iso8601(*r.finished_at)) : json(nullptr)}});
}

// GET /v1/admin/tenants/{tenant}/usage
void HttpApi::Routes::admin_tenant_usage(const Rest::Request& request, Reply& reply) {
  if (!authenticate_operator(request, reply)) return;
  auto t = tenant_param(request, reply);
  if (!t) return;
  send_usage(reply, *t);
}

// GET /v1/usage: the calling tenant's own.
void HttpApi::Routes::usage(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::read);
  if (!principal) return;
  auto t = app.store().find_tenant(principal->tenant_id);
  if (!t) return send_error(reply, t.error());
  if (!*t) return send_error(reply, core::Error::not_found("the tenant is gone"));
  send_usage(reply, **t);
}

void HttpApi::Routes::send_usage(Reply& reply, const core::Tenant& t) {
  auto u = app.store().usage(t.id);
  if (!u) return send_error(reply, u.error());
  const core::TenantPolicy& p = t.policy;
  auto period = [](const core::UsagePeriod& up, const std::optional<std::int64_t>& quota) {
    json costs = json::array();
    for (const auto& [currency, micros] : up.cost_micros_by_currency)
      costs.push_back({{"amount", money_text(micros)}, {"currency", currency}});
    return json{{"start", up.start},
                {"messages", up.messages},
                {"segments", up.segments},
                {"estimated_cost", costs},
                {"quota", quota ? json(*quota) : json(nullptr)},
                {"remaining", quota ? json(std::max<std::int64_t>(0, *quota - up.messages)) : json(nullptr)}};
  };
  json month = period(u->month, p.quotas.messages_per_month);
  if (p.spend_cap) {
    const auto spent = u->month.cost_micros_by_currency.count(p.spend_cap->currency)
                           ? u->month.cost_micros_by_currency.at(p.spend_cap->currency)
                           : 0;
    month["spend_cap"] = {{"amount", money_text(p.spend_cap->micros)},
                          {"currency", p.spend_cap->currency},
                          {"remaining", money_text(std::max<std::int64_t>(0, p.spend_cap->micros - spent))}};
  } else {
    month["spend_cap"] = nullptr;
  }
  reply.send_json(200, json{{"tenant_id", t.id},
                            {"tenant", t.name},
                            {"day", period(u->day, p.quotas.messages_per_day)},
                            {"month", month},
                            {"sends_per_second",
                             p.quotas.sends_per_second ? json(*p.quotas.sends_per_second) : json(nullptr)}});
}

}  // namespace barid::gateway
