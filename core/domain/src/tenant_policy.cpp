#include <barid/core/tenant_policy.hpp>

#include <barid/core/money.hpp>
#include <barid/core/phone.hpp>

#include <regex>

namespace barid::core {

using nlohmann::json;

json to_json(const TenantPolicy& p) {
  json senders = json::object(), defaults = json::object();
  for (const auto& [ch, list] : p.allowed_senders) senders[std::string(sdk::to_string(ch))] = list;
  for (const auto& [ch, s] : p.default_senders) defaults[std::string(sdk::to_string(ch))] = s;
  auto limit = [](const auto& v) { return v ? json(*v) : json(nullptr); };
  json routing = json::object();
  for (const auto& [ch, r] : p.routing)
    routing[std::string(sdk::to_string(ch))] =
        json{{"provider", r.provider}, {"fallback", r.fallback}, {"primary_attempts", r.primary_attempts}};
  return json{{"allowed_senders", senders},
              {"default_senders", defaults},
              {"allowed_provider_templates", p.allowed_provider_templates},
              {"allowed_countries", p.allowed_countries},
              {"quotas",
               {{"messages_per_day", limit(p.quotas.messages_per_day)},
                {"messages_per_month", limit(p.quotas.messages_per_month)},
                {"sends_per_second", limit(p.quotas.sends_per_second)}}},
              {"spend_cap", p.spend_cap ? json{{"amount", money_text(p.spend_cap->micros)},
                                               {"currency", p.spend_cap->currency}}
                                        : json(nullptr)},
              {"routing", routing},
              {"max_priority", p.max_priority ? json(std::string(to_string(*p.max_priority))) : json(nullptr)},
              {"share", p.share}};
}

namespace {

Result<std::set<std::string>> string_set(const json& j, const std::string& field, std::size_t max_len) {
  if (!j.is_array()) return Error::invalid(field, "a list of strings");
  std::set<std::string> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string f = field + "[" + std::to_string(i) + "]";
    if (!j[i].is_string()) return Error::invalid(f, "a string");
    const auto& s = j[i].get_ref<const std::string&>();
    if (s.empty() || s.size() > max_len || !is_valid_utf8(s))
      return Error::invalid(f, "1 to " + std::to_string(max_len) + " characters");
    out.insert(s);
  }
  if (out.size() > 1000) return Error::invalid(field, "at most 1000 entries");
  return out;
}

Result<sdk::Channel> channel_key(const std::string& key, const std::string& field) {
  auto ch = sdk::channel_from_string(key);
  if (!ch || *ch == sdk::Channel::email) return Error::invalid(field + "." + key, "'" + key + "' is not sms or whatsapp");
  return *ch;
}

Result<std::optional<std::int64_t>> limit_value(const json& j, const std::string& field, std::int64_t max) {
  if (j.is_null()) return std::optional<std::int64_t>();
  if (!j.is_number_integer() || j.get<std::int64_t>() < 0 || j.get<std::int64_t>() > max)
    return Error::invalid(field, "a whole number from 0 to " + std::to_string(max) + ", or null for no limit");
  return std::optional<std::int64_t>(j.get<std::int64_t>());
}

Result<TenantQuotas> quotas_from_json(const json& j) {
  TenantQuotas q;
  if (!j.is_object()) return Error::invalid("quotas", "an object with messages_per_day, messages_per_month, sends_per_second");
  for (const auto& [key, value] : j.items()) {
    const std::string field = "quotas." + key;
    if (key == "messages_per_day" || key == "messages_per_month") {
      auto v = limit_value(value, field, 1'000'000'000'000);
      if (!v) return v.error();
      (key == "messages_per_day" ? q.messages_per_day : q.messages_per_month) = *v;
    } else if (key == "sends_per_second") {
      auto v = limit_value(value, field, 100'000);
      if (!v) return v.error();
      if (*v && **v == 0) return Error::invalid(field, "at least 1 (suspend the tenant to stop its sends)");
      if (*v) q.sends_per_second = static_cast<int>(**v);
    } else {
      return Error::invalid(field, "unknown quota; use messages_per_day, messages_per_month or sends_per_second");
    }
  }
  return q;
}

Result<std::optional<sdk::Money>> spend_cap_from_json(const json& j) {
  if (j.is_null()) return std::optional<sdk::Money>();
  if (!j.is_object()) return Error::invalid("spend_cap", "an object {\"amount\": \"250.00\", \"currency\": \"USD\"}, or null");
  for (const auto& [key, value] : j.items())
    if (key != "amount" && key != "currency") return Error::invalid("spend_cap." + key, "unknown field");
  auto amount = j.find("amount");
  if (amount == j.end()) return Error::invalid("spend_cap.amount", "is required");
  std::optional<std::int64_t> micros;
  if (amount->is_string()) micros = parse_money(amount->get<std::string>());
  else if (amount->is_number()) micros = parse_money(amount->dump());  // 250 or 250.5, as written
  if (!micros) return Error::invalid("spend_cap.amount", "an amount such as \"250.00\" (at most six decimals)");
  auto currency = j.find("currency");
  if (currency == j.end() || !currency->is_string() || !is_currency_code(currency->get<std::string>()))
    return Error::invalid("spend_cap.currency", "an ISO 4217 code such as USD or SAR");
  return std::optional<sdk::Money>(sdk::Money{*micros, currency->get<std::string>()});
}

Result<std::string> instance_name(const json& j, const std::string& field) {
  static const std::regex name_re("[A-Za-z0-9_-]{1,64}");
  if (!j.is_string() || !std::regex_match(j.get_ref<const std::string&>(), name_re))
    return Error::invalid(field, "a provider instance name of the gateway's configuration");
  return j.get<std::string>();
}

Result<TenantRoute> route_from_json(const json& j, const std::string& field) {
  if (!j.is_object()) return Error::invalid(field, "an object {\"provider\": ..., \"fallback\"?: [...], \"primary_attempts\"?: n}");
  TenantRoute r;
  for (const auto& [key, value] : j.items()) {
    const std::string f = field + "." + key;
    if (key == "provider") {
      auto name = instance_name(value, f);
      if (!name) return name.error();
      r.provider = *name;
    } else if (key == "fallback") {
      if (!value.is_array() || value.size() > kMaxFallbacks)
        return Error::invalid(f, "a list of at most " + std::to_string(kMaxFallbacks) + " instance names");
      for (std::size_t i = 0; i < value.size(); ++i) {
        auto name = instance_name(value[i], f + "[" + std::to_string(i) + "]");
        if (!name) return name.error();
        r.fallback.push_back(*name);
      }
    } else if (key == "primary_attempts") {
      if (!value.is_number_integer() || value.get<int>() < 0 || value.get<int>() > kMaxPrimaryAttempts)
        return Error::invalid(f, "a whole number from 0 to " + std::to_string(kMaxPrimaryAttempts));
      r.primary_attempts = value.get<int>();
    } else {
      return Error::invalid(f, "unknown field; use provider, fallback, primary_attempts");
    }
  }
  if (r.provider.empty()) return Error::invalid(field + ".provider", "is required");
  return r;
}

}  // namespace

Result<TenantPolicy> policy_from_json(const json& j) {
  TenantPolicy p;
  if (!j.is_object()) return Error::invalid("", "a JSON object");
  if (auto it = j.find("allowed_senders"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return Error::invalid("allowed_senders", "an object of channel -> list of senders");
    for (const auto& [key, list] : it->items()) {
      auto ch = channel_key(key, "allowed_senders");
      if (!ch) return ch.error();
      auto senders = string_set(list, "allowed_senders." + key, 64);
      if (!senders) return senders.error();
      if (!senders->empty()) p.allowed_senders[*ch] = std::move(*senders);
    }
  }
  if (auto it = j.find("default_senders"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return Error::invalid("default_senders", "an object of channel -> sender");
    for (const auto& [key, value] : it->items()) {
      auto ch = channel_key(key, "default_senders");
      if (!ch) return ch.error();
      const std::string field = "default_senders." + key;
      if (!value.is_string() || value.get_ref<const std::string&>().empty())
        return Error::invalid(field, "a sender");
      const auto& s = value.get_ref<const std::string&>();
      if (auto allowed = p.allowed_senders.find(*ch); allowed != p.allowed_senders.end() && !allowed->second.count(s))
        return Error::invalid(field, "'" + s + "' is not one of allowed_senders." + key);
      p.default_senders[*ch] = s;
    }
  }
  if (auto it = j.find("allowed_provider_templates"); it != j.end() && !it->is_null()) {
    auto list = string_set(*it, "allowed_provider_templates", 128);
    if (!list) return list.error();
    p.allowed_provider_templates = std::move(*list);
  }
  if (auto it = j.find("allowed_countries"); it != j.end() && !it->is_null()) {
    auto list = string_set(*it, "allowed_countries", 2);
    if (!list) return list.error();
    for (const auto& c : *list)
      if (!PhoneNormalizer::is_known_region(c))
        return Error::invalid("allowed_countries", "'" + c + "' is not an ISO 3166-1 alpha-2 region");
    p.allowed_countries = std::move(*list);
  }
  if (auto it = j.find("quotas"); it != j.end() && !it->is_null()) {
    auto q = quotas_from_json(*it);
    if (!q) return q.error();
    p.quotas = *q;
  }
  if (auto it = j.find("spend_cap"); it != j.end()) {
    auto cap = spend_cap_from_json(*it);
    if (!cap) return cap.error();
    p.spend_cap = *cap;
  }
  if (auto it = j.find("routing"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return Error::invalid("routing", "an object of channel -> route");
    for (const auto& [key, value] : it->items()) {
      auto ch = channel_key(key, "routing");
      if (!ch) return ch.error();
      auto r = route_from_json(value, "routing." + key);
      if (!r) return r.error();
      p.routing[*ch] = std::move(*r);
    }
  }
  if (auto it = j.find("max_priority"); it != j.end() && !it->is_null()) {
    const auto level = it->is_string() ? priority_from_string(it->get_ref<const std::string&>()) : std::nullopt;
    if (!level) return Error::invalid("max_priority", "one of high, normal, low, or null for any");
    p.max_priority = *level;
  }
  if (auto it = j.find("share"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > kMaxShare)
      return Error::invalid("share", "a whole number from 1 to " + std::to_string(kMaxShare));
    p.share = it->get<int>();
  }
  return p;
}

Status check_priority(const TenantPolicy& p, NewMessage& m) {
  if (!p.max_priority) return {};
  // Lower values are higher priorities (high = 0).
  if (!m.priority) {
    if (*p.max_priority > Priority::normal) m.priority = *p.max_priority;
    return {};
  }
  if (*m.priority < *p.max_priority)
    return Error::invalid("priority", "'" + std::string(to_string(*m.priority)) + "' is above this tenant's " +
                                          "max_priority '" + std::string(to_string(*p.max_priority)) + "'");
  return {};
}

Status apply_policy(const TenantPolicy& p, NewMessage& m) {
  if (m.from.empty()) {
    if (auto d = p.default_senders.find(m.channel); d != p.default_senders.end()) m.from = d->second;
  }
  if (auto allowed = p.allowed_senders.find(m.channel); allowed != p.allowed_senders.end()) {
    if (m.from.empty())
      return Error::invalid("from", "this tenant must name its sender for " + std::string(sdk::to_string(m.channel)) +
                                        " (no default sender is set)");
    if (!allowed->second.count(m.from))
      return Error::invalid("from", "'" + m.from + "' is not a sender this tenant may use for " +
                                        std::string(sdk::to_string(m.channel)));
  }
  if (!m.provider_template.empty() && !p.allowed_provider_templates.empty() &&
      !p.allowed_provider_templates.count(m.provider_template))
    return Error::invalid("provider_template", "'" + m.provider_template + "' is not a provider template this tenant may use");
  if (!p.allowed_countries.empty()) {
    const std::string region = PhoneNormalizer::region_of(m.to);
    if (!p.allowed_countries.count(region))
      return Error::invalid("to", "this tenant may not send to " + (region.empty() ? "this number's country" : region));
  }
  return {};
}

}  // namespace barid::core
