#include "request_readers.hpp"

#include <barid/core/message.hpp>
#include <barid/core/time.hpp>

#include <algorithm>
#include <set>

namespace barid::gateway {

using nlohmann::json;

core::Status JsonReader::only(std::initializer_list<const char*> known) const {
  std::set<std::string> ok(known.begin(), known.end());
  for (const auto& [k, _] : j_.items())
    if (!ok.count(k)) return core::Error::invalid(field(k), "unknown field '" + field(k) + "'");
  return {};
}

bool JsonReader::has(const char* name) const {
  auto it = j_.find(name);
  return it != j_.end() && !it->is_null();
}

core::Result<std::string> JsonReader::str(const char* name, bool required) const {
  auto it = j_.find(name);
  if (it == j_.end() || it->is_null()) {
    if (required) return core::Error::invalid(field(name), field(name) + " is required");
    return std::string();
  }
  if (!it->is_string()) return core::Error::invalid(field(name), field(name) + " must be a string");
  return it->get<std::string>();
}

core::Result<std::optional<long long>> JsonReader::integer(const char* name) const {
  auto it = j_.find(name);
  if (it == j_.end() || it->is_null()) return std::optional<long long>();
  if (!it->is_number_integer()) return core::Error::invalid(field(name), field(name) + " must be an integer");
  return std::optional<long long>(it->get<long long>());
}

core::Result<std::optional<bool>> JsonReader::boolean(const char* name) const {
  auto it = j_.find(name);
  if (it == j_.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return core::Error::invalid(field(name), field(name) + " must be true or false");
  return std::optional<bool>(it->get<bool>());
}

core::Result<std::vector<std::string>> JsonReader::strings(const char* name) const {
  std::vector<std::string> out;
  auto it = j_.find(name);
  if (it == j_.end() || it->is_null()) return out;
  if (!it->is_array()) return core::Error::invalid(field(name), field(name) + " must be a list of strings");
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& v = (*it)[i];
    if (!v.is_string())
      return core::Error::invalid(field(name) + "[" + std::to_string(i) + "]",
                                  field(name) + "[" + std::to_string(i) + "] must be a string");
    out.push_back(v.get<std::string>());
  }
  return out;
}

core::Result<std::map<std::string, std::string>> JsonReader::string_map(const char* name) const {
  std::map<std::string, std::string> out;
  auto it = j_.find(name);
  if (it == j_.end() || it->is_null()) return out;
  if (!it->is_object()) return core::Error::invalid(field(name), field(name) + " must be an object");
  for (const auto& [k, v] : it->items()) {
    if (v.is_string())
      out[k] = v.get<std::string>();
    else if (v.is_number() || v.is_boolean())
      out[k] = v.dump();
    else
      return core::Error::invalid(field(name) + "." + k, field(name) + "." + k + " must be a string");
  }
  return out;
}

core::Result<const json*> JsonReader::object(const char* name) const {
  auto it = j_.find(name);
  if (it == j_.end() || it->is_null()) return static_cast<const json*>(nullptr);
  if (!it->is_object()) return core::Error::invalid(field(name), field(name) + " must be an object");
  return &*it;
}

namespace {

// The fields a single send and a bulk send share.
core::Status read_common(const JsonReader& r, core::SendRequest& out) {
  struct {
    const char* name;
    std::string* value;
  } fields[] = {{"body", &out.body},           {"from", &out.from},
                {"scheduled_at", &out.scheduled_at}, {"reference", &out.reference},
                {"recipient_id", &out.recipient_id}, {"category", &out.category},
                {"priority", &out.priority},         {"expires_at", &out.expires_at},
                {"validity", &out.validity},         {"reply_window", &out.reply_window},
                {"content_retention", &out.content_retention}};
  for (auto& f : fields) {
    auto v = r.str(f.name);
    if (!v) return v.error();
    *f.value = std::move(*v);
  }
  auto channel = r.str("channel");
  if (!channel) return channel.error();
  if (!channel->empty()) out.channel = *channel;
  auto attempts = r.integer("max_attempts");
  if (!attempts) return attempts.error();
  // The intake checks the range; clamping only keeps the value an int.
  if (*attempts) out.max_attempts = static_cast<int>(std::clamp<long long>(**attempts, -1, 1000));

  auto replies = r.string_map("replies");
  if (!replies) return replies.error();
  out.replies = std::move(*replies);

  auto pt = r.object("provider_template");
  if (!pt) return pt.error();
  if (*pt) {
    JsonReader t(**pt, r.field("provider_template."));
    if (auto st = t.only({"id", "variables"}); !st) return st;
    auto id = t.str("id", true);
    if (!id) return id.error();
    out.provider_template = *id;
    auto vars = t.strings("variables");
    if (!vars) return vars.error();
    out.template_variables = std::move(*vars);
  }

  auto tpl = r.object("template");
  if (!tpl) return tpl.error();
  if (*tpl) {
    JsonReader t(**tpl, r.field("template."));
    if (auto st = t.only({"code", "language", "variables"}); !st) return st;
    core::TemplateRequest req;
    auto code = t.str("code", true);
    if (!code) return code.error();
    req.code = *code;
    auto lang = t.str("language");
    if (!lang) return lang.error();
    req.language = *lang;
    auto vars = t.string_map("variables");
    if (!vars) return vars.error();
    req.variables = std::move(*vars);
    out.template_request = std::move(req);
  }
  return {};
}

}  // namespace

core::Result<core::SendRequest> read_send_request(const json& body) {
  JsonReader r(body);
  core::SendRequest req;
  if (auto st = r.only({"to", "channel", "body", "from", "scheduled_at", "reference", "recipient_id", "category",
                        "max_attempts", "provider_template", "template", "priority", "expires_at", "validity",
                        "replies", "reply_window", "content_retention"});
      !st)
    return st.error();
  auto to = r.str("to", true);
  if (!to) return to.error();
  req.to = *to;
  if (auto st = read_common(r, req); !st) return st.error();
  return req;
}

core::Result<core::BulkRequest> read_bulk_request(const json& body) {
  JsonReader r(body);
  core::BulkRequest req;
  if (auto st = r.only({"channel", "body", "from", "scheduled_at", "category", "max_attempts", "provider_template",
                        "template", "recipients", "priority", "expires_at", "validity", "replies", "reply_window",
                        "content_retention"});
      !st)
    return st.error();
  if (auto st = read_common(r, req.common); !st) return st.error();
  auto it = body.find("recipients");
  if (it == body.end() || !it->is_array())
    return core::Error::invalid("recipients", "recipients must be a list");
  req.recipients.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& item = (*it)[i];
    const std::string prefix = "recipients[" + std::to_string(i) + "].";
    core::BulkRecipient rcpt;
    if (item.is_string()) {
      rcpt.to = item.get<std::string>();
    } else if (item.is_object()) {
      JsonReader ir(item, prefix);
      if (auto st = ir.only({"to", "recipient_id", "reference", "language", "variables"}); !st)
        return st.error();
      auto to = ir.str("to", true);
      if (!to) return to.error();
      rcpt.to = *to;
      auto rid = ir.str("recipient_id");
      auto ref = ir.str("reference");
      auto lang = ir.str("language");
      auto vars = ir.string_map("variables");
      if (!rid) return rid.error();
      if (!ref) return ref.error();
      if (!lang) return lang.error();
      if (!vars) return vars.error();
      rcpt.recipient_id = *rid;
      rcpt.reference = *ref;
      rcpt.language = *lang;
      rcpt.variables = std::move(*vars);
    } else {
      return core::Error::invalid("recipients[" + std::to_string(i) + "]",
                                  "a recipient is a phone number or an object with 'to'");
    }
    req.recipients.push_back(std::move(rcpt));
  }
  return req;
}

