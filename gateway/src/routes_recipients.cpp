// Recipient preferences (a recipient is addressed by the tenant's own id for
// them, or by phone number when the key starts with '+'), and the messages
// recipients sent.

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
  bool stored = it != found->preferences.end();
  if (stored) p = it->second;
  else if (!key->phone.empty()) p.phone = key->phone;
  else p.recipient_id = key->id;
  // By number, with nothing stored under the number itself: the preferences
  // of this tenant's recipient whose record names it (the most recently
  // updated, when several do). The number's own preferences come first.
  if (!stored && !key->phone.empty()) {
    auto naming = app.store().preferences_naming(principal->tenant_id, key->phone);
    if (!naming) return send_error(reply, naming.error());
    if (!naming->empty()) {
      p = naming->front();
      stored = true;
    }
  }
  std::vector<core::OptOut> opt_outs = std::move(found->opt_outs);
  std::optional<core::TimePoint> last_inbound;
  if (!p.phone.empty()) {
    if (key->phone.empty()) {  // known by id: its phone's opt-outs
      auto o = app.store().find_recipients(principal->tenant_id, {}, {p.phone});
      if (!o) return send_error(reply, o.error());
      opt_outs = std::move(o->opt_outs);
    }
    // Only what this number wrote to this tenant (InboundRecord): another
    // clinic on the same sender learns nothing of it.
    auto session = app.store().last_inbound_of(principal->tenant_id, p.phone, sdk::Channel::whatsapp);
    if (!session) return send_error(reply, session.error());
    last_inbound = *session;
  }
  // What this tenant's sends are checked against (suppression_reason): an
  // opt-out received through the shared instance does not hold on a channel
  // the tenant sends through an instance of its own.
  if (!opt_outs.empty()) {
    auto tenant = app.store().find_tenant(principal->tenant_id);
    if (!tenant) return send_error(reply, tenant.error());
    if (*tenant)
      std::erase_if(opt_outs, [&](const core::OptOut& o) {
        const auto channel = sdk::channel_from_string(o.channel);
        return o.tenant_id == 0 && !o.instance.empty() && channel && (*tenant)->policy.routing.count(*channel) > 0;
      });
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
  auto read = read_preferences(*body, app.intake().phones());
  if (!read) return send_error(reply, read.error());
  core::RecipientPreferences p = std::move(*read);
  if (!key->phone.empty() && !p.phone.empty() && p.phone != key->phone)
    return send_error(reply, core::Error::invalid("phone", "the phone differs from the one in the path"));
  p.recipient_id = key->id;
  if (p.phone.empty()) p.phone = key->phone;

  if (auto st = app.store().put_preferences(principal->tenant_id, p); !st) return send_error(reply, st.error());
  // With numbers sealed, the audit names a number by its keyed hash too (the
  // form opt-outs are stored in, which retention matches the evidence by).
  const auto& cipher = app.config().mysql.cipher;
  const std::string subject = cipher && cipher->seals_numbers() && key->key.rfind("phone:", 0) == 0
                                  ? "phone:" + cipher->number_index(key->key.substr(6))
                                  : key->key;
  audit(*principal, request, "preferences.updated", subject,
        std::string(p.opted_out ? "opted out" : "opted in") + ", " + std::to_string(p.channels.size()) +
            " channel(s), " + std::to_string(p.blocked_categories.size()) + " blocked categories");
  auto saved = app.store().find_recipients(principal->tenant_id, {key->key}, {});
  if (!saved) return send_error(reply, saved.error());
  const auto& stored = saved->preferences;
  reply.send_json(200, preferences_json(stored.count(key->key) ? stored.at(key->key) : p, {}));
}

