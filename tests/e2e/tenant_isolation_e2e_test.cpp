// End to end, the tenant boundary on every route: tenant A creates one of
// everything (messages delivered, failed and scheduled, a batch, a template,
// preferences, a webhook endpoint, inbound messages, settings), then tenant B
// calls every route of the route table the gateway is built from
// (HttpApi::route_table()) on A's objects. Each route that names one answers
// 404, each list shows none of A's rows, and a digest of every row of A's in
// the database is the same before and after. A tenant route without a case
// here fails the test, so a new route cannot be left out; every operator
// route refuses B's key.

#include "gateway_harness.hpp"
#include "http_api.hpp"

#include <barid/core/time.hpp>

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace barid::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const char* kSections = R"yaml(
providers:
  mock-sms:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, delivered_after_ms: "50", fail_numbers: "+966501119900"}
    price: {per_segment: "0.05", currency: USD}
routing:
  sms: {provider: mock-sms}
retry: {max_attempts: 1, initial_backoff: 50ms, max_backoff: 200ms, jitter: 0}
dispatch: {poll_interval: 50ms, lease: 30s}
messaging: {default_region: SA}
)yaml";

// Every row of `tenant` in every table that has a tenant_id column (and its
// row of tenants, and its templates' translations), as one digest a table.
// Tables are found in the schema, so a new tenant table is covered too.
std::map<std::string, std::string> tenant_rows(const TestDatabase& db, const std::string& tenant) {
  std::map<std::string, std::string> digests;
  const std::string tables = db.scalar(
      "SELECT GROUP_CONCAT(DISTINCT table_name ORDER BY table_name) FROM information_schema.columns "
      "WHERE table_schema = DATABASE() AND column_name = 'tenant_id'");
  std::vector<std::pair<std::string, std::string>> selections;  // table, WHERE
  std::stringstream list(tables);
  for (std::string t; std::getline(list, t, ',');) selections.emplace_back(t, "tenant_id = " + tenant);
  selections.emplace_back("tenants", "id = " + tenant);
  selections.emplace_back("template_translations",
                          "template_id IN (SELECT id FROM templates WHERE tenant_id = " + tenant + ")");
  for (const auto& [table, where] : selections) {
    const std::string columns = db.scalar(
        "SELECT GROUP_CONCAT(CONCAT('IFNULL(HEX(`', column_name, '`), ''~'')') ORDER BY ordinal_position "
        "SEPARATOR ', ') FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '" +
        table + "'");
    digests[table] = db.scalar("SELECT CONCAT(COUNT(*), ':', IFNULL(MD5(GROUP_CONCAT(CONCAT_WS('|', " + columns +
                               ") ORDER BY 1 SEPARATOR '\\n')), '-')) FROM `" + table + "` WHERE " + where);
  }
  return digests;
}

class TenantIsolationE2E : public ::testing::Test {
 protected:
  TestDatabase db_;
  std::unique_ptr<GatewayUnderTest> gw_;
  std::string key_a_, key_b_;

  json call(const std::string& key, const std::string& method, const std::string& path, const json& body,
            long expect) {
    return gw_->call(key, method, path, body, expect);
  }
  // The "id" of an answer that must have one.
  static std::string id_of(const json& r) {
    if (r.is_object() && r.contains("id") && r["id"].is_string()) return r["id"];
    ADD_FAILURE() << "no id in " << r.dump();
    return "none";
  }
};