core::Result<core::Template> read_template(const json& body, const std::string& code) {
  JsonReader r(body);
  if (auto st = r.only({"channels", "category", "description", "priority", "validity", "translations"}); !st)
    return st.error();
  core::Template t;
  t.code = code;
  auto channels = r.strings("channels");
  if (!channels) return channels.error();
  for (std::size_t i = 0; i < channels->size(); ++i) {
    auto c = sdk::channel_from_string((*channels)[i]);
    if (!c || *c == sdk::Channel::email)
      return core::Error::invalid("channels[" + std::to_string(i) + "]", "'" + (*channels)[i] +
                                                                                               "' is not sms or whatsapp");
    t.channels.insert(*c);
  }
  auto category = r.str("category");
  auto description = r.str("description");
  if (!category) return category.error();
  if (!description) return description.error();
  t.category = *category;
  t.description = *description;
  auto priority = r.str("priority");
  if (!priority) return priority.error();
  if (!priority->empty()) {
    t.priority = core::priority_from_string(*priority);
    if (!t.priority) return core::Error::invalid("priority", "one of high, normal, low");
  }
  auto validity = r.str("validity");
  if (!validity) return validity.error();
  if (!validity->empty()) {
    t.validity = core::parse_validity(*validity);
    if (!t.validity)
      return core::Error::invalid("validity", "a duration such as 90s, 30m, 2h or 1d, from 1s to 30d");
  }
  auto translations = r.object("translations");
  if (!translations) return translations.error();
  if (*translations) {
    for (const auto& [lang, tj] : (*translations)->items()) {
      const std::string prefix = "translations." + lang + ".";
      if (!tj.is_object())
        return core::Error::invalid("translations." + lang, "a translation is an object with a body");
      JsonReader tr(tj, prefix);
      if (auto st = tr.only({"body", "provider_template", "provider_variables", "replies"}); !st) return st.error();
      core::TemplateTranslation x;
      auto b = tr.str("body");
      auto pt = tr.str("provider_template");
      auto pv = tr.strings("provider_variables");
      if (!b) return b.error();
      if (!pt) return pt.error();
      if (!pv) return pv.error();
      x.body = *b;
      x.provider_template = *pt;
      x.provider_variables = std::move(*pv);
      auto replies = tr.string_map("replies");
      if (!replies) return replies.error();
      auto checked = core::check_replies(*replies, prefix + "replies");
      if (!checked) return checked.error();
      x.replies = std::move(*checked);
      t.translations[lang] = std::move(x);
    }
  }
  if (auto st = core::validate_template(t); !st) return st.error();
  return t;
}

