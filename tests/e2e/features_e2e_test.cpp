// End to end, the messaging features: templates (en/ar, fallback, missing
// variables, preflight), preferences and opt-outs, bulk, retry, cancel,
// scheduling, statistics, the periodic jobs (one node per run), refresh,
// audit, providers and metrics. The real binary, the real mock plugin, a
// real MariaDB.

#include "gateway_harness.hpp"

#include <barid/core/time.hpp>

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace barid::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const char* kNoJobs = R"yaml(
jobs:
  poll: 200ms
  status_refresh: {enabled: false}
  retry_sweep: {enabled: false}
  retention: {enabled: false}
  provider_health: {enabled: false}
)yaml";

std::string sections(const std::string& providers, const std::string& jobs = kNoJobs) {
  return providers + R"yaml(
retry: {max_attempts: 3, initial_backoff: 50ms, max_backoff: 200ms, jitter: 0}
dispatch: {poll_interval: 50ms, lease: 30s}
messaging: {default_region: SA}
)yaml" + jobs;
}

const char* kMock = R"yaml(
providers:
  mock-sms:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, delivered_after_ms: "50", fail_numbers: "+966501110000", optout_numbers: "+966501119999",
             cost_micros_per_segment: "7500", currency: "USD"}
    price: {per_segment: "0.0075", currency: USD}
  mock-whatsapp:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: whatsapp, delivered_after_ms: "50", read_after_ms: "100"}
routing:
  sms: {provider: mock-sms}
  whatsapp: {provider: mock-whatsapp}
)yaml";

std::string hex_id(const std::string& id) { return "UNHEX(REPLACE('" + id + "', '-', ''))"; }

class FeaturesE2E : public ::testing::Test {
 protected:
  void start(const std::string& s = sections(kMock)) {
    gw_ = std::make_unique<GatewayUnderTest>(db_, s);
    gw_->start();
    if (key_.empty()) key_ = gw_->create_api_key("clinic-a");
  }

  json call(const std::string& method, const std::string& path, const json& body, long expect,
            sdk::HttpHeaders headers = {}) {
    long status = 0;
    auto r = gw_->json(method, path, body, key_, &status, std::move(headers));
    EXPECT_EQ(status, expect) << method << " " << path << " -> " << r.dump();
    return r;
  }

  std::string send(const json& body, long expect = 202) { return call("POST", "/v1/messages", body, expect).value("id", ""); }

  std::vector<std::string> event_types(const std::string& id) {
    std::vector<std::string> out;
    auto r = call("GET", "/v1/messages/" + id + "/events", nullptr, 200);
    for (const auto& e : r["events"]) out.push_back(e["type"].get<std::string>());
    return out;
  }

  void put_reminder_template() {
    call("PUT", "/v1/templates/appointment_reminder",
         {{"channels", {"sms", "whatsapp"}},
          {"category", "reminder"},
          {"translations",
           {{"en", {{"body", "Hello {{name}}, your appointment is on {{date}} at {{time}}."}}},
            {"ar", {{"body", "مرحبا {{name}}، موعدك يوم {{date}} الساعة {{time}}."}}}}}},
         201);
  }

  TestDatabase db_;
  std::unique_ptr<GatewayUnderTest> gw_;
  std::string key_;
};

TEST_F(FeaturesE2E, TemplatesRenderInEnglishAndArabicByteExact) {
  start();
  auto saved = call("PUT", "/v1/templates/appointment_reminder",
                    {{"channels", {"sms"}},
                     {"category", "reminder"},
                     {"translations",
                      {{"en", {{"body", "Hello {{name}}, your appointment is on {{date}} at {{time}}."}}},
                       {"ar", {{"body", "مرحبا {{name}}، موعدك يوم {{date}} الساعة {{time}}."}}}}}},
                    201);
  // Preflight per language, with the configured price.
  EXPECT_EQ(saved["preflight"]["en"]["encoding"], "GSM-7");
  EXPECT_EQ(saved["preflight"]["en"]["segments"], 1);
  EXPECT_EQ(saved["preflight"]["ar"]["encoding"], "UCS-2");
  EXPECT_EQ(saved["preflight"]["en"]["variables"], json({"name", "date", "time"}));
  EXPECT_EQ(saved["preflight"]["en"]["estimated_cost"]["amount"], "0.007500");
  EXPECT_EQ(saved["preflight"]["en"]["estimated_cost"]["currency"], "USD");

  const json vars = {{"name", "أحمد"}, {"date", "2026-12-01"}, {"time", "10:00"}};
  const std::string ar = send({{"to", "+966501234567"},
                               {"template", {{"code", "appointment_reminder"}, {"language", "ar"}, {"variables", vars}}}});
  const std::string expected = "مرحبا أحمد، موعدك يوم 2026-12-01 الساعة 10:00.";
  auto m = gw_->wait_for_status(key_, ar, "delivered");
  EXPECT_EQ(m["body"], expected);
  EXPECT_EQ(m["template"]["code"], "appointment_reminder");
  EXPECT_EQ(m["template"]["language"], "ar");
  EXPECT_EQ(m["category"], "reminder");
  EXPECT_EQ(m["encoding"], "UCS-2");
  EXPECT_EQ(db_.scalar("SELECT body FROM messages WHERE id = " + hex_id(ar)), expected);
  EXPECT_EQ(db_.scalar("SELECT HEX(body) FROM messages WHERE id = " + hex_id(ar)),
            db_.scalar("SELECT HEX(CONVERT('" + expected + "' USING utf8mb4))"));

  const std::string en = send({{"to", "+966501234567"},
                               {"template", {{"code", "appointment_reminder"}, {"language", "en"}, {"variables", vars}}}});
  EXPECT_EQ(gw_->wait_for_status(key_, en, "delivered")["body"],
            "Hello أحمد, your appointment is on 2026-12-01 at 10:00.");
}

TEST_F(FeaturesE2E, TemplateLanguageFallsBackAndMissingVariablesAreNamed) {
  start();
  put_reminder_template();
  const json vars = {{"name", "Sara"}, {"date", "1 Dec"}, {"time", "9:00"}};
  auto lang_of = [&](const std::string& id) { return call("GET", "/v1/messages/" + id, nullptr, 200)["template"]["language"]; };

  // Requested language missing, nothing else known -> en.
  auto id = send({{"to", "+966501234567"}, {"template", {{"code", "appointment_reminder"}, {"language", "fr"}, {"variables", vars}}}});
  EXPECT_EQ(lang_of(id), "en");
  // The tenant's default language comes before en.
  call("PUT", "/v1/settings", {{"default_language", "ar"}}, 200);
  id = send({{"to", "+966501234567"}, {"template", {{"code", "appointment_reminder"}, {"variables", vars}}}});
  EXPECT_EQ(lang_of(id), "ar");
  // The recipient's preferred language comes before the tenant's.
  call("PUT", "/v1/settings", {{"default_language", "fr"}}, 200);
  call("PUT", "/v1/recipients/patient-7/preferences", {{"language", "ar"}}, 200);
  id = send({{"to", "+966501234567"},
             {"recipient_id", "patient-7"},
             {"template", {{"code", "appointment_reminder"}, {"language", "de"}, {"variables", vars}}}});
  EXPECT_EQ(lang_of(id), "ar");
  // A requested language that exists wins.
  id = send({{"to", "+966501234567"},
             {"recipient_id", "patient-7"},
             {"template", {{"code", "appointment_reminder"}, {"language", "en"}, {"variables", vars}}}});
  EXPECT_EQ(lang_of(id), "en");

  // A missing variable is a 422 that names it, and nothing is stored.
  const std::string before = db_.scalar("SELECT COUNT(*) FROM messages");
  auto missing = call("POST", "/v1/messages",
                      {{"to", "+966501234567"},
                       {"template", {{"code", "appointment_reminder"}, {"variables", {{"name", "Sara"}, {"date", "1 Dec"}}}}}},
                      422);
  EXPECT_EQ(missing["field"], "template.variables.time");
  auto unknown = call("POST", "/v1/messages", {{"to", "+966501234567"}, {"template", {{"code", "nope"}}}}, 422);
  EXPECT_EQ(unknown["field"], "template.code");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages"), before);

  // Bad templates are refused with the field.
  const json broken = {{"channels", {"sms"}}, {"translations", {{"en", {{"body", "Hi {{name"}}}}}};
  auto bad = call("PUT", "/v1/templates/broken", broken, 422);
  EXPECT_EQ(bad["field"], "translations.en.body");
  EXPECT_EQ(call("GET", "/v1/templates", nullptr, 200)["templates"].size(), 1u);
  call("DELETE", "/v1/templates/appointment_reminder", nullptr, 204);
  call("GET", "/v1/templates/appointment_reminder", nullptr, 404);
}

