#include <barid/core/tenant_policy.hpp>

#include <barid/core/phone.hpp>

namespace barid::core {

using nlohmann::json;

json to_json(const TenantPolicy& p) {
  json senders = json::object(), defaults = json::object();
  for (const auto& [ch, list] : p.allowed_senders) senders[std::string(sdk::to_string(ch))] = list;
  for (const auto& [ch, s] : p.default_senders) defaults[std::string(sdk::to_string(ch))] = s;
  return json{{"allowed_senders", senders},
              {"default_senders", defaults},
              {"allowed_provider_templates", p.allowed_provider_templates},
              {"allowed_countries", p.allowed_countries}};
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
  return p;
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