core::Result<core::TenantSettings> read_settings(const json& body, int max_retention_days) {
  JsonReader r(body);
  if (auto st = r.only({"default_language", "retention_days", "content_retention", "redact_after_days"}); !st)
    return st.error();
  core::TenantSettings out;
  auto lang = r.str("default_language", true);
  if (!lang) return lang.error();
  if (!core::is_language_code(*lang))
    return core::Error::invalid("default_language", "'" + *lang + "' is not a language code (e.g. en, ar)");
  out.default_language = *lang;
  auto days = r.integer("retention_days");
  if (!days) return days.error();
  if (*days) {
    if (**days < 1 || **days > max_retention_days)
      return core::Error::invalid("retention_days", "retention_days: 1 to " + std::to_string(max_retention_days) +
                                                        " (the operator's maximum), or null");
    out.retention_days = static_cast<int>(**days);
  }
  auto content = r.str("content_retention");
  if (!content) return content.error();
  if (*content == "discard") out.discard_content = true;
  else if (!content->empty() && *content != "retain")
    return core::Error::invalid("content_retention", "content_retention: retain or discard");
  auto redact = r.integer("redact_after_days");
  if (!redact) return redact.error();
  if (*redact) {
    if (**redact < 1 || **redact > 36500)
      return core::Error::invalid("redact_after_days", "redact_after_days: 1 to 36500, or null");
    out.redact_after_days = static_cast<int>(**redact);
  }
  return out;
}