TEST_F(TenantIsolationE2E, EveryRouteKeepsOneTenantAwayFromAnothersObjects) {
  gw_ = std::make_unique<GatewayUnderTest>(db_, std::string(kSections) + kJobsOff);
  gw_->start();
  key_a_ = gw_->create_api_key("clinic-a");
  key_b_ = gw_->create_api_key("clinic-b");
  const std::string tenant_a = db_.scalar("SELECT id FROM tenants WHERE name = 'clinic-a'");
  const std::string tenant_b = db_.scalar("SELECT id FROM tenants WHERE name = 'clinic-b'");
  const std::string patient = "+966501112201", failing = "+966501119900", by_phone = "+966501112203";

  // ---- Tenant A's objects.
  call(key_a_, "PUT", "/v1/templates/appt_a",
       {{"channels", {"sms"}}, {"translations", {{"en", {{"body", "Dear {{name}}, see you at {{time}}."}}}}}}, 201);
  const std::string done = id_of(call(key_a_, "POST", "/v1/messages", {{"to", patient}, {"body", "Your results are ready"}},
                                202));
  const std::string failed = id_of(call(key_a_, "POST", "/v1/messages", {{"to", failing}, {"body", "Reminder"}}, 202));
  const std::string later =
      id_of(call(key_a_, "POST", "/v1/messages",
           {{"to", patient}, {"body", "Tomorrow"}, {"scheduled_at", core::format_iso8601(core::now_us() + 1h)}},
           202));
  const std::string batch =
      id_of(call(key_a_, "POST", "/v1/messages/bulk",
           {{"template", {{"code", "appt_a"}, {"variables", {{"name", "Sara"}, {"time", "10:00"}}}}},
            {"recipients", {"+966501112204", "+966501112205"}}},
           202));
  call(key_a_, "PUT", "/v1/recipients/patient-a7/preferences",
       {{"phone", "+966501112202"}, {"language", "ar"}, {"opted_out", false}}, 200);
  call(key_a_, "PUT", "/v1/recipients/" + by_phone + "/preferences", {{"opted_out", true}}, 200);
  call(key_a_, "PUT", "/v1/settings",
       {{"default_language", "ar"}, {"retention_days", 30}, {"content_retention", "retain"}, {"redact_after_days", 7}},
       200);
  const std::string hook = id_of(call(key_a_, "POST", "/v1/webhooks",
                                {{"url", "https://clinic-a.example/barid/events"}, {"events", {"message.replied"}}},
                                201));
  call(key_a_, "PATCH", "/v1/webhooks/" + hook, {{"enabled", false}}, 200);
  gw_->wait_for_status(key_a_, done, "delivered");
  gw_->wait_for_status(key_a_, failed, "failed");
  ASSERT_TRUE(eventually([&] { return gw_->json("GET", "/v1/batches/" + batch, nullptr, key_a_)["done"] == true; },
                         20s));
  ASSERT_EQ(gw_->request("POST", "/webhooks/mock-sms/inbound",
                         json{{"from", patient}, {"to", "+15550001"}, {"body", "Thank you"}, {"id", "in-a-1"}}.dump())
                .status,
            200);
  ASSERT_EQ(gw_->json("GET", "/v1/inbound", nullptr, key_a_)["inbound"].size(), 1u);
  EXPECT_EQ(gw_->json("GET", "/v1/messages/" + later, nullptr, key_a_)["status"], "scheduled");
  const std::set<std::string> a_messages = [&] {
    std::set<std::string> ids;
    const json listed = gw_->json("GET", "/v1/messages?limit=100", nullptr, key_a_);
    for (const auto& m : listed["messages"]) ids.insert(m["id"]);
    return ids;
  }();
  ASSERT_EQ(a_messages.size(), 5u);
  const auto before = tenant_rows(db_, tenant_a);
  ASSERT_GE(before.size(), 10u);

  // ---- Tenant B on every tenant route, in an order that lets each see
  // A's objects before B makes its own of the same name.
  auto not_found = [&](const std::string& method, const std::string& path, const json& body = nullptr) {
    return [=, this] {
      long status = 0;
      auto r = gw_->json(method, path, body, key_b_, &status);
      EXPECT_EQ(status, 404) << "tenant B: " << method << " " << path << " -> " << r.dump();
      EXPECT_EQ(r.is_object() ? r.value("type", "") : "", "urn:barid:problem:not-found") << method << " " << path;
    };
  };
  auto shows_none_of_a = [&](const std::string& path, const std::string& member) {
    return [=, this] {
      auto r = call(key_b_, "GET", path, nullptr, 200);
      ASSERT_TRUE(r[member].is_array()) << path << " -> " << r.dump();
      EXPECT_TRUE(r[member].empty()) << "tenant B's " << path << " shows " << r[member].dump();
    };
  };
  const json b_template = {{"channels", {"sms"}}, {"translations", {{"en", {{"body", "Clinic B: {{time}}"}}}}}};
  struct Case {
    std::string route;  // "METHOD /path" as in the route table
    std::function<void()> run;
  };
  const std::vector<Case> cases = {
      {"GET /v1/messages/:id", not_found("GET", "/v1/messages/" + done)},
      {"GET /v1/messages/:id/events", not_found("GET", "/v1/messages/" + done + "/events")},
      {"POST /v1/messages/:id/refresh", not_found("POST", "/v1/messages/" + done + "/refresh")},
      {"POST /v1/messages/:id/retry", not_found("POST", "/v1/messages/" + failed + "/retry")},
      {"POST /v1/messages/:id/cancel", not_found("POST", "/v1/messages/" + later + "/cancel")},
      {"GET /v1/messages",
       [&] {
         shows_none_of_a("/v1/messages?limit=1000", "messages")();
         shows_none_of_a("/v1/messages?to=%2B966501112201", "messages")();
       }},
      {"GET /v1/batches/:id", not_found("GET", "/v1/batches/" + batch)},
      {"POST /v1/messages",
       [&] {  // A's template by its code is not B's
         long status = 0;
         auto r = gw_->json("POST", "/v1/messages",
                            {{"to", patient}, {"template", {{"code", "appt_a"}, {"variables", {{"time", "9"}}}}}},
                            key_b_, &status);
         EXPECT_EQ(status, 422) << r.dump();
         EXPECT_EQ(r.is_object() ? r.value("field", "") : "", "template.code") << r.dump();
       }},
      {"POST /v1/messages/bulk",
       [&] {
         long status = 0;
         auto r = gw_->json("POST", "/v1/messages/bulk",
                            {{"template", {{"code", "appt_a"}, {"variables", {{"time", "9"}}}}},
                             {"recipients", {patient}}},
                            key_b_, &status);
         EXPECT_EQ(status, 422) << r.dump();
       }},
      {"GET /v1/templates", shows_none_of_a("/v1/templates", "templates")},
      {"GET /v1/templates/:code", not_found("GET", "/v1/templates/appt_a")},
      {"DELETE /v1/templates/:code", not_found("DELETE", "/v1/templates/appt_a")},
      {"PUT /v1/templates/:code",
       [&] {  // B's own template of the same code; A's stays as it was
         call(key_b_, "PUT", "/v1/templates/appt_a", b_template, 201);
         auto mine = call(key_b_, "GET", "/v1/templates/appt_a", nullptr, 200);
         EXPECT_EQ(mine["translations"]["en"]["body"], "Clinic B: {{time}}");
       }},
      {"GET /v1/recipients/:key/preferences",
       [&] {
         not_found("GET", "/v1/recipients/patient-a7/preferences")();
         not_found("GET", "/v1/recipients/" + by_phone + "/preferences")();
         not_found("GET", "/v1/recipients/%2B966501112203/preferences")();
       }},
      {"PUT /v1/recipients/:key/preferences",
       [&] {  // B's own preferences for the same recipient id
         auto mine = call(key_b_, "PUT", "/v1/recipients/patient-a7/preferences", {{"language", "en"}}, 200);
         EXPECT_EQ(mine["language"], "en");
         EXPECT_TRUE(mine["phone"].is_null()) << "A's phone for the id shows through: " << mine.dump();
       }},
      {"GET /v1/inbound",
       [&] {
         shows_none_of_a("/v1/inbound?include=body", "inbound")();
         shows_none_of_a("/v1/inbound?phone=%2B966501112201", "inbound")();
       }},
      {"GET /v1/webhooks", shows_none_of_a("/v1/webhooks", "webhooks")},
      {"GET /v1/webhooks/:id", not_found("GET", "/v1/webhooks/" + hook)},
      {"PATCH /v1/webhooks/:id", not_found("PATCH", "/v1/webhooks/" + hook, {{"enabled", true}})},
      {"POST /v1/webhooks/:id/rotate-secret", not_found("POST", "/v1/webhooks/" + hook + "/rotate-secret")},
      {"GET /v1/webhooks/:id/deliveries", not_found("GET", "/v1/webhooks/" + hook + "/deliveries")},
      {"POST /v1/webhooks/:id/replay",
       not_found("POST", "/v1/webhooks/" + hook + "/replay", {{"since", "2026-01-01T00:00:00Z"}})},
      {"DELETE /v1/webhooks/:id", not_found("DELETE", "/v1/webhooks/" + hook)},
      {"POST /v1/webhooks",
       [&] {  // B's own endpoint: B's list shows it alone
         const std::string mine =
             id_of(call(key_b_, "POST", "/v1/webhooks", {{"url", "https://clinic-b.example/events"}}, 201));
         auto listed = call(key_b_, "GET", "/v1/webhooks", nullptr, 200)["webhooks"];
         ASSERT_EQ(listed.size(), 1u) << listed.dump();
         EXPECT_EQ(listed[0]["id"], mine);
       }},
      {"GET /v1/stats",
       [&] {
         auto s = call(key_b_, "GET", "/v1/stats?days=7", nullptr, 200);
         EXPECT_EQ(s["total"], 0) << s.dump();
       }},
      {"GET /v1/usage",
       [&] {
         auto u = call(key_b_, "GET", "/v1/usage", nullptr, 200);
         EXPECT_EQ(u["tenant"], "clinic-b");
         EXPECT_EQ(u["day"]["messages"], 0) << u.dump();
         EXPECT_EQ(u["month"]["messages"], 0) << u.dump();
       }},
      {"GET /v1/providers", [&] { call(key_b_, "GET", "/v1/providers", nullptr, 200); }},
      {"GET /v1/settings",
       [&] {
         auto s = call(key_b_, "GET", "/v1/settings", nullptr, 200);
         EXPECT_EQ(s["tenant"], "clinic-b");
         EXPECT_EQ(s["default_language"], "en") << s.dump();
         EXPECT_TRUE(s["redact_after_days"].is_null()) << s.dump();
       }},
      {"PUT /v1/settings",
       [&] {
         auto s = call(key_b_, "PUT", "/v1/settings", {{"default_language", "en"}, {"retention_days", 60}}, 200);
         EXPECT_EQ(s["tenant"], "clinic-b");
       }},
      {"GET /v1/audit",
       [&] {  // B's own entries only (B's own preferences for patient-a7 among them): as many as the
              // database holds for B, none naming an object of A's
         auto entries = call(key_b_, "GET", "/v1/audit?limit=1000", nullptr, 200)["entries"];
         EXPECT_EQ(std::to_string(entries.size()),
                   db_.scalar("SELECT COUNT(*) FROM audit_log WHERE tenant_id = " + tenant_b));
         const std::string text = entries.dump();
         for (const auto& id : a_messages) EXPECT_EQ(text.find(id), std::string::npos) << id;
         EXPECT_EQ(text.find(hook), std::string::npos);
         EXPECT_EQ(text.find(batch), std::string::npos);
       }},
  };

  // Every tenant route of the table has its case; every case is a route.
  std::set<std::string> routes, covered;
  for (const auto& r : gateway::HttpApi::route_table())
    if (r.access == gateway::RouteAccess::tenant) routes.insert(r.method + " " + r.path);
  for (const auto& c : cases) {
    EXPECT_TRUE(covered.insert(c.route).second) << c.route << " has two cases";
    EXPECT_TRUE(routes.count(c.route)) << c.route << " is not a tenant route of the route table";
  }
  for (const auto& r : routes) EXPECT_TRUE(covered.count(r)) << r << ": a tenant route with no cross-tenant case here";
  ASSERT_GE(routes.size(), 30u);

  for (const auto& c : cases) {
    SCOPED_TRACE(c.route);
    c.run();
  }

  // Every operator route refuses a tenant's key.
  for (const auto& r : gateway::HttpApi::route_table()) {
    if (r.access != gateway::RouteAccess::operator_key) continue;
    std::string path = r.path;
    for (std::size_t at; (at = path.find(':')) != std::string::npos;) {
      const auto end = path.find('/', at);
      path.replace(at, end == std::string::npos ? std::string::npos : end - at, "clinic-a");
    }
    const auto resp = gw_->request(r.method, path, r.method == "GET" || r.method == "DELETE" ? "" : "{}", key_b_);
    EXPECT_EQ(resp.status, 403) << "tenant B's key on " << r.method << " " << path << ": " << resp.body;
  }

  // Nothing of A's changed, in any table.
  const auto after = tenant_rows(db_, tenant_a);
  for (const auto& [table, digest] : before)
    EXPECT_EQ(after.at(table), digest) << "tenant A's rows in " << table << " changed";
  EXPECT_EQ(gw_->json("GET", "/v1/messages/" + later, nullptr, key_a_)["status"], "scheduled");
  EXPECT_EQ(gw_->json("GET", "/v1/webhooks/" + hook, nullptr, key_a_)["enabled"], false);
}

}  // namespace
}  // namespace barid::testing
