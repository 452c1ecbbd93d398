// The limits the gateway enforces on request fields are stated next to those
// fields in docs/openapi.json (compiled in: the document the gateway serves),
// with the values the code enforces: a limit changed on one side only fails
// here. Limits the configuration sets are stated with their default.

#include "config.hpp"
#include "openapi_document.hpp"
#include "request_readers.hpp"

#include <barid/core/intake_limits.hpp>
#include <barid/core/recipients.hpp>
#include <barid/core/tenant_policy.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace barid::gateway {
namespace {

using nlohmann::json;

const json& document() {
  static const json doc = json::parse(openapi_document());
  return doc;
}

const json& schema(const std::string& name) { return document().at("components").at("schemas").at(name); }

const json& property(const std::string& schema_name, const std::string& field) {
  return schema(schema_name).at("properties").at(field);
}

// 100000 -> "100,000", as the descriptions write a default.
std::string with_commas(std::size_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

bool says(const json& field, const std::string& text) {
  return field.value("description", std::string()).find(text) != std::string::npos;
}

TEST(OpenApiLimits, TheBulkSizeIsTheDefaultOfMaxBulkRecipients) {
  const std::size_t max = GatewayConfig{}.max_bulk_recipients;
  const auto& recipients = property("BulkRequest", "recipients");
  EXPECT_EQ(recipients.at("maxItems").get<std::size_t>(), max);
  EXPECT_TRUE(says(recipients, "`messaging.max_bulk_recipients` (" + with_commas(max) + " by default)"))
      << recipients.dump();
}

TEST(OpenApiLimits, BodyScheduleAttemptsAndRepliesOfASendAndABulk) {
  const core::IntakeLimits limits;
  const auto ahead_days = std::chrono::duration_cast<std::chrono::hours>(limits.max_schedule_ahead).count() / 24;
  for (const std::string s : {"SendRequest", "BulkRequest"}) {
    SCOPED_TRACE(s);
    const auto& body = property(s, "body");
    EXPECT_TRUE(says(body, "`messaging.max_sms_characters` characters for SMS (" +
                               std::to_string(limits.max_sms_characters) + " by default)"))
        << body.dump();
    EXPECT_TRUE(says(body, "`messaging.max_whatsapp_characters` for WhatsApp (" +
                               std::to_string(limits.max_whatsapp_characters) + " by default)"))
        << body.dump();
    EXPECT_TRUE(says(property(s, "scheduled_at"), "(" + std::to_string(ahead_days) + " days) ahead"));
    EXPECT_EQ(property(s, "max_attempts").at("minimum"), 1);
    EXPECT_EQ(property(s, "max_attempts").at("maximum"), limits.max_attempts_cap);
    EXPECT_EQ(property(s, "replies").at("maxProperties").get<std::size_t>(), core::kMaxReplies);
    EXPECT_EQ(property(s, "category").at("pattern"),
              "^[a-z0-9_-]{1," + std::to_string(core::kMaxCategoryLength) + "}$");
  }
  EXPECT_EQ(property("Translation", "replies").at("maxProperties").get<std::size_t>(), core::kMaxReplies);
}

TEST(OpenApiLimits, ReferencesTemplatesAndProviderTemplates) {
  const auto& recipient = schema("BulkRecipient").at("oneOf").at(1).at("properties");
  for (const std::string f : {"reference", "recipient_id"}) {
    EXPECT_EQ(property("SendRequest", f).at("maxLength").get<std::size_t>(), core::kMaxReferenceBytes) << f;
    EXPECT_EQ(recipient.at(f).at("maxLength").get<std::size_t>(), core::kMaxReferenceBytes) << f;
  }
  const auto& variables = property("TemplateRef", "variables");
  EXPECT_EQ(variables.at("maxProperties").get<std::size_t>(), core::kMaxTemplateVariables);
  EXPECT_EQ(variables.at("additionalProperties").at("maxLength").get<std::size_t>(), core::kMaxTemplateValueBytes);
  EXPECT_EQ(property("ProviderTemplate", "id").at("maxLength").get<std::size_t>(), core::kMaxProviderTemplateBytes);
  const auto& provider_variables = property("ProviderTemplate", "variables");
  EXPECT_EQ(provider_variables.at("maxItems").get<std::size_t>(), core::kMaxProviderVariables);
  EXPECT_EQ(provider_variables.at("items").at("maxLength").get<std::size_t>(), core::kMaxProviderVariableBytes);
}

TEST(OpenApiLimits, EveryListsLimitAndTheStatisticsWindow) {
  int limits = 0;
  for (const auto& [path, item] : document().at("paths").items())
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters" || !op.contains("parameters")) continue;
      for (const auto& p : op.at("parameters")) {
        if (!p.contains("name") || p.at("in") != "query") continue;
        const auto& name = p.at("name");
        if (name == "limit") {
          ++limits;
          EXPECT_EQ(p.at("schema").at("minimum"), 1) << method << " " << path;
          EXPECT_EQ(p.at("schema").at("maximum"), kMaxPageLimit) << method << " " << path;
        } else if (name == "days" && path == "/v1/stats") {
          EXPECT_EQ(p.at("schema").at("minimum"), 1);
          EXPECT_EQ(p.at("schema").at("maximum"), kMaxStatsDays);
        }
      }
    }
  EXPECT_GE(limits, 6);  // messages, inbound, audit, deliveries, admin inbound, admin audit
}

TEST(OpenApiLimits, ATenantsShareAndOwnRoute) {
  EXPECT_EQ(property("TenantPolicy", "share").at("maximum"), core::kMaxShare);
  EXPECT_EQ(property("Tenant", "share").at("maximum"), core::kMaxShare);
  const auto& route = property("TenantPolicy", "routing").at("additionalProperties").at("properties");
  EXPECT_EQ(route.at("fallback").at("maxItems").get<std::size_t>(), core::kMaxFallbacks);
  EXPECT_EQ(route.at("primary_attempts").at("maximum"), core::kMaxPrimaryAttempts);
}

}  // namespace
}  // namespace barid::gateway