TEST_F(FeaturesE2E, PreferencesSuppressWithTheReasonInTheAuditTrail) {
  start();
  call("PUT", "/v1/recipients/patient-1/preferences",
       {{"phone", "0501234567"}, {"channels", {"whatsapp"}}, {"categories", {{"marketing", false}}}}, 200);
  auto prefs = call("GET", "/v1/recipients/patient-1/preferences", nullptr, 200);
  EXPECT_EQ(prefs["phone"], "+966501234567");
  EXPECT_EQ(prefs["channels"], json({"whatsapp"}));
  EXPECT_EQ(prefs["categories"]["marketing"], false);

  // Channel not allowed.
  auto r = call("POST", "/v1/messages", {{"to", "+966501234567"}, {"recipient_id", "patient-1"}, {"body", "x"}}, 202);
  EXPECT_EQ(r["status"], "suppressed");
  EXPECT_NE(r.value("status_reason", "").find("does not accept sms"), std::string::npos) << r.dump();
  auto m = call("GET", "/v1/messages/" + r["id"].get<std::string>(), nullptr, 200);
  EXPECT_EQ(m["status"], "suppressed");
  EXPECT_EQ(m["status_reason"], r["status_reason"]);
  EXPECT_EQ(event_types(r["id"]), std::vector<std::string>{"suppressed"});
  // Category turned off.
  r = call("POST", "/v1/messages",
           {{"to", "+966501234567"}, {"channel", "whatsapp"}, {"recipient_id", "patient-1"}, {"category", "marketing"}, {"body", "x"}},
           202);
  EXPECT_EQ(r["status"], "suppressed");
  // Allowed.
  r = call("POST", "/v1/messages",
           {{"to", "+966501234567"}, {"channel", "whatsapp"}, {"recipient_id", "patient-1"}, {"category", "reminder"}, {"body", "x"}},
           202);
  EXPECT_EQ(r["status"], "queued");
  EXPECT_FALSE(r.contains("status_reason"));
  // Preferences by phone apply even without a recipient id.
  call("PUT", "/v1/recipients/+966507654321/preferences", {{"opted_out", true}}, 200);
  r = call("POST", "/v1/messages", {{"to", "0507654321"}, {"body", "x"}}, 202);
  EXPECT_EQ(r["status"], "suppressed");
  // Another tenant's preferences do not apply.
  const std::string other = gw_->create_api_key("clinic-b");
  long status = 0;
  auto o = gw_->json("POST", "/v1/messages", {{"to", "0507654321"}, {"body", "x"}}, other, &status);
  EXPECT_EQ(status, 202);
  EXPECT_EQ(o["status"], "queued");
  // The action is in the tenant's audit log.
  auto audit = call("GET", "/v1/audit", nullptr, 200);
  ASSERT_FALSE(audit["entries"].empty());
  EXPECT_EQ(audit["entries"][0]["action"], "preferences.updated");
  EXPECT_EQ(audit["entries"][0]["user_agent"], "barid-gateway");
}

// Preferences stored under a recipient id whose record names a number are
// found by that number too, within the tenant only; the number's own
// preferences, once stored, are what a read by number answers.
TEST_F(FeaturesE2E, PreferencesAreReadByTheNumberTheirRecipientNames) {
  start();
  call("GET", "/v1/recipients/+966501234588/preferences", nullptr, 404);
  call("PUT", "/v1/recipients/patient-9/preferences",
       {{"phone", "0501234588"}, {"channels", {"whatsapp"}}, {"language", "ar"}}, 200);
  auto by_number = call("GET", "/v1/recipients/+966501234588/preferences", nullptr, 200);
  EXPECT_EQ(by_number["recipient_id"], "patient-9") << by_number.dump();
  EXPECT_EQ(by_number["phone"], "+966501234588");
  EXPECT_EQ(by_number["channels"], json({"whatsapp"}));
  EXPECT_EQ(by_number["language"], "ar");

  // Another tenant's recipient naming the same number is not shown, nor
  // does this tenant's show there.
  const std::string other = gw_->create_api_key("clinic-b");
  long status = 0;
  gw_->json("GET", "/v1/recipients/+966501234588/preferences", nullptr, other, &status);
  EXPECT_EQ(status, 404);
  gw_->json("PUT", "/v1/recipients/patient-x/preferences", {{"phone", "+966501234577"}, {"opted_out", true}}, other,
            &status);
  ASSERT_EQ(status, 200);
  call("GET", "/v1/recipients/+966501234577/preferences", nullptr, 404);

  // With preferences of the number itself, those answer.
  call("PUT", "/v1/recipients/+966501234588/preferences", {{"opted_out", true}}, 200);
  auto own = call("GET", "/v1/recipients/+966501234588/preferences", nullptr, 200);
  EXPECT_EQ(own["recipient_id"], nullptr) << own.dump();
  EXPECT_EQ(own["opted_out"], true);
  EXPECT_EQ(call("GET", "/v1/recipients/patient-9/preferences", nullptr, 200)["language"], "ar");
}

