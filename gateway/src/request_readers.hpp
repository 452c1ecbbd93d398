#pragma once
// The JSON bodies of the API's requests, read into the core's request types:
// every error names the offending field. Nothing here touches HTTP, the
// database or the clock, so that tests/fuzz/fuzz_requests can feed it any
// bytes.

#include <barid/core/bulk.hpp>
#include <barid/core/intake.hpp>
#include <barid/core/phone.hpp>
#include <barid/core/recipients.hpp>
#include <barid/core/result.hpp>
#include <barid/core/store.hpp>
#include <barid/core/templates.hpp>
#include <barid/core/webhooks.hpp>

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace barid::gateway {

class JsonReader {
 public:
  JsonReader(const nlohmann::json& object, std::string prefix = {}) : j_(object), prefix_(std::move(prefix)) {}

  std::string field(const std::string& name) const { return prefix_ + name; }
  // Every member must be one of `known`.
  core::Status only(std::initializer_list<const char*> known) const;
  bool has(const char* name) const;

  core::Result<std::string> str(const char* name, bool required = false) const;
  core::Result<std::optional<long long>> integer(const char* name) const;
  core::Result<std::optional<bool>> boolean(const char* name) const;
  core::Result<std::vector<std::string>> strings(const char* name) const;
  // An object of strings (numbers are taken as their text).
  core::Result<std::map<std::string, std::string>> string_map(const char* name) const;
  // A member that must be an object when present (nullptr when absent).
  core::Result<const nlohmann::json*> object(const char* name) const;

 private:
  const nlohmann::json& j_;
  std::string prefix_;
};

// A query parameter that is a whole number: digits only, at most 18 of them
// (nullopt otherwise, a sign included).
std::optional<std::int64_t> read_whole_number(const std::string& text);
// The most items a page of a list holds (its `limit`), and the most days
// GET /v1/stats?days= looks back; docs/openapi.json states both
// (tests/unit/gateway/openapi_limits_test.cpp).
inline constexpr int kMaxPageLimit = 1000;
inline constexpr int kMaxStatsDays = 3650;
// The `limit` of a list (`text` as the query gave it, if it did): 1 to
// kMaxPageLimit, `fallback` when absent, else an invalid `limit`.
core::Result<int> read_page_limit(const std::optional<std::string>& text, int fallback);
// What a wrong `limit` is told: "limit: 1 to 1000".
std::string page_limit_rule();

// POST /v1/messages
core::Result<core::SendRequest> read_send_request(const nlohmann::json& body);
// POST /v1/messages/bulk
core::Result<core::BulkRequest> read_bulk_request(const nlohmann::json& body);
// PUT /v1/templates/{code}: the template, checked (its tenant is the caller's to set).
core::Result<core::Template> read_template(const nlohmann::json& body, const std::string& code);
// PUT /v1/settings: the default language, the retention (nullopt: the gateway's, and never over the
// operator's maximum), content_retention and redact_after_days.
core::Result<core::TenantSettings> read_settings(const nlohmann::json& body, int max_retention_days);
// PUT /v1/recipients/{key}/preferences: the preferences, the phone (if any)
// normalised; the route checks them against the key in the path.
core::Result<core::RecipientPreferences> read_preferences(const nlohmann::json& body,
                                                          const core::PhoneNormalizer& phones);
// POST /v1/admin/tenants: the new tenant's name.
core::Result<std::string> read_new_tenant(const nlohmann::json& body);
// POST /v1/admin/tenants/{tenant}/keys: a label and the key's scopes (all
// three when none are given).
struct NewKeyRequest {
  std::string label;
  core::Scopes scopes = core::kAllScopes;
};
core::Result<NewKeyRequest> read_new_key(const nlohmann::json& body);
// POST /v1/webhooks and PATCH /v1/webhooks/{id}: what the request sets (a
// member left out: unchanged, or the default). `url` is checked against
// `hosts` (core::webhook_url_problem); `url` is required on create.
struct WebhookRequest {
  std::optional<std::string> url;
  std::optional<std::set<std::string>> events;  // empty set: every type
  std::optional<std::string> description;
  std::optional<bool> include_body;
  std::optional<bool> enabled;  // PATCH only
};
core::Result<WebhookRequest> read_webhook(const nlohmann::json& body, bool create,
                                          const core::WebhookHostRules& hosts);

}  // namespace barid::gateway
