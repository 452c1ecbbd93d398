// Templates: create or replace, read, list, delete. Saving answers with a
// preflight per language (encoding, characters, segments, estimated cost).

#include "routes.hpp"

namespace barid::gateway {

using namespace Pistache;
using nlohmann::json;

namespace {

// A template's preflight is priced with the first of its channels that has a
// price on this tenant's routes (its own instance where it has one).
json template_json(GatewayApp& app, const core::Template& t) {
  std::optional<sdk::Money> price;
  for (auto c : t.channels)
    if (!price) price = app.price_per_segment(c, t.tenant_id);
  json translations = json::object();
  for (const auto& [lang, tr] : t.translations) {
    json j{{"body", tr.body}};
    j["provider_template"] = tr.provider_template.empty() ? json(nullptr) : json(tr.provider_template);
    j["provider_variables"] = tr.provider_variables;
    j["replies"] = tr.replies;  // normalised answer -> intent
    translations[lang] = std::move(j);
  }
  json channels = json::array();
  for (auto c : t.channels) channels.push_back(std::string(sdk::to_string(c)));
  json preflight = json::object();
  for (const auto& p : core::preflight(t, price)) {
    preflight[p.language] = {
        {"encoding", std::string(core::to_string(p.count.encoding))},
        {"characters", p.count.characters},
        {"units", p.count.units},
        {"segments", p.count.segments},
        {"variables", p.variables},
        {"estimated_cost", p.estimated_cost ? json{{"amount", money_text(p.estimated_cost->micros)},
                                                   {"currency", p.estimated_cost->currency}}
                                            : json(nullptr)}};
  }
  return json{{"code", t.code},
              {"channels", channels},
              {"category", t.category.empty() ? json(nullptr) : json(t.category)},
              {"description", t.description},
              {"priority", t.priority ? json(std::string(core::to_string(*t.priority))) : json(nullptr)},
              {"validity", t.validity ? json(core::format_validity(*t.validity)) : json(nullptr)},
              {"translations", translations},
              {"preflight", preflight},
              {"created_at", core::format_iso8601(t.created_at)},
              {"updated_at", core::format_iso8601(t.updated_at)}};
}

}  // namespace

// PUT /v1/templates/:code
void HttpApi::Routes::put_template(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::manage);
  if (!principal) return;
  auto body = json_body(request, reply);
  if (!body) return;
  auto read = read_template(*body, request.param(":code").as<std::string>());
  if (!read) return send_error(reply, read.error());
  core::Template t = std::move(*read);
  t.tenant_id = principal->tenant_id;

  auto existed = app.store().find_template(principal->tenant_id, t.code);
  if (!existed) return send_error(reply, existed.error());
  auto saved = app.store().put_template(t);
  if (!saved) return send_error(reply, saved.error());
  app.catalog().invalidate(principal->tenant_id, t.code);
  audit(*principal, request, *existed ? "template.replaced" : "template.created", t.code,
        std::to_string(t.translations.size()) + " translation(s)");
  reply.send_json(*existed ? 200 : 201, template_json(app, *saved));
}

// GET /v1/templates/:code
void HttpApi::Routes::get_template(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::read);
  if (!principal) return;
  const auto code = request.param(":code").as<std::string>();
  auto t = app.store().find_template(principal->tenant_id, code);
  if (!t) return send_error(reply, t.error());
  if (!*t) return reply.send_problem(problem(404, "not-found", "Not found", "no template '" + code + "'"));
  reply.send_json(200, template_json(app, **t));
}

// GET /v1/templates
void HttpApi::Routes::list_templates(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::read);
  if (!principal) return;
  auto list = app.store().list_templates(principal->tenant_id);
  if (!list) return send_error(reply, list.error());
  json items = json::array();
  for (const auto& t : *list) {
    items.push_back(template_json(app, t));
  }
  reply.send_json(200, json{{"templates", items}});
}

// DELETE /v1/templates/:code
void HttpApi::Routes::delete_template(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::manage);
  if (!principal) return;
  const auto code = request.param(":code").as<std::string>();
  auto deleted = app.store().delete_template(principal->tenant_id, code);
  if (!deleted) return send_error(reply, deleted.error());
  if (!*deleted) return reply.send_problem(problem(404, "not-found", "Not found", "no template '" + code + "'"));
  app.catalog().invalidate(principal->tenant_id, code);
  audit(*principal, request, "template.deleted", code, "");
  reply.send(204, "", "text/plain");
}

}  // namespace barid::gateway