core::Result<core::RecipientPreferences> read_preferences(const json& body, const core::PhoneNormalizer& phones) {
  JsonReader r(body);
  if (auto st = r.only({"phone", "channels", "categories", "language", "opted_out"}); !st) return st.error();
  core::RecipientPreferences p;
  auto phone = r.str("phone");
  if (!phone) return phone.error();
  if (!phone->empty()) {
    auto e164 = phones.to_e164(*phone, "phone");
    if (!e164) return e164.error();
    p.phone = *e164;
  }
  auto channels = r.strings("channels");
  if (!channels) return channels.error();
  for (std::size_t i = 0; i < channels->size(); ++i) {
    auto c = sdk::channel_from_string((*channels)[i]);
    if (!c || *c == sdk::Channel::email)
      return core::Error::invalid("channels[" + std::to_string(i) + "]", "'" + (*channels)[i] + "' is not sms or whatsapp");
    p.channels.insert(*c);
  }
  auto categories = r.object("categories");
  if (!categories) return categories.error();
  if (*categories) {
    for (const auto& [name, allowed] : (*categories)->items()) {
      if (!allowed.is_boolean())
        return core::Error::invalid("categories." + name, "categories." + name + " must be true or false");
      if (name.empty() || name.size() > 32)
        return core::Error::invalid("categories." + name, "a category has 1 to 32 characters");
      if (!allowed.get<bool>()) p.blocked_categories.insert(name);
    }
  }
  auto language = r.str("language");
  if (!language) return language.error();
  if (!language->empty() && !core::is_language_code(*language))
    return core::Error::invalid("language", "'" + *language + "' is not a language code (e.g. en, ar)");
  p.language = *language;
  auto opted_out = r.boolean("opted_out");
  if (!opted_out) return opted_out.error();
  p.opted_out = opted_out->value_or(false);
  return p;
}

core::Result<std::string> read_new_tenant(const json& body) {
  JsonReader r(body);
  if (auto st = r.only({"name"}); !st) return st.error();
  return r.str("name", true);
}

core::Result<NewKeyRequest> read_new_key(const json& body) {
  JsonReader r(body);
  if (auto st = r.only({"label", "scopes"}); !st) return st.error();
  NewKeyRequest k;
  auto label = r.str("label");
  if (!label) return label.error();
  if (label->size() > 100) return core::Error::invalid("label", "at most 100 characters");
  k.label = *label;
  if (r.has("scopes")) {
    auto words = r.strings("scopes");
    if (!words) return words.error();
    auto parsed = core::scopes_from_list(*words);
    if (!parsed || *parsed == 0) return core::Error::invalid("scopes", "one or more of send, read, manage");
    k.scopes = *parsed;
  }
  return k;
}

core::Result<WebhookRequest> read_webhook(const json& body, bool create,
                                          const core::WebhookHostRules& hosts) {
  JsonReader r(body);
  if (create) {
    if (auto st = r.only({"url", "events", "description", "include_body"}); !st) return st.error();
  } else if (auto st = r.only({"url", "events", "description", "include_body", "enabled"}); !st) {
    return st.error();
  }
  WebhookRequest w;
  if (create || r.has("url")) {
    auto url = r.str("url", true);
    if (!url) return url.error();
    if (auto why = core::webhook_url_problem(*url, hosts); !why.empty())
      return core::Error::invalid("url", why);
    w.url = *url;
  }
  if (r.has("events")) {
    auto events = r.strings("events");
    if (!events) return events.error();
    std::set<std::string> set;
    for (std::size_t i = 0; i < events->size(); ++i) {
      if (!core::is_webhook_event_type((*events)[i]))
        return core::Error::invalid("events[" + std::to_string(i) + "]",
                                    "'" + (*events)[i] + "' is not an event type (e.g. message.delivered)");
      set.insert((*events)[i]);
    }
    w.events = std::move(set);
  }
  if (r.has("description")) {
    auto d = r.str("description");
    if (!d) return d.error();
    if (d->size() > 255) return core::Error::invalid("description", "at most 255 bytes");
    w.description = *d;
  }
  auto include = r.boolean("include_body");
  if (!include) return include.error();
  w.include_body = *include;
  if (!create) {
    auto enabled = r.boolean("enabled");
    if (!enabled) return enabled.error();
    w.enabled = *enabled;
  }
  return w;
}

std::optional<std::int64_t> read_whole_number(const std::string& text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  for (char c : text)
    if (c < '0' || c > '9') return std::nullopt;
  return std::stoll(text);
}

std::string page_limit_rule() { return "limit: 1 to " + std::to_string(kMaxPageLimit); }

core::Result<int> read_page_limit(const std::optional<std::string>& text, int fallback) {
  if (!text) return fallback;
  const auto n = read_whole_number(*text);
  if (!n || *n < 1 || *n > kMaxPageLimit) return core::Error::invalid("limit", page_limit_rule());
  return static_cast<int>(*n);
}

}  // namespace barid::gateway
