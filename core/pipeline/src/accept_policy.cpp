#include <barid/core/accept_policy.hpp>

#include <barid/core/tenant_policy.hpp>

#include <algorithm>
#include <set>

namespace barid::core {

bool AcceptPolicy::take_send(TenantId tenant, int per_second) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(buckets_mutex_);
  auto [it, fresh] = buckets_.try_emplace(tenant);
  Bucket& b = it->second;
  if (fresh) {
    b.tokens = per_second;
  } else {
    b.tokens = std::min<double>(per_second, b.tokens + std::chrono::duration<double>(now - b.at).count() * per_second);
  }
  b.at = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

Result<std::vector<std::optional<Error>>> AcceptPolicy::apply(std::vector<NewMessage>& batch, bool single_sends) {
  std::vector<std::optional<Error>> out(batch.size());

  // What is known about the batch's recipients, per tenant.
  std::map<TenantId, std::vector<std::string>> keys, phones;
  for (const auto& m : batch) {
    if (!m.recipient_id.empty()) keys[m.tenant_id].push_back(recipient_key_for_id(m.recipient_id));
    keys[m.tenant_id].push_back(recipient_key_for_phone(m.to));
    phones[m.tenant_id].push_back(m.to);
  }
  std::map<TenantId, RecipientRecords> known;
  std::map<TenantId, TenantPolicy> policies;
  std::map<TenantId, bool> discards;
  for (auto& [tenant, list] : keys) {
    auto t = catalog_.tenant(tenant);
    if (!t) return t.error();
    policies[tenant] = t->policy;
    discards[tenant] = t->discard_content;
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    auto& tenant_phones = phones[tenant];
    std::sort(tenant_phones.begin(), tenant_phones.end());
    tenant_phones.erase(std::unique(tenant_phones.begin(), tenant_phones.end()), tenant_phones.end());
    auto r = recipients_.find_recipients(tenant, list, tenant_phones);
    if (!r) return r.error();
    known[tenant] = std::move(*r);
  }

  for (std::size_t i = 0; i < batch.size(); ++i) {
    NewMessage& m = batch[i];
    if (!m.discard_content) m.discard_content = discards[m.tenant_id];
    std::vector<const RecipientPreferences*> mine;
    const RecipientRecords& records = known[m.tenant_id];
    const auto& tenant_prefs = records.preferences;
    if (!m.recipient_id.empty()) {
      auto it = tenant_prefs.find(recipient_key_for_id(m.recipient_id));
      if (it != tenant_prefs.end()) mine.push_back(&it->second);
    }
    if (auto it = tenant_prefs.find(recipient_key_for_phone(m.to)); it != tenant_prefs.end())
      mine.push_back(&it->second);

    if (m.template_request) {
      const TemplateRequest& req = *m.template_request;
      auto t = catalog_.find(m.tenant_id, req.code);
      if (!t) return t.error();
      if (!*t) {
        out[i] = Error::invalid("template.code", "no template '" + req.code + "'");
        continue;
      }
      const Template& tpl = **t;
      if (!tpl.channels.count(m.channel)) {
        out[i] = Error::invalid("channel", "template '" + req.code + "' is not for " +
                                               std::string(sdk::to_string(m.channel)));
        continue;
      }
      auto tenant = catalog_.tenant(m.tenant_id);
      if (!tenant) return tenant.error();
      std::vector<std::string> languages{req.language};
      for (const auto* p : mine) languages.push_back(p->language);
      languages.push_back(tenant->default_language);
      languages.push_back("en");
      auto rendered = render_template(tpl, languages, req.variables);
      if (!rendered) {
        out[i] = rendered.error();
        continue;
      }
      m.template_code = tpl.code;
      m.language = rendered->language;
      if (m.category.empty()) m.category = tpl.category;
      if (!m.priority) m.priority = tpl.priority;
      if (!m.expires_at && tpl.validity) m.expires_at = m.scheduled_at.value_or(now_us()) + *tpl.validity;
      m.body = std::move(rendered->body);
      if (m.replies.empty()) m.replies = std::move(rendered->replies);
      // A provider template (WhatsApp) goes out with its ordered variables;
      // the rendered body is what the gateway shows and counts.
      if (m.channel == sdk::Channel::whatsapp && !rendered->provider_template.empty()) {
        m.provider_template = rendered->provider_template;
        m.template_variables = std::move(rendered->provider_variables);
      }
      m.segments = count_segments(m.body);
      const std::size_t max_chars = m.channel == sdk::Channel::whatsapp ? limits_.max_whatsapp_characters
                                                                        : limits_.max_sms_characters;
      if (static_cast<std::size_t>(m.segments.characters) > max_chars) {
        out[i] = Error::invalid("template.variables", "the rendered message has " +
                                                          std::to_string(m.segments.characters) +
                                                          " characters; at most " + std::to_string(max_chars));
        continue;
      }
      m.template_request.reset();
    }

    // The operator's rules for this tenant: senders, provider templates
    // (its stored templates' too), destination countries.
    const TenantPolicy& policy = policies[m.tenant_id];
    if (auto st = apply_policy(policy, m); !st) {
      out[i] = st.error();
      continue;
    }
    // On the shared instance, a sender no rule gave the tenant could be
    // another clinic's number (whose replies it would then receive): only
    // the instance's own, unless the operator allows more (allowed_senders,
    // or a default sender set for the tenant).
    const auto given = policy.default_senders.find(m.channel);
    if (!m.from.empty() && shared_sender_ && !policy.routing.count(m.channel) &&
        !policy.allowed_senders.count(m.channel) &&
        !(given != policy.default_senders.end() && given->second == m.from) && m.from != shared_sender_(m.channel)) {
      out[i] = Error::invalid("from", "'" + m.from + "' is not a sender this tenant may use for " +
                                          std::string(sdk::to_string(m.channel)) +
                                          ": on the shared instance only its own sender, unless the operator allows "
                                          "others (allowed_senders)");
      continue;
    }
    if (auto st = check_priority(policy, m); !st) {
      out[i] = st.error();
      continue;
    }

    if (auto reason = suppression_reason(m, mine, records.opt_outs, policy.routing.count(m.channel) > 0)) {
      m.status = MessageStatus::suppressed;
      m.status_reason = *reason;
    }

    // The tenant's limits: sends a second here; the daily and monthly quotas
    // and the spend cap in the store, against the usage of every node.
    if (single_sends && policy.quotas.sends_per_second && !take_send(m.tenant_id, *policy.quotas.sends_per_second)) {
      out[i] = Error::quota("more than " + std::to_string(*policy.quotas.sends_per_second) +
                                " sends a second (this tenant's sends_per_second)",
                            1);
      continue;
    }
    m.charge = UsageCharge{};
    const auto own = policy.routing.find(m.channel);
    const std::string instance = own == policy.routing.end() ? std::string() : own->second.provider;
    if (auto price = pricing_ ? pricing_(m.channel, instance) : std::nullopt) {
      m.charge.cost_micros = price->micros * m.segments.segments;
      m.charge.currency = price->currency;
    }
    m.charge.day_limit = policy.quotas.messages_per_day;
    m.charge.month_limit = policy.quotas.messages_per_month;
    m.charge.spend_cap = policy.spend_cap;
  }
  return out;
}

}  // namespace barid::core