// A reminder that expects answers: the patient's "٢" resolves to the intent
// "cancel" on the original message (which keeps its reference), and is kept
// with the inbound message; «إلغاء», an expected answer, answers instead of
// opting out, while with no open question it still opts out, and STOP
// always does. A template carries default answers per language.
TEST_F(FeaturesE2E, RepliesResolveToTheIntentsTheSendExpected) {
  start();
  auto inbound = [&](const std::string& from, const std::string& body, const std::string& id) {
    auto r = gw_->request("POST", "/webhooks/mock-sms/inbound", json{{"from", from}, {"body", body}, {"id", id}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
  };
  auto status_of_a_send_to = [&](const std::string& to) {
    return call("POST", "/v1/messages", {{"to", to}, {"body", "x"}}, 202)["status"].get<std::string>();
  };
  const std::string asked = send({{"to", "+966501230101"},
                                  {"body", "Your appointment is tomorrow at 10:00. Reply 1 to confirm, 2 to cancel."},
                                  {"reference", "appt-77"},
                                  {"replies", {{"1", "confirm"}, {"2", "cancel"}, {"نعم", "confirm"}, {"إلغاء", "cancel"}}}});
  auto m = gw_->wait_for_status(key_, asked, "delivered");
  EXPECT_EQ(m["replies"], (json{{"1", "confirm"}, {"2", "cancel"}, {"نعم", "confirm"}, {"الغاء", "cancel"}}));
  ASSERT_TRUE(m["replies_until"].is_string());
  EXPECT_TRUE(m["reply"].is_null());

  inbound("+966501230101", "٢", "r-1");
  m = call("GET", "/v1/messages/" + asked, nullptr, 200);
  EXPECT_EQ(m["reply"]["intent"], "cancel") << m.dump();
  EXPECT_EQ(m["reference"], "appt-77");
  EXPECT_EQ(event_types(asked).back(), "replied");
  auto kept = call("GET", "/v1/inbound?phone=0501230101&include=body", nullptr, 200);
  ASSERT_EQ(kept["inbound"].size(), 1u);
  EXPECT_EQ(kept["inbound"][0]["body"], "٢");
  EXPECT_EQ(kept["inbound"][0]["answers"], (json{{"message_id", asked}, {"intent", "cancel"}}));
  EXPECT_EQ(status_of_a_send_to("+966501230101"), "queued");

  inbound("+966501230101", "«إلغاء»", "r-2");  // an expected answer: no opt-out
  EXPECT_EQ(status_of_a_send_to("+966501230101"), "queued");
  EXPECT_EQ(call("GET", "/v1/messages/" + asked, nullptr, 200)["reply"]["intent"], "cancel");
  inbound("+966501230101", "STOP", "r-3");  // always an opt-out
  EXPECT_EQ(status_of_a_send_to("+966501230101"), "suppressed");

  // No question open: «إلغاء» opts out as it always did.
  gw_->wait_for_status(key_, send({{"to", "+966501230102"}, {"body", "See you tomorrow"}}), "delivered");
  inbound("+966501230102", "إلغاء", "r-4");
  EXPECT_EQ(status_of_a_send_to("+966501230102"), "suppressed");

  // A template's answers per language.
  call("PUT", "/v1/templates/visit_check",
       {{"channels", {"sms"}},
        {"translations",
         {{"en", {{"body", "Will you come on {{date}}? Reply YES or NO."}, {"replies", {{"yes", "confirm"}, {"no", "cancel"}}}}},
          {"ar", {{"body", "هل ستحضر يوم {{date}}؟ أجب بنعم أو لا."}, {"replies", {{"نعم", "confirm"}, {"لا", "cancel"}}}}}}}},
       201);
  const std::string from_template = send({{"to", "+966501230103"},
                                          {"template", {{"code", "visit_check"}, {"language", "ar"},
                                                        {"variables", {{"date", "2026-12-03"}}}}}});
  gw_->wait_for_status(key_, from_template, "delivered");
  inbound("+966501230103", " نَعَم! ", "r-5");
  EXPECT_EQ(call("GET", "/v1/messages/" + from_template, nullptr, 200)["reply"]["intent"], "confirm");

  // Answers are checked at the door.
  EXPECT_EQ(call("POST", "/v1/messages", {{"to", "+966501230104"}, {"body", "x"}, {"replies", {{"1", "con firm"}}}}, 422)["field"],
            "replies.1");
  EXPECT_EQ(call("POST", "/v1/messages",
                 {{"to", "+966501230104"}, {"body", "x"}, {"replies", {{"1", "confirm"}}}, {"reply_window", "99d"}}, 422)["field"],
            "reply_window");
}

TEST_F(FeaturesE2E, InboundStopAndStartAndProviderOptOuts) {
  start();
  auto inbound = [&](const std::string& body) {
    return gw_->request("POST", "/webhooks/mock-sms/inbound", json{{"from", "+966501234567"}, {"body", body}}.dump());
  };
  EXPECT_EQ(inbound("Hello there").status, 200);  // not a keyword
  EXPECT_EQ(call("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "x"}}, 202)["status"], "queued");
  EXPECT_EQ(inbound("إيقاف").status, 200);  // Arabic "stop"
  auto r = call("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "x"}}, 202);
  EXPECT_EQ(r["status"], "suppressed");
  // Only the channel it came in on; and for every tenant.
  EXPECT_EQ(call("POST", "/v1/messages", {{"to", "+966501234567"}, {"channel", "whatsapp"}, {"body", "x"}}, 202)["status"],
            "queued");
  const std::string other = gw_->create_api_key("clinic-b");
  EXPECT_EQ(gw_->json("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "x"}}, other)["status"], "suppressed");
  auto prefs = call("GET", "/v1/recipients/+966501234567/preferences", nullptr, 200);
  ASSERT_EQ(prefs["opt_outs"].size(), 1u);
  EXPECT_EQ(prefs["opt_outs"][0]["source"], "inbound:mock-sms");
  EXPECT_EQ(inbound("START").status, 200);
  EXPECT_EQ(call("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "x"}}, 202)["status"], "queued");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM inbound_messages WHERE from_phone = '+966501234567'"), "3");

  // Providers retry webhooks: a STOP replayed (same provider id) after a
  // START changes nothing.
  auto inbound_with_id = [&](const std::string& body, const std::string& id) {
    return gw_->request("POST", "/webhooks/mock-sms/inbound",
                        json{{"from", "+966501234568"}, {"body", body}, {"id", id}}.dump());
  };
  EXPECT_EQ(inbound_with_id("STOP", "in-1").status, 200);
  EXPECT_EQ(call("POST", "/v1/messages", {{"to", "+966501234568"}, {"body", "x"}}, 202)["status"], "suppressed");
  EXPECT_EQ(inbound_with_id("START", "in-2").status, 200);
  EXPECT_EQ(inbound_with_id("STOP", "in-1").status, 200);
  EXPECT_EQ(call("POST", "/v1/messages", {{"to", "+966501234568"}, {"body", "x"}}, 202)["status"], "queued");

  // A provider refusing an unsubscribed number records an opt-out.
  const std::string refused = send({{"to", "+966501119999"}, {"body", "x"}});
  EXPECT_EQ(gw_->wait_for_status(key_, refused, "failed")["error"]["code"], "MOCK-OPTED-OUT");
  EXPECT_EQ(call("POST", "/v1/messages", {{"to", "+966501119999"}, {"body", "x"}}, 202)["status"], "suppressed");
}

TEST_F(FeaturesE2E, BulkOfTenThousandWithInvalidAndOptedOutRecipients) {
  start(sections(R"yaml(
providers:
  mock-sms:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, report_mode: poll}
routing:
  sms: {provider: mock-sms}
dispatch: {senders: 32, claim_batch: 500}
)yaml"));
  put_reminder_template();
  // One recipient replied STOP, one opted out with this clinic.
  gw_->request("POST", "/webhooks/mock-sms/inbound", json{{"from", "+966500000007"}, {"body", "STOP"}}.dump());
  call("PUT", "/v1/recipients/+966500000042/preferences", {{"opted_out", true}}, 200);
  json recipients = json::array();
  std::set<std::size_t> invalid;
  for (std::size_t i = 0; i < 10000; ++i) {
    char number[32];
    std::snprintf(number, sizeof number, "+9665%08zu", i);
    std::string to = number;
    if (i % 997 == 0) {
      to = "12345";  // not a phone number
      invalid.insert(i);
    }
    recipients.push_back({{"to", to}, {"variables", {{"name", "Patient " + std::to_string(i)}}}});
  }
  const auto started = std::chrono::steady_clock::now();
  auto r = call("POST", "/v1/messages/bulk",
                {{"template", {{"code", "appointment_reminder"}, {"variables", {{"date", "1 Dec"}, {"time", "9:00"}}}}},
                 {"recipients", recipients}},
                202);
  const auto took = std::chrono::steady_clock::now() - started;
  const std::string batch = r["id"];
  // Inserts are batched: every row of one INSERT statement gets the same
  // created_at (UTC_TIMESTAMP(6) is fixed for a statement), so the distinct
  // values count the statements that stored the batch's messages.
  const long long statements =
      std::stoll(db_.scalar("SELECT COUNT(DISTINCT created_at) FROM messages WHERE batch_id = " + hex_id(batch)));
  EXPECT_LE(statements, 20) << statements << " INSERT statements for 9,990 messages";
  EXPECT_LT(took, 30s);
  EXPECT_EQ(r["total"], 10000);
  EXPECT_EQ(r["rejected"], static_cast<int>(invalid.size()));
  EXPECT_EQ(r["suppressed"], 2);
  EXPECT_EQ(r["accepted"], 10000 - static_cast<int>(invalid.size()) - 2);
  ASSERT_EQ(r["rejected_recipients"].size(), invalid.size());
  EXPECT_EQ(r["rejected_recipients"][0]["index"], 0);
  EXPECT_EQ(r["rejected_recipients"][0]["field"], "recipients[0].to");
  ASSERT_EQ(r["suppressed_recipients"].size(), 2u);
  EXPECT_EQ(r["suppressed_recipients"][0]["to"], "+966500000007");
  EXPECT_EQ(r["suppressed_recipients"][1]["to"], "+966500000042");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages WHERE batch_id = " + hex_id(batch)),
            std::to_string(10000 - invalid.size()));
  // Each recipient got their own variables.
  EXPECT_EQ(db_.scalar("SELECT body FROM messages WHERE recipient = '+966500004321'"),
            "Hello Patient 4321, your appointment is on 1 Dec at 9:00.");

  json progress;
  ASSERT_TRUE(eventually(
      [&] {
        progress = call("GET", "/v1/batches/" + batch, nullptr, 200);
        return progress["done"] == true;
      },
      120s, 200ms))
      << progress.dump();
  EXPECT_EQ(progress["by_status"]["sent"], 10000 - static_cast<int>(invalid.size()) - 2);
  EXPECT_EQ(progress["by_status"]["suppressed"], 2);
  std::printf("[ figure ] bulk of 10000 accepted in %lld ms, messages stored with %lld INSERT statements\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()), statements);
}

// A bulk names template errors as a single send does: a missing template
// and a shared variable the template does not use are the whole request's
// (template.code, template.variables.<name>); a recipient's own unused
// variable rejects that recipient. The answer has the shape docs/api.md shows.
TEST_F(FeaturesE2E, BulkTemplateErrorsAreNamedAsForASingleSend) {
  start();
  call("PUT", "/v1/templates/clinic_closed",
       {{"channels", {"sms"}}, {"translations", {{"en", {{"body", "The clinic is closed on {{date}}."}}}}}}, 201);

  // A template that does not exist.
  auto single = call("POST", "/v1/messages", {{"to", "+966501234567"}, {"template", {{"code", "no_such"}}}}, 422);
  EXPECT_EQ(single["field"], "template.code");
  auto bulk = call("POST", "/v1/messages/bulk",
                   {{"template", {{"code", "no_such"}}}, {"recipients", {"+966501234567", "+966507654321"}}}, 422);
  EXPECT_EQ(bulk["field"], "template.code") << bulk.dump();
  EXPECT_EQ(bulk["detail"], single["detail"]);

  // A variable the template does not use.
  single = call("POST", "/v1/messages",
                {{"to", "+966501234567"},
                 {"template", {{"code", "clinic_closed"}, {"variables", {{"date", "2 December"}, {"nmae", "Sara"}}}}}},
                422);
  EXPECT_EQ(single["field"], "template.variables.nmae") << single.dump();
  bulk = call("POST", "/v1/messages/bulk",
              {{"template", {{"code", "clinic_closed"}, {"variables", {{"date", "2 December"}, {"nmae", "Sara"}}}}},
               {"recipients", {"+966501234567", "+966507654321"}}},
              422);
  EXPECT_EQ(bulk["field"], "template.variables.nmae") << bulk.dump();
  EXPECT_EQ(bulk["detail"], single["detail"]);
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages"), "0");

  // A recipient's own unused variable rejects that recipient; the example
  // of docs/api.md, field for field.
  auto r = call("POST", "/v1/messages/bulk",
                {{"template", {{"code", "clinic_closed"}, {"variables", {{"date", "2 December"}}}}},
                 {"category", "announcement"},
                 {"recipients",
                  {"+966501234567", {{"to", "0507654321"}, {"language", "en"}, {"variables", {{"date", "3 December"}}}},
                   "12345", {{"to", "0507654322"}, {"variables", {{"nmae", "Sara"}}}}}}},
                202);
  EXPECT_EQ(r["total"], 4);
  EXPECT_EQ(r["accepted"], 2);
  EXPECT_EQ(r["rejected"], 2);
  EXPECT_EQ(r["template"], "clinic_closed");
  ASSERT_EQ(r["rejected_recipients"].size(), 2u) << r.dump();
  EXPECT_EQ(r["rejected_recipients"][0], (json{{"index", 2},
                                               {"to", "12345"},
                                               {"field", "recipients[2].to"},
                                               {"detail", "not a valid phone number for its country"}}));
  EXPECT_EQ(r["rejected_recipients"][1]["index"], 3);
  EXPECT_EQ(r["rejected_recipients"][1]["field"], "recipients[3].variables.nmae");
  EXPECT_EQ(r["rejected_recipients"][1]["to"], "0507654322");
  EXPECT_EQ(r["suppressed_recipients"], json::array());
}

TEST_F(FeaturesE2E, RetryIsBoundedAndRefusedWithTheReason) {
  start();
  const std::string id = send({{"to", "+966501110000"}, {"body", "x"}, {"max_attempts", 2}});
  ASSERT_EQ(gw_->wait_for_status(key_, id, "failed")["attempts"], 1);
  auto retried = call("POST", "/v1/messages/" + id + "/retry", nullptr, 202);
  EXPECT_EQ(retried["status"], "queued");
  auto again = gw_->wait_for_status(key_, id, "failed");
  EXPECT_EQ(again["attempts"], 2);
  auto refused = call("POST", "/v1/messages/" + id + "/retry", nullptr, 409);
  EXPECT_NE(refused["detail"].get<std::string>().find("no attempt left"), std::string::npos);
  EXPECT_EQ(event_types(id), (std::vector<std::string>{"accepted", "failed", "retry_requested", "failed"}));

  const std::string ok = send({{"to", "+966501234567"}, {"body", "x"}});
  gw_->wait_for_status(key_, ok, "delivered");
  EXPECT_NE(call("POST", "/v1/messages/" + ok + "/retry", nullptr, 409)["detail"].get<std::string>().find("delivered"),
            std::string::npos);
  call("POST", "/v1/messages/01a2111c-4268-76d4-a9aa-2ad0f8da9a7a/retry", nullptr, 404);
}

TEST_F(FeaturesE2E, ScheduledMessagesWaitAndCanBeCanceled) {
  start();
  const auto when = core::now_us() + 3s;
  const std::string later = send({{"to", "+966501234567"}, {"body", "x"}, {"scheduled_at", core::format_iso8601(when)}});
  const std::string canceled =
      send({{"to", "+966501234567"}, {"body", "y"}, {"scheduled_at", core::format_iso8601(core::now_us() + 1h)}});
  EXPECT_EQ(call("GET", "/v1/messages/" + later, nullptr, 200)["status"], "scheduled");
  auto c = call("POST", "/v1/messages/" + canceled + "/cancel", nullptr, 200);
  EXPECT_EQ(c["status"], "canceled");
  EXPECT_NE(call("POST", "/v1/messages/" + canceled + "/cancel", nullptr, 409)["detail"].get<std::string>().find("canceled"),
            std::string::npos);

  auto m = gw_->wait_for_status(key_, later, "delivered", 20s);
  ASSERT_EQ(m["status"], "delivered");
  auto sent_at = core::parse_iso8601(m["sent_at"].get<std::string>());
  ASSERT_TRUE(sent_at.has_value());
  EXPECT_GE(*sent_at, when);
  EXPECT_EQ(call("GET", "/v1/messages/" + canceled, nullptr, 200)["status"], "canceled");
  EXPECT_EQ(event_types(canceled), (std::vector<std::string>{"accepted", "canceled"}));
}

TEST_F(FeaturesE2E, SchedulingIsLimitedToOneYearAhead) {
  start();
  const auto day = std::chrono::hours(24);
  const json refused =
      call("POST", "/v1/messages",
           {{"to", "+966501234567"}, {"body", "x"}, {"scheduled_at", core::format_iso8601(core::now_us() + 366 * day)}},
           422);
  EXPECT_EQ(refused["field"], "scheduled_at");
  EXPECT_NE(refused["detail"].get<std::string>().find("one year"), std::string::npos) << refused.dump();
  const std::string waiting =
      send({{"to", "+966501234567"}, {"body", "x"}, {"scheduled_at", core::format_iso8601(core::now_us() + 364 * day)}});
  EXPECT_EQ(call("GET", "/v1/messages/" + waiting, nullptr, 200)["status"], "scheduled");
}

TEST_F(FeaturesE2E, StatisticsMatchAHandComputedDataSet) {
  start();
  const std::string tenant = db_.scalar("SELECT id FROM tenants WHERE name = 'clinic-a'");
  // Twelve messages two days ago, one outside the window, one of another tenant.
  struct Row {
    const char* channel;
    const char* status;
    const char* instance;
    int attempts;
    long long cost;  // micros, 0 = none
    const char* currency;
    int delivered_after_s;  // -1: not delivered; counted from when it was due
    const char* error;
    int scheduled_after_s = 0;  // due this long after it was accepted
  } rows[] = {
      {"sms", "delivered", "mock-sms", 1, 7500, "USD", 10, nullptr},
      {"sms", "delivered", "mock-sms", 1, 7500, "USD", 20, nullptr},
      {"sms", "delivered", "mock-sms", 2, 15000, "USD", 30, nullptr},
      {"sms", "delivered", "mock-sms", 1, 7500, "USD", 40, nullptr, 3600},  // scheduled an hour ahead
      {"sms", "failed", "mock-sms", 3, 0, nullptr, -1, "30003"},
      {"sms", "undelivered", "mock-sms", 1, 7500, "USD", -1, "30003"},
      {"sms", "failed", "mock-sms", 1, 0, nullptr, -1, "21211"},
      {"whatsapp", "read", "mock-whatsapp", 1, 50000, "SAR", 5, nullptr},
      {"whatsapp", "delivered", "mock-whatsapp", 2, 50000, "SAR", 50, nullptr},
      {"whatsapp", "sent", "mock-whatsapp", 1, 0, nullptr, -1, nullptr},
      {"sms", "queued", nullptr, 0, 0, nullptr, -1, nullptr},
      {"sms", "suppressed", nullptr, 0, 0, nullptr, -1, nullptr},
  };
  int n = 0;
  for (const auto& r : rows) {
    const std::string created = "UTC_TIMESTAMP(6) - INTERVAL 2 DAY + INTERVAL " + std::to_string(n++) + " MINUTE";
    const std::string due = created + " + INTERVAL " + std::to_string(r.scheduled_after_s) + " SECOND";
    db_.execute(std::string("INSERT INTO messages (id, tenant_id, channel, recipient, body, status, attempts, max_attempts, ") +
                "next_attempt_at, provider_instance, segments, encoding, cost_micros, cost_currency, error_code, created_at, " +
                "scheduled_at, delivered_at, updated_at) VALUES (UNHEX(REPLACE(UUID(), '-', '')), " + tenant + ", '" + r.channel +
                "', '+966501234567', 'x', '" + r.status + "', " + std::to_string(r.attempts) +
                ", 3, UTC_TIMESTAMP(6) + INTERVAL 1 DAY, " +  // not due: the running dispatcher leaves it alone
                (r.instance ? "'" + std::string(r.instance) + "'" : "NULL") + ", 1, 'GSM-7', " +
                (r.cost ? std::to_string(r.cost) : "NULL") + ", " + (r.currency ? "'" + std::string(r.currency) + "'" : "NULL") +
                ", " + (r.error ? "'" + std::string(r.error) + "'" : "NULL") + ", " + created + ", " +
                (r.scheduled_after_s ? due : std::string("NULL")) + ", " +
                (r.delivered_after_s >= 0 ? due + " + INTERVAL " + std::to_string(r.delivered_after_s) + " SECOND"
                                          : std::string("NULL")) +
                ", " + created + ")");
  }
  db_.execute("INSERT INTO messages (id, tenant_id, channel, recipient, body, status, attempts, max_attempts, next_attempt_at, "
              "segments, encoding, created_at, updated_at) VALUES (UNHEX(REPLACE(UUID(), '-', '')), " + tenant +
              ", 'sms', '+966501234567', 'x', 'delivered', 1, 3, UTC_TIMESTAMP(6), 1, 'GSM-7', "
              "UTC_TIMESTAMP(6) - INTERVAL 30 DAY, UTC_TIMESTAMP(6))");
  db_.execute("INSERT INTO messages (id, tenant_id, channel, recipient, body, status, attempts, max_attempts, next_attempt_at, "
              "segments, encoding, created_at, updated_at) VALUES (UNHEX(REPLACE(UUID(), '-', '')), 999, 'sms', "
              "'+966501234567', 'x', 'failed', 1, 3, UTC_TIMESTAMP(6), 1, 'GSM-7', UTC_TIMESTAMP(6) - INTERVAL 1 DAY, "
              "UTC_TIMESTAMP(6))");

  auto s = call("GET", "/v1/stats?days=7", nullptr, 200);
  EXPECT_EQ(s["total"], 12);
  EXPECT_EQ(s["by_channel"], json({{"sms", 9}, {"whatsapp", 3}}));
  EXPECT_EQ(s["by_status"], json({{"delivered", 5}, {"failed", 2}, {"undelivered", 1}, {"read", 1}, {"sent", 1},
                                  {"queued", 1}, {"suppressed", 1}}));
  EXPECT_EQ(s["by_provider"], json({{"mock-sms", 7}, {"mock-whatsapp", 3}}));
  // Final outcomes: 5 delivered + 1 read + 2 failed + 1 undelivered = 9; 6 successful.
  EXPECT_EQ(s["final"], 9);
  EXPECT_EQ(s["successful"], 6);
  EXPECT_DOUBLE_EQ(s["success_rate"].get<double>(), 66.67);
  EXPECT_EQ(s["cost"], json::array({{{"currency", "SAR"}, {"amount", "0.100000"}}, {{"currency", "USD"}, {"amount", "0.045000"}}}));
  // Delivery times from when each was due, 5, 10, 20, 30, 40, 50 s: median 25, p95 (continuous) 47.5.
  EXPECT_DOUBLE_EQ(s["delivery_seconds"]["median"].get<double>(), 25.0);
  EXPECT_DOUBLE_EQ(s["delivery_seconds"]["p95"].get<double>(), 47.5);
  // Retried: attempts > 1 -> 3 (two of them successful).
  EXPECT_EQ(s["retries"]["retried"], 3);
  EXPECT_EQ(s["retries"]["successful"], 2);
  EXPECT_DOUBLE_EQ(s["retries"]["success_rate"].get<double>(), 66.67);
  EXPECT_EQ(s["top_errors"], json::array({{{"code", "30003"}, {"count", 2}}, {{"code", "21211"}, {"count", 1}}}));

  // An explicit window that holds only the first five rows.
  const auto two_days = core::now_us() - std::chrono::hours(48);
  auto w = call("GET", "/v1/stats?from=" + core::format_iso8601(two_days - 1h) + "&to=" +
                           core::format_iso8601(two_days + std::chrono::minutes(4) + 30s),
                nullptr, 200);
  EXPECT_EQ(w["total"], 5);
  call("GET", "/v1/stats?days=0", nullptr, 422);
}

TEST_F(FeaturesE2E, RefreshAsksTheProvider) {
  start(sections(R"yaml(
providers:
  polled:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, report_mode: poll}
routing:
  sms: {provider: polled}
)yaml"));
  const std::string id = send({{"to", "+966501234567"}, {"body", "x"}});
  gw_->wait_for_status(key_, id, "sent");
  auto r = call("POST", "/v1/messages/" + id + "/refresh", nullptr, 200);
  EXPECT_EQ(r["status"], "delivered");
  EXPECT_EQ(r["refresh"]["changed"], true);
  auto events = call("GET", "/v1/messages/" + id + "/events", nullptr, 200)["events"];
  EXPECT_EQ(events.back()["type"], "delivered");
  EXPECT_EQ(events.back()["actor"].get<std::string>().rfind("key:", 0), 0u);
  // Asking again finds nothing new: the request is in the audit trail all the same.
  auto again = call("POST", "/v1/messages/" + id + "/refresh", nullptr, 200,
                    {{"User-Agent", "clinic-portal/2.1"}});
  EXPECT_EQ(again["refresh"]["changed"], false);
  events = call("GET", "/v1/messages/" + id + "/events", nullptr, 200)["events"];
  ASSERT_EQ(events.size(), 4u) << events.dump();  // accepted, sent, delivered, refresh_requested
  EXPECT_EQ(events[0]["type"], "accepted");
  EXPECT_EQ(events[0]["ip"], "127.0.0.1");
  EXPECT_FALSE(events[0]["user_agent"].get<std::string>().empty());
  EXPECT_EQ(events[3]["type"], "refresh_requested");
  EXPECT_EQ(events[3]["actor"], events[2]["actor"]);
  EXPECT_EQ(events[3]["ip"], "127.0.0.1");
  EXPECT_EQ(events[3]["user_agent"], "clinic-portal/2.1");
  const std::string queued =
      send({{"to", "+966501234567"}, {"body", "x"}, {"scheduled_at", core::format_iso8601(core::now_us() + 1h)}});
  call("POST", "/v1/messages/" + queued + "/refresh", nullptr, 409);
}

// A provider that no longer knows a message (the mock forgets what it sent
// when the gateway restarts) is not an outage: a refresh answers 409 naming
// the instance and leaves the message as it is, and the status-refresh job
// counts it apart from its failed queries, which it counts by the provider's
// error code.
TEST_F(FeaturesE2E, AMessageTheProviderDoesNotKnowIsNotAnOutage) {
  const std::string s = sections(R"yaml(
providers:
  polled:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, report_mode: poll, delivered_after_ms: "3600000"}
  failing:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: whatsapp, report_mode: poll, delivered_after_ms: "3600000", status_query_error: HTTP-503}
routing:
  sms: {provider: polled}
  whatsapp: {provider: failing}
)yaml",
                                 R"yaml(
jobs:
  poll: 200ms
  status_refresh: {every: 1h}
  retry_sweep: {enabled: false}
  retention: {enabled: false}
  provider_health: {enabled: false}
)yaml");
  start(s);
  const std::string forgotten = send({{"to", "+966501234567"}, {"body", "x"}});
  ASSERT_EQ(gw_->wait_for_status(key_, forgotten, "sent")["status"], "sent");
  gw_->terminate();
  gw_ = std::make_unique<GatewayUnderTest>(db_, s);
  gw_->start();

  auto unknown = call("POST", "/v1/messages/" + forgotten + "/refresh", nullptr, 409);
  EXPECT_EQ(unknown["type"], "urn:barid:problem:provider-does-not-know-message") << unknown.dump();
  EXPECT_NE(unknown["detail"].get<std::string>().find("provider instance 'polled'"), std::string::npos)
      << unknown.dump();
  EXPECT_NE(unknown["detail"].get<std::string>().find("MOCK-NOT-FOUND"), std::string::npos) << unknown.dump();
  EXPECT_EQ(call("GET", "/v1/messages/" + forgotten, nullptr, 200)["status"], "sent");
  auto events = call("GET", "/v1/messages/" + forgotten + "/events", nullptr, 200)["events"];
  EXPECT_EQ(events.back()["type"], "refresh_requested") << events.dump();

  // Two messages the provider knows but cannot be asked about now.
  for (int i = 0; i < 2; ++i) {
    const std::string id = send({{"channel", "whatsapp"}, {"to", "+96650123450" + std::to_string(i)},
                                 {"provider_template", {{"id", "HXa1"}}}});
    ASSERT_EQ(gw_->wait_for_status(key_, id, "sent")["status"], "sent");
  }
  EXPECT_EQ(call("POST", "/v1/messages/" + forgotten + "/refresh", nullptr, 409)["type"],
            "urn:barid:problem:provider-does-not-know-message");

  const std::string op = gw_->create_operator_key();
  long status = 0;
  auto run = gw_->json("POST", "/v1/admin/jobs/status-refresh/run", nullptr, op, &status);
  ASSERT_EQ(status, 202) << run.dump();
  json finished;
  ASSERT_TRUE(eventually(
      [&] {
        finished = gw_->json("GET", "/v1/admin/jobs/runs/" + run["id"].get<std::string>(), nullptr, op);
        return finished.value("status", "") == "finished";
      },
      20s))
      << finished.dump();
  const std::string result = finished["result"];
  EXPECT_NE(result.find("3 checked, 0 changed"), std::string::npos) << result;
  EXPECT_NE(result.find("2 queries failed (HTTP-503: 2)"), std::string::npos) << result;
  EXPECT_NE(result.find("1 unknown to the provider"), std::string::npos) << result;
  EXPECT_NE(gw_->log().find("2 queries failed (HTTP-503: 2)"), std::string::npos) << gw_->log();
  EXPECT_EQ(call("GET", "/v1/messages/" + forgotten, nullptr, 200)["status"], "sent");
}

// Behind a trusted load balancer the audit trail has the client's address
// from X-Forwarded-For; from anyone else the header is ignored.
TEST_F(FeaturesE2E, TheAuditTrailHasTheClientAddressBehindTrustedProxies) {
  start();
  auto first_event = [&](const std::string& id) { return call("GET", "/v1/messages/" + id + "/events", nullptr, 200)["events"][0]; };
  const std::string untrusted = call("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "x"}}, 202,
                                     {{"X-Forwarded-For", "198.51.100.23"}})["id"];
  EXPECT_EQ(first_event(untrusted)["ip"], "127.0.0.1");
  gw_->terminate();

  gw_ = std::make_unique<GatewayUnderTest>(db_, sections(kMock));
  gw_->add_server_keys("  trusted_proxies: [\"127.0.0.0/8\"]\n");
  gw_->start();
  const std::string behind = call("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "x"}}, 202,
                                  {{"X-Forwarded-For", "6.6.6.6, 198.51.100.23"}})["id"];
  EXPECT_EQ(first_event(behind)["ip"], "198.51.100.23");
  // Tenant-level actions too.
  call("PUT", "/v1/settings", {{"default_language", "ar"}}, 200, {{"X-Forwarded-For", "198.51.100.24"}});
  EXPECT_EQ(call("GET", "/v1/audit?limit=1", nullptr, 200)["entries"][0]["ip"], "198.51.100.24");
}

TEST_F(FeaturesE2E, StatusRefreshJobCompletesPolledMessages) {
  start(sections(R"yaml(
providers:
  polled:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, report_mode: poll}
routing:
  sms: {provider: polled}
)yaml",
                 R"yaml(
jobs:
  poll: 200ms
  status_refresh: {every: 1s}
  retry_sweep: {enabled: false}
  retention: {enabled: false}
  provider_health: {enabled: false}
)yaml"));
  const std::string id = send({{"to", "+966501234567"}, {"body", "x"}});
  auto m = gw_->wait_for_status(key_, id, "delivered", 20s);
  ASSERT_EQ(m["status"], "delivered");
  EXPECT_EQ(call("GET", "/v1/messages/" + id + "/events", nullptr, 200)["events"].back()["actor"], "job:status-refresh");
  EXPECT_NE(db_.scalar("SELECT last_result FROM jobs WHERE name = 'status-refresh'").find("checked"), std::string::npos);
}

TEST_F(FeaturesE2E, RetrySweepRequeuesRetryableFailures) {
  start(sections(kMock, R"yaml(
jobs:
  poll: 200ms
  status_refresh: {enabled: false}
  retry_sweep: {every: 1s, max_attempts: 3}
  retention: {enabled: false}
  provider_health: {enabled: false}
)yaml"));
  const std::string tenant = db_.scalar("SELECT id FROM tenants WHERE name = 'clinic-a'");
  // A failure the provider called transient, one attempt used; and one with
  // no attempt left; and a permanent one.
  auto seed = [&](const char* id, int attempts, int retryable) {
    db_.execute(std::string("INSERT INTO messages (id, tenant_id, channel, recipient, body, status, attempts, max_attempts, "
                            "next_attempt_at, segments, encoding, retryable, error_code, created_at, failed_at, updated_at) "
                            "VALUES (") + hex_id(id) + ", " + tenant + ", 'sms', '+966501234567', 'x', 'undelivered', " +
                std::to_string(attempts) + ", 3, UTC_TIMESTAMP(6), 1, 'GSM-7', " + std::to_string(retryable) +
                ", '30001', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))");
  };
  seed("01a2111c-0000-7000-8000-000000000001", 1, 1);
  seed("01a2111c-0000-7000-8000-000000000002", 3, 1);
  seed("01a2111c-0000-7000-8000-000000000003", 1, 0);
  auto m = gw_->wait_for_status(key_, "01a2111c-0000-7000-8000-000000000001", "delivered", 20s);
  ASSERT_EQ(m["status"], "delivered");
  EXPECT_EQ(m["attempts"], 2);
  EXPECT_EQ(call("GET", "/v1/messages/01a2111c-0000-7000-8000-000000000002", nullptr, 200)["status"], "undelivered");
  EXPECT_EQ(call("GET", "/v1/messages/01a2111c-0000-7000-8000-000000000003", nullptr, 200)["status"], "undelivered");
}

TEST_F(FeaturesE2E, RetentionDeletesExactlyWhatIsPastThePeriod) {
  start();  // creates the schema and the tenant
  const std::string a = db_.scalar("SELECT id FROM tenants WHERE name = 'clinic-a'");
  gw_->create_api_key("clinic-short");
  const std::string b = db_.scalar("SELECT id FROM tenants WHERE name = 'clinic-short'");
  db_.execute("UPDATE tenants SET retention_days = 30 WHERE id = " + b);
  gw_->terminate();

  int n = 0;
  auto seed = [&](const std::string& tenant, int days_ago) {
    char id[40];
    std::snprintf(id, sizeof id, "01a2111c-0000-7000-8000-%012d", ++n);
    db_.execute(std::string("INSERT INTO messages (id, tenant_id, channel, recipient, body, status, attempts, max_attempts, "
                            "next_attempt_at, segments, encoding, created_at, updated_at) VALUES (") +
                hex_id(id) + ", " + tenant + ", 'sms', '+966501234567', 'x', 'delivered', 1, 3, UTC_TIMESTAMP(6), 1, "
                "'GSM-7', UTC_TIMESTAMP(6) - INTERVAL " + std::to_string(days_ago) + " DAY, UTC_TIMESTAMP(6))");
    db_.execute("INSERT INTO message_events (message_id, tenant_id, at, type) VALUES (" + hex_id(id) + ", " + tenant +
                ", UTC_TIMESTAMP(6), 'accepted')");
  };
  for (int i = 0; i < 2500; ++i) seed(a, 91);  // past 90 days: more than two batches
  for (int i = 0; i < 5; ++i) seed(a, 89);
  for (int i = 0; i < 4; ++i) seed(b, 31);  // past this tenant's 30 days
  for (int i = 0; i < 3; ++i) seed(b, 29);
  // Audit entries outlive a tenant's short retention: kept for
  // jobs.retention.audit_min_days (365 by default), whoever's they are.
  auto audit = [&](const std::string& tenant, int days_ago, const std::string& action) {
    db_.execute("INSERT INTO audit_log (tenant_id, at, action, subject) VALUES (" + tenant +
                ", UTC_TIMESTAMP(6) - INTERVAL " + std::to_string(days_ago) + " DAY, '" + action + "', 'x')");
  };
  audit(b, 31, "message.body_read");
  audit(b, 364, "message.body_read");
  audit(b, 366, "message.body_read");
  audit("0", 200, "inbound.body_read");
  audit("0", 366, "inbound.body_read");
  // Daily usage counters past a week go; monthly ones stay.
  for (const char* day : {"UTC_DATE()", "UTC_DATE() - INTERVAL 8 DAY"})
    for (const char* period : {"d", "m"})
      db_.execute(std::string("INSERT INTO tenant_usage (tenant_id, period, period_start, slot, messages) VALUES (") +
                  b + ", '" + period + "', " + day + ", 0, 1)");

  gw_ = std::make_unique<GatewayUnderTest>(db_, sections(kMock, R"yaml(
jobs:
  poll: 200ms
  status_refresh: {enabled: false}
  retry_sweep: {enabled: false}
  retention: {every: 1h, days: 90, batch: 1000}
  provider_health: {enabled: false}
)yaml"));
  gw_->start();
  ASSERT_TRUE(eventually([&] { return db_.scalar("SELECT last_finished_at FROM jobs WHERE name = 'retention'") != ""; }, 30s))
      << gw_->log();
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages WHERE tenant_id = " + a), "5");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages WHERE tenant_id = " + b), "3");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM message_events"), "8");
  EXPECT_NE(db_.scalar("SELECT last_result FROM jobs WHERE name = 'retention'").find("2504 messages"), std::string::npos);
  EXPECT_EQ(db_.scalar("SELECT GROUP_CONCAT(DATEDIFF(UTC_TIMESTAMP(), at) ORDER BY at) FROM audit_log WHERE tenant_id = " +
                       b + " AND subject = 'x'"),
            "364,31");
  EXPECT_EQ(db_.scalar("SELECT GROUP_CONCAT(DATEDIFF(UTC_TIMESTAMP(), at)) FROM audit_log WHERE tenant_id = 0 AND "
                       "subject = 'x'"),
            "200");
  EXPECT_EQ(db_.scalar("SELECT GROUP_CONCAT(period, DATEDIFF(UTC_DATE(), period_start) ORDER BY period, period_start) "
                       "FROM tenant_usage WHERE tenant_id = " + b),
            "d0,m8,m0");
}

// Two gateway nodes on one database, a job due every second: each
// scheduled run happens exactly once, on one node. Every claim of a run (the
// update that moves jobs.next_run_at past it) is recorded by a trigger with
// the slot it claimed and the node; each node's log shows each run it made.
// The two agree: no slot is claimed twice, and no node runs the job without
// its claim.
TEST_F(FeaturesE2E, TwoNodesNeverRunTheSameJobRunTwice) {
  const std::string jobs = R"yaml(
jobs:
  poll: 100ms
  status_refresh: {enabled: false}
  retry_sweep: {enabled: false}
  retention: {every: 1s}
  provider_health: {enabled: false}
)yaml";
  auto node = [&](const std::string& id) {
    std::string s = sections(kMock, jobs);
    const std::string dispatch = "dispatch: {poll_interval: 50ms, lease: 30s}";
    s.replace(s.find(dispatch), dispatch.size(), "dispatch: {poll_interval: 50ms, lease: 30s, node_id: " + id + "}");
    return s;
  };
  GatewayUnderTest a(db_, node("node-a"));
  GatewayUnderTest b(db_, node("node-b"));
  // The schema first (a command migrates it), then the record of claims,
  // then the nodes.
  ASSERT_FALSE(a.create_api_key("clinic-a").empty());
  db_.execute("CREATE TABLE job_claims (seq INT AUTO_INCREMENT PRIMARY KEY, job VARCHAR(64), slot DATETIME(6), "
              "next_slot DATETIME(6), node VARCHAR(64))");
  db_.execute("CREATE TRIGGER job_claims AFTER UPDATE ON jobs FOR EACH ROW INSERT INTO job_claims (job, slot, "
              "next_slot, node) SELECT NEW.name, OLD.next_run_at, NEW.next_run_at, NEW.last_node FROM DUAL "
              "WHERE NOT (NEW.last_started_at <=> OLD.last_started_at)");
  a.start();
  b.start();
  auto claims = [&](const std::string& where) {
    return std::stol(db_.scalar("SELECT COUNT(*) FROM job_claims WHERE job = 'retention'" + where));
  };
  ASSERT_TRUE(eventually([&] { return claims("") >= 8; }, 30s)) << a.log() << b.log();
  // Stopped, each node has logged every run it claimed.
  EXPECT_EQ(a.terminate(), std::optional<int>(0));
  EXPECT_EQ(b.terminate(), std::optional<int>(0));
  auto runs = [](const std::string& log) {
    std::regex re("jobs: retention: ");
    return static_cast<long>(std::distance(std::sregex_iterator(log.begin(), log.end(), re), std::sregex_iterator()));
  };
  const long total = claims("");
  EXPECT_EQ(db_.scalar("SELECT COUNT(DISTINCT slot) FROM job_claims WHERE job = 'retention'"), std::to_string(total))
      << "a slot was claimed twice: "
      << db_.scalar("SELECT GROUP_CONCAT(slot, ' ', node ORDER BY seq SEPARATOR '; ') FROM job_claims");
  EXPECT_EQ(runs(a.log()), claims(" AND node = 'node-a'"));
  EXPECT_EQ(runs(b.log()), claims(" AND node = 'node-b'"));
  EXPECT_EQ(runs(a.log()) + runs(b.log()), total);
}

TEST_F(FeaturesE2E, ProviderHealthIsCheckedAndShown) {
  start(sections(R"yaml(
providers:
  ok-sms:
    plugin: mock
    config: {channel: sms, health: degraded, webhook_secret: "hush-123"}
  down-whatsapp:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: whatsapp, health: unhealthy}
routing:
  sms: {provider: ok-sms}
  whatsapp: {provider: down-whatsapp}
)yaml",
                 R"yaml(
jobs:
  poll: 200ms
  status_refresh: {enabled: false}
  retry_sweep: {enabled: false}
  retention: {enabled: false}
  provider_health: {every: 1h}
)yaml"));
  ASSERT_TRUE(eventually([&] { return db_.scalar("SELECT COUNT(*) FROM provider_health") == "2"; }, 20s));
  auto tenant_view = call("GET", "/v1/providers", nullptr, 200);
  EXPECT_EQ(tenant_view["channels"]["sms"]["instances"][0],
            (json{{"name", "ok-sms"}, {"role", "primary"}, {"health", "degraded"}}));
  EXPECT_EQ(tenant_view["channels"]["whatsapp"]["status"], "down");
  EXPECT_FALSE(tenant_view.contains("plugins"));
  EXPECT_EQ(tenant_view.dump().find("hush-123"), std::string::npos);
  const std::string op = gw_->create_operator_key();
  auto p = gw_->json("GET", "/v1/admin/providers", nullptr, op);
  std::set<std::string> plugins;
  for (const auto& pl : p["plugins"]) plugins.insert(pl["name"]);
  EXPECT_TRUE(plugins.count("mock"));
  std::map<std::string, json> by_name;
  for (const auto& i : p["instances"]) by_name[i["name"]] = i;
  EXPECT_EQ(by_name["ok-sms"]["health"]["state"], "degraded");
  EXPECT_EQ(by_name["down-whatsapp"]["health"]["state"], "unhealthy");
  EXPECT_EQ(by_name["ok-sms"]["config"]["webhook_secret"], "[redacted]");
  EXPECT_EQ(p["routing"]["sms"]["provider"], "ok-sms");
  // WhatsApp has no usable instance: not ready.
  auto ready = gw_->request("GET", "/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(json::parse(ready.body)["checks"]["channels"]["whatsapp"]["status"], "down");
  EXPECT_EQ(json::parse(ready.body)["checks"]["channels"]["sms"]["status"], "ok");
  EXPECT_EQ(gw_->log().find("hush-123"), std::string::npos);
}

TEST_F(FeaturesE2E, MetricsCountWhatHappened) {
  start();
  const std::string id = send({{"to", "+966501234567"}, {"body", "x"}});
  gw_->wait_for_status(key_, id, "delivered");
  auto m = gw_->request("GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("barid_intake_stored_total 1\n"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("barid_dispatch_sent_total 1\n"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("barid_provider_http_requests_total{instance=\"mock-sms\"}"), std::string::npos);
}

TEST_F(FeaturesE2E, ListMessagesFiltersAndPages) {
  start();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(send({{"to", "+96650123456" + std::to_string(i)}, {"body", "x"}}));
  send({{"to", "+966501110000"}, {"body", "x"}});  // fails
  auto page1 = call("GET", "/v1/messages?limit=3", nullptr, 200);
  ASSERT_EQ(page1["messages"].size(), 3u);
  auto page2 = call("GET", "/v1/messages?limit=3&after=" + page1["next"].get<std::string>(), nullptr, 200);
  ASSERT_EQ(page2["messages"].size(), 3u);
  std::set<std::string> seen;
  for (const auto& m : page1["messages"]) seen.insert(m["id"]);
  for (const auto& m : page2["messages"]) seen.insert(m["id"]);
  EXPECT_EQ(seen.size(), 6u);
  auto by_to = call("GET", "/v1/messages?to=0501234562", nullptr, 200);
  ASSERT_EQ(by_to["messages"].size(), 1u);
  EXPECT_EQ(by_to["messages"][0]["id"], ids[2]);
  call("GET", "/v1/messages?status=bogus", nullptr, 422);
}

TEST_F(FeaturesE2E, AuditListsRefuseTheLimitsTheMessageListRefuses) {
  start();
  call("PUT", "/v1/settings", {{"default_language", "ar"}}, 200);
  call("PUT", "/v1/settings", {{"default_language", "en"}}, 200);
  const std::string op = gw_->create_operator_key();
  for (const std::string list : {"/v1/messages", "/v1/audit", "/v1/admin/audit"}) {
    const std::string key = list == "/v1/admin/audit" ? op : key_;
    for (const std::string limit : {"0", "-1", "5000", "1001", "abc", "99999999999999999999"}) {
      long status = 0;
      const json problem = gw_->json("GET", list + "?limit=" + limit, nullptr, key, &status);
      EXPECT_EQ(status, 422) << list << " limit=" << limit;
      EXPECT_EQ(problem["field"], "limit") << list << " limit=" << limit;
    }
    for (const std::string limit : {"1", "1000"}) {
      long status = 0;
      gw_->json("GET", list + "?limit=" + limit, nullptr, key, &status);
      EXPECT_EQ(status, 200) << list << " limit=" << limit;
    }
  }
  for (const std::string list : {"/v1/audit", "/v1/admin/audit"}) {
    const std::string key = list == "/v1/admin/audit" ? op : key_;
    for (const std::string before : {"abc", "-3", "0", "1.5"}) {
      long status = 0;
      const json problem = gw_->json("GET", list + "?before=" + before, nullptr, key, &status);
      EXPECT_EQ(status, 422) << list << " before=" << before;
      EXPECT_EQ(problem["field"], "before") << list << " before=" << before;
    }
  }
  // A valid page still pages: the newest entry, then the one before it.
  const json first = call("GET", "/v1/audit?limit=1", nullptr, 200)["entries"];
  ASSERT_EQ(first.size(), 1u);
  const json second =
      call("GET", "/v1/audit?limit=1&before=" + std::to_string(first[0]["id"].get<std::int64_t>()), nullptr, 200)["entries"];
  ASSERT_EQ(second.size(), 1u);
  EXPECT_LT(second[0]["id"].get<std::int64_t>(), first[0]["id"].get<std::int64_t>());
}

}  // namespace
}  // namespace barid::testing