namespace {

json inbound_json(const core::InboundRecord& m, bool with_tenant, bool with_body) {
  json j{{"id", m.id.str()},
         {"channel", std::string(sdk::to_string(m.channel))},
         {"from", m.from},
         {"to", m.to},
         {"provider", {{"instance", m.instance},
                       {"message_id", m.provider_message_id.empty() ? json(nullptr) : json(m.provider_message_id)}}},
         {"received_at", core::format_iso8601(m.received_at)},
         {"answers", m.message_id ? json{{"message_id", m.message_id->str()}, {"intent", m.intent}} : json(nullptr)}};
  if (with_tenant) j["tenant_id"] = m.tenant_id ? json(*m.tenant_id) : json(nullptr);
  if (with_body) {
    j["body"] = m.content_error.empty() ? json(m.body) : json(nullptr);
    if (!m.content_error.empty()) j["body_error"] = m.content_error;
  }
  return j;
}

json inbound_page(const std::vector<core::InboundRecord>& list, int limit, bool with_tenant, bool with_body) {
  json items = json::array();
  for (const auto& m : list) items.push_back(inbound_json(m, with_tenant, with_body));
  return json{{"inbound", items},
              {"next_cursor", static_cast<int>(list.size()) == limit && !list.empty() ? json(list.back().id.str())
                                                                                      : json(nullptr)}};
}

std::vector<std::string> ids_of(const std::vector<core::InboundRecord>& list) {
  std::vector<std::string> ids;
  for (const auto& m : list) ids.push_back(m.id.str());
  return ids;
}

}  // namespace

std::optional<core::InboundFilter> HttpApi::Routes::inbound_filter(const Rest::Request& request, Reply& reply) {
  core::InboundFilter f;
  const auto& q = request.query();
  if (auto v = q.get("phone")) {
    auto e164 = app.intake().phones().to_e164(*v, "phone");
    if (!e164) {
      send_error(reply, e164.error());
      return std::nullopt;
    }
    f.phone = *e164;
  }
  if (auto v = q.get("since")) {
    auto t = core::parse_iso8601(*v);
    if (!t) {
      send_error(reply, core::Error::invalid("since", "since: an RFC 3339 time with a zone"));
      return std::nullopt;
    }
    f.since = *t;
  }
  if (auto v = q.get("cursor")) {
    f.before = core::Uuid::parse(*v);
    if (!f.before) {
      send_error(reply, core::Error::invalid("cursor", "cursor: the next_cursor of the previous page"));
      return std::nullopt;
    }
  }
  if (auto v = q.get("limit")) {
    const bool digits = !v->empty() && v->size() <= 4 && std::all_of(v->begin(), v->end(), ::isdigit);
    f.limit = digits ? std::stoi(*v) : 0;
    if (f.limit < 1 || f.limit > kMaxPageLimit) {
      send_error(reply, core::Error::invalid("limit", page_limit_rule()));
      return std::nullopt;
    }
  }
  return f;
}

// GET /v1/inbound?phone=&since=&cursor=&limit=: the messages recipients sent
// to this tenant, newest first, bodies included.
void HttpApi::Routes::list_inbound(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::read);
  if (!principal) return;
  auto f = inbound_filter(request, reply);
  if (!f) return;
  f->tenant = principal->tenant_id;
  const auto with_body = include_body(request, reply);
  if (!with_body) return;
  auto list = app.store().list_inbound(*f);
  if (!list) return send_error(reply, list.error());
  if (*with_body && !audit_body_read(*principal, request, principal->tenant_id, "inbound.body_read", ids_of(*list), reply))
    return;
  reply.send_json(200, inbound_page(*list, f->limit, false, *with_body));
}

// GET /v1/admin/inbound?tenant=&unassigned=true&...: every tenant's, or one
// tenant's, or those of no tenant (no recent send explained them and the
// instance has no default_tenant).
void HttpApi::Routes::admin_list_inbound(const Rest::Request& request, Reply& reply) {
  auto op = authenticate_operator(request, reply);
  if (!op) return;
  auto f = inbound_filter(request, reply);
  if (!f) return;
  const auto& q = request.query();
  if (auto v = q.get("unassigned")) {
    if (*v != "true" && *v != "false")
      return send_error(reply, core::Error::invalid("unassigned", "unassigned: true or false"));
    f->unassigned = *v == "true";
  }
  if (auto v = q.get("tenant")) {
    if (f->unassigned) return send_error(reply, core::Error::invalid("tenant", "give tenant or unassigned=true, not both"));
    auto t = tenant_by_ref(*v, reply, "tenant");
    if (!t) return;
    f->tenant = t->id;
  }
  const auto with_body = include_body(request, reply);
  if (!with_body) return;
  auto list = app.store().list_inbound(*f);
  if (!list) return send_error(reply, list.error());
  // An operator's reads are recorded with the operator's own actions (tenant 0).
  if (*with_body && !audit_body_read(*op, request, 0, "inbound.body_read", ids_of(*list), reply)) return;
  reply.send_json(200, inbound_page(*list, f->limit, true, *with_body));
}

}  // namespace barid::gateway
