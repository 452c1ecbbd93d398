// End to end, the quick-start configuration (config/gateway.yaml) as
// scripts/run and the README use it: it loads, its mock instances are
// priced in the currency of the spend-cap examples in docs/api.md and
// docs/operations.md, and it lets a webhook receiver on 127.0.0.1:9000, and
// no other local address, take a tenant's events. The real binary on the
// repository's file, a real MariaDB.

#include "gateway_harness.hpp"

#include <gtest/gtest.h>

#include <string>

namespace barid::testing {
namespace {

using nlohmann::json;

TEST(QuickStartE2E, TheWalkthroughsSpendCapQuotaAndLocalWebhookReceiverWork) {
  TestDatabase db;
  GatewayUnderTest gw(db, GatewayUnderTest::ConfigFile{BARID_QUICK_START_CONFIG});
  gw.start();
  const std::string op = gw.create_operator_key();
  const std::string key = gw.create_api_key("my-clinic");
  ASSERT_FALSE(op.empty());
  ASSERT_FALSE(key.empty());

  // docs/operations.md's quotas and spend cap, with the default sender that
  // keeps a send without `from` working: the cap's USD is a currency an
  // instance is priced in.
  auto policy = gw.call(op, "PUT", "/v1/admin/tenants/my-clinic",
                        {{"allowed_senders", {{"sms", {"NORTHCLINIC"}}}},
                         {"default_senders", {{"sms", "NORTHCLINIC"}}},
                         {"allowed_countries", {"SA"}},
                         {"quotas", {{"messages_per_day", 5000}, {"messages_per_month", 100000}, {"sends_per_second", 20}}},
                         {"spend_cap", {{"amount", "250.00"}, {"currency", "USD"}}}},
                        200);
  EXPECT_EQ(policy["spend_cap"], (json{{"amount", "250.000000"}, {"currency", "USD"}}));
  // A cap in a currency no instance of the file is priced in holds nothing.
  EXPECT_EQ(gw.call(op, "PUT", "/v1/admin/tenants/my-clinic",
                    {{"default_senders", {{"sms", "NORTHCLINIC"}}},
                     {"allowed_senders", {{"sms", {"NORTHCLINIC"}}}},
                     {"spend_cap", {{"amount", "250.00"}, {"currency", "SAR"}}}},
                    422)["field"],
            "spend_cap.currency");

  // The README's first message: sent from the default sender, delivered
  // by the mock at the cost it is configured with, counted against the cap.
  auto sent = gw.call(key, "POST", "/v1/messages", {{"to", "0501234567"}, {"body", "Your appointment is tomorrow"}},
                      202);
  ASSERT_TRUE(sent.contains("id")) << sent.dump();
  auto message = gw.wait_for_status(key, sent["id"], "delivered");
  EXPECT_EQ(message["from"], "NORTHCLINIC");
  EXPECT_EQ(message["cost"], (json{{"amount", "0.007500"}, {"currency", "USD"}}));
  auto usage = gw.call(key, "GET", "/v1/usage", nullptr, 200);
  EXPECT_EQ(usage["day"]["quota"], 5000);
  EXPECT_EQ(usage["month"]["spend_cap"]["remaining"], "249.992500") << usage.dump();

  // Webhook endpoints: the development receiver's host and port only.
  auto endpoint = gw.call(key, "POST", "/v1/webhooks", {{"url", "http://127.0.0.1:9000/barid/events"}}, 201);
  EXPECT_EQ(endpoint["url"], "http://127.0.0.1:9000/barid/events");
  for (const std::string refused : {"http://127.0.0.1:9001/barid/events", "https://127.0.0.1:9001/barid/events",
                                    "http://10.0.0.5:9000/barid/events", "http://localhost:9000/barid/events"})
    EXPECT_EQ(gw.call(key, "POST", "/v1/webhooks", {{"url", refused}}, 422)["field"], "url") << refused;
}

}  // namespace
}  // namespace barid::testing
