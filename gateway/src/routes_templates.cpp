// Templates: create or replace, read, list, delete. Saving answers with a
// preflight per language (encoding, characters, segments, estimated cost).

#include "routes.hpp"

namespace barid::gateway {

using namespace Pistache;
using nlohmann::json;

namespace {

json template_json(const core::Template& t, const std::optional<sdk::Money>& price) {
  json translations = json::object();
  for (const auto& [lang, tr] : t.translations) {
    json j{{"body", tr.body}};
    j["provider_template"] = tr.provider_template.empty() ? json(nullptr) : json(tr.provider_template);
    j["provider_variables"] = tr.provider_variables;
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
  JsonReader r(*body);
  if (auto st = r.only({"channels", "category", "description", "priority", "validity", "translations"}); !st)
    return send_error(reply, st.error());
  core::Template t;
  t.tenant_id = principal->tenant_id;
  t.code = request.param(":code").as<std::string>();
  auto channels = r.strings("channels");
  if (!channels) return send_error(reply, channels.error());
  for (std::size_t i = 0; i < channels->size(); ++i) {
    auto c = sdk::channel_from_string((*channels)[i]);
    if (!c || *c == sdk::Channel::email)
      return send_error(reply, core::Error::invalid("channels[" + std::to_string(i) + "]", "'" + (*channels)[i] +
                                                                                               "' is not sms or whatsapp"));
    t.channels.insert(*c);
  }
  auto category = r.str("category");
  auto description = r.str("description");
  if (!category) return send_error(reply, category.error());
  if (!description) return send_error(reply, description.error());
  t.category = *category;
  t.description = *description;
  auto priority = r.str("priority");
  if (!priority) return send_error(reply, priority.error());
  if (!priority->empty()) {
    t.priority = core::priority_from_string(*priority);
    if (!t.priority) return send_error(reply, core::Error::invalid("priority", "one of high, normal, low"));
  }
  auto validity = r.str("validity");
  if (!validity) return send_error(reply, validity.error());
  if (!validity->empty()) {
    t.validity = core::parse_validity(*validity);
    if (!t.validity)
      return send_error(reply, core::Error::invalid("validity", "a duration such as 90s, 30m, 2h or 1d, from 1s to 30d"));
  }
  auto translations = r.object("translations");
  if (!translations) return send_error(reply, translations.error());
  if (*translations) {
    for (const auto& [lang, tj] : (*translations)->items()) {
      const std::string prefix = "translations." + lang + ".";
      if (!tj.is_object())
        return send_error(reply, core::Error::invalid("translations." + lang, "a translation is an object with a body"));
      JsonReader tr(tj, prefix);
      if (auto st = tr.only({"body", "provider_template", "provider_variables"}); !st) return send_error(reply, st.error());
      core::TemplateTranslation x;
      auto b = tr.str("body");
      auto pt = tr.str("provider_template");
      auto pv = tr.strings("provider_variables");
      if (!b) return send_error(reply, b.error());
      if (!pt) return send_error(reply, pt.error());
      if (!pv) return send_error(reply, pv.error());
      x.body = *b;
      x.provider_template = *pt;
      x.provider_variables = std::move(*pv);
      t.translations[lang] = std::move(x);
    }
  }
  if (auto st = core::validate_template(t); !st) return send_error(reply, st.error());

  auto existed = app.store().find_template(principal->tenant_id, t.code);
  if (!existed) return send_error(reply, existed.error());
  auto saved = app.store().put_template(t);
  if (!saved) return send_error(reply, saved.error());
  app.catalog().invalidate(principal->tenant_id, t.code);
  audit(*principal, request, *existed ? "template.replaced" : "template.created", t.code,
        std::to_string(t.translations.size()) + " translation(s)");
  std::optional<sdk::Money> price;
  for (auto c : t.channels)
    if (!price) price = app.price_per_segment(c);
  reply.send_json(*existed ? 200 : 201, template_json(*saved, price));
}

// GET /v1/templates/:code
void HttpApi::Routes::get_template(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::read);
  if (!principal) return;
  const auto code = request.param(":code").as<std::string>();
  auto t = app.store().find_template(principal->tenant_id, code);
  if (!t) return send_error(reply, t.error());
  if (!*t) return reply.send_problem(problem(404, "not-found", "Not found", "no template '" + code + "'"));
  std::optional<sdk::Money> price;
  for (auto c : (*t)->channels)
    if (!price) price = app.price_per_segment(c);
  reply.send_json(200, template_json(**t, price));
}

// GET /v1/templates
void HttpApi::Routes::list_templates(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::read);
  if (!principal) return;
  auto list = app.store().list_templates(principal->tenant_id);
  if (!list) return send_error(reply, list.error());
  json items = json::array();
  for (const auto& t : *list) {
    std::optional<sdk::Money> price;
    for (auto c : t.channels)
      if (!price) price = app.price_per_segment(c);
    items.push_back(template_json(t, price));
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
