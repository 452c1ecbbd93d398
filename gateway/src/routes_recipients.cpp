// Recipient preferences. A recipient is addressed by the tenant's own id for
// them, or by phone number when the key starts with '+'.

#include "routes.hpp"

#include <barid/sdk/encoding.hpp>

namespace barid::gateway {

using namespace Pistache;
using nlohmann::json;

namespace {

// WhatsApp allows free-form messages only within 24 hours of the
// recipient's last message; outside it, only approved templates.
json whatsapp_session_json(const std::optional<core::TimePoint>& last_inbound) {
  if (!last_inbound) return json{{"open", false}, {"last_inbound_at", nullptr}, {"closes_at", nullptr}};
  const core::TimePoint closes = *last_inbound + std::chrono::hours(24);
  return json{{"open", core::now_us() < closes},
              {"last_inbound_at", core::format_iso8601(*last_inbound)},
              {"closes_at", core::format_iso8601(closes)}};
}

json preferences_json(const core::RecipientPreferences& p, const std::vector<core::OptOut>& opt_outs,
                      const std::optional<core::TimePoint>& whatsapp_last_inbound = std::nullopt) {
  json channels = json::array();
  for (auto c : p.channels) channels.push_back(std::string(sdk::to_string(c)));
  json categories = json::object();
  for (const auto& c : p.blocked_categories) categories[c] = false;
  json outs = json::array();
  for (const auto& o : opt_outs)
    outs.push_back({{"channel", o.channel},
                    {"source", o.source},
                    {"scope", o.tenant_id == 0 ? "all tenants" : "this tenant"},
                    {"since", core::format_iso8601(o.created_at)}});
  return json{{"recipient_id", p.recipient_id.empty() ? json(nullptr) : json(p.recipient_id)},
              {"phone", p.phone.empty() ? json(nullptr) : json(p.phone)},
              {"channels", channels},
              {"categories", categories},
              {"language", p.language.empty() ? json(nullptr) : json(p.language)},
              {"opted_out", p.opted_out},
              {"opt_outs", outs},
              {"whatsapp_session", whatsapp_session_json(whatsapp_last_inbound)},
              {"updated_at", p.updated_at == core::TimePoint{} ? json(nullptr) : json(core::format_iso8601(p.updated_at))}};
}

}  // namespace

namespace {
struct RecipientKey {
  std::string key;    // "id:..." or "phone:..."
  std::string id;
  std::string phone;  // E.164
};

core::Result<RecipientKey> parse_key(const std::string& raw, const core::PhoneNormalizer& phones) {
  const std::string text = sdk::url_decode(raw, false);
  RecipientKey k;
  if (!text.empty() && text[0] == '+') {
    auto e164 = phones.to_e164(text, "key");
    if (!e164) return e164.error();
    k.phone = *e164;
    k.key = core::recipient_key_for_phone(k.phone);
  } else {
    if (text.empty() || text.size() > 128) return core::Error::invalid("key", "a recipient id has 1 to 128 characters");
    k.id = text;
    k.key = core::recipient_key_for_id(text);
  }
  return k;
}
}  // namespace

// GET /v1/recipients/:key/preferences
void HttpApi::Routes::get_preferences(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::read);
  if (!principal) return;
  auto key = parse_key(request.param(":key").as<std::string>(), app.intake().phones());
  if (!key) return send_error(reply, key.error());
  std::vector<std::string> phones;
  if (!key->phone.empty()) phones.push_back(key->phone);
  auto found = app.store().find_recipients(principal->tenant_id, {key->key}, phones);
  if (!found) return send_error(reply, found.error());
  core::RecipientPreferences p;
  auto it = found->preferences.find(key->key);
  const bool stored = it != found->preferences.end();
  if (stored) p = it->second;
  else if (!key->phone.empty()) p.phone = key->phone;
  else p.recipient_id = key->id;
  std::vector<core::OptOut> opt_outs = std::move(found->opt_outs);
  std::optional<core::TimePoint> last_inbound;
  if (!p.phone.empty()) {
    if (key->phone.empty()) {  // known by id: its phone's opt-outs
      auto o = app.store().find_recipients(principal->tenant_id, {}, {p.phone});
      if (!o) return send_error(reply, o.error());
      opt_outs = std::move(o->opt_outs);
    }
    auto session = app.store().last_inbound(p.phone, sdk::Channel::whatsapp);
    if (!session) return send_error(reply, session.error());
    last_inbound = *session;
  }
  if (!stored && opt_outs.empty() && !last_inbound)
    return reply.send_problem(problem(404, "not-found", "Not found", "nothing is stored for this recipient"));
  reply.send_json(200, preferences_json(p, opt_outs, last_inbound));
}

// PUT /v1/recipients/:key/preferences
void HttpApi::Routes::put_preferences(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::manage);
  if (!principal) return;
  auto key = parse_key(request.param(":key").as<std::string>(), app.intake().phones());
  if (!key) return send_error(reply, key.error());
  auto body = json_body(request, reply);
  if (!body) return;
  JsonReader r(*body);
  if (auto st = r.only({"phone", "channels", "categories", "language", "opted_out"}); !st)
    return send_error(reply, st.error());
  core::RecipientPreferences p;
  p.recipient_id = key->id;
  p.phone = key->phone;
  auto phone = r.str("phone");
  if (!phone) return send_error(reply, phone.error());
  if (!phone->empty()) {
    auto e164 = app.intake().phones().to_e164(*phone, "phone");
    if (!e164) return send_error(reply, e164.error());
    if (!key->phone.empty() && *e164 != key->phone)
      return send_error(reply, core::Error::invalid("phone", "the phone differs from the one in the path"));
    p.phone = *e164;
  }
  auto channels = r.strings("channels");
  if (!channels) return send_error(reply, channels.error());
  for (std::size_t i = 0; i < channels->size(); ++i) {
    auto c = sdk::channel_from_string((*channels)[i]);
    if (!c || *c == sdk::Channel::email)
      return send_error(reply, core::Error::invalid("channels[" + std::to_string(i) + "]",
                                                    "'" + (*channels)[i] + "' is not sms or whatsapp"));
    p.channels.insert(*c);
  }
  auto categories = r.object("categories");
  if (!categories) return send_error(reply, categories.error());
  if (*categories) {
    for (const auto& [name, allowed] : (*categories)->items()) {
      if (!allowed.is_boolean())
        return send_error(reply, core::Error::invalid("categories." + name, "categories." + name + " must be true or false"));
      if (name.empty() || name.size() > 32)
        return send_error(reply, core::Error::invalid("categories." + name, "a category has 1 to 32 characters"));
      if (!allowed.get<bool>()) p.blocked_categories.insert(name);
    }
  }
  auto language = r.str("language");
  if (!language) return send_error(reply, language.error());
  if (!language->empty() && !core::is_language_code(*language))
    return send_error(reply, core::Error::invalid("language", "'" + *language + "' is not a language code (e.g. en, ar)"));
  p.language = *language;
  auto opted_out = r.boolean("opted_out");
  if (!opted_out) return send_error(reply, opted_out.error());
  p.opted_out = opted_out->value_or(false);

  if (auto st = app.store().put_preferences(principal->tenant_id, p); !st) return send_error(reply, st.error());
  audit(*principal, request, "preferences.updated", key->key,
        std::string(p.opted_out ? "opted out" : "opted in") + ", " + std::to_string(p.channels.size()) +
            " channel(s), " + std::to_string(p.blocked_categories.size()) + " blocked categories");
  auto saved = app.store().find_recipients(principal->tenant_id, {key->key}, {});
  if (!saved) return send_error(reply, saved.error());
  const auto& stored = saved->preferences;
  reply.send_json(200, preferences_json(stored.count(key->key) ? stored.at(key->key) : p, {}));
}

}  // namespace barid::gateway
