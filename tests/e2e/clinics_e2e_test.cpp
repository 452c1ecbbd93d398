// End to end, clinics that share a gateway cannot act for one another
// through what patients write back: clinic A has a provider instance of its
// own (whose webhook secret it knows), clinics B and C share the gateway's.
// A STOP or START through an instance speaks for the clinics it serves; a
// reply goes to a clinic whose message the provider accepted. The real
// binary, the real mock plugin, a real MariaDB.

#include "gateway_harness.hpp"

#include <barid/sdk/encoding.hpp>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <csignal>
#include <string>

namespace barid::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string kClinicASecret = "clinic-a-webhook-secret";

std::string sections(const std::string& shared_config = "") {
  return R"yaml(
providers:
  shared-sms:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, delivered_after_ms: "50", from: "+15550001")yaml" +
         shared_config + R"yaml(}
  clinic-a-sms:
    plugin: mock
    config: {channel: sms, delivered_after_ms: "50", webhook_secret: ")yaml" +
         kClinicASecret + R"yaml("}
routing:
  sms: {provider: shared-sms}
retry: {max_attempts: 1, initial_backoff: 50ms, max_backoff: 200ms, jitter: 0}
dispatch: {poll_interval: 50ms, lease: 30s}
messaging: {default_region: SA}
)yaml" + std::string(kJobsOff);
}

// The mock's X-Mock-Signature: hex HMAC-SHA256 of the body.
std::string mock_signature(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  return sdk::hex_encode(std::string(reinterpret_cast<const char*>(mac), len));
}

class ClinicsE2E : public ::testing::Test {
 protected:
  void SetUp() override { start(sections()); }
  void start(const std::string& yaml) {
    gw_ = std::make_unique<GatewayUnderTest>(db_, yaml);
    gw_->start();
    key_a_ = gw_->create_api_key("clinic-a");
    key_b_ = gw_->create_api_key("clinic-b");
    key_c_ = gw_->create_api_key("clinic-c");
    op_ = gw_->create_operator_key();
    long status = 0;
    auto r = gw_->json("PUT", "/v1/admin/tenants/clinic-a", {{"routing", {{"sms", {{"provider", "clinic-a-sms"}}}}}},
                       op_, &status);
    ASSERT_EQ(status, 200) << r.dump();
  }
  // A send's answer: its status ("suppressed" when an opt-out applies).
  json send(const std::string& key, const std::string& to = kPatient, const json& extra = json::object()) {
    json body{{"to", to}, {"body", "Your appointment is tomorrow at 10:00"}};
    body.update(extra);
    long status = 0;
    auto r = gw_->json("POST", "/v1/messages", body, key, &status);
    EXPECT_EQ(status, 202) << r.dump();
    return r;
  }
  std::string status_of_send(const std::string& key) { return send(key)["status"].get<std::string>(); }
  // What the patient writes through an instance; through clinic A's, signed
  // with the secret clinic A knows (as clinic A could forge it).
  void inbound(const std::string& instance, const std::string& body, const std::string& id,
               const std::string& from = kPatient) {
    const std::string payload = json{{"from", from}, {"to", "+15550001"}, {"body", body}, {"id", id}}.dump();
    sdk::HttpHeaders headers;
    if (instance == "clinic-a-sms") headers.emplace_back("X-Mock-Signature", mock_signature(kClinicASecret, payload));
    auto r = gw_->request("POST", "/webhooks/" + instance + "/inbound", payload, "", headers);
    ASSERT_EQ(r.status, 200) << r.body;
  }

  static constexpr const char* kPatient = "+966501239001";
  TestDatabase db_;
  std::unique_ptr<GatewayUnderTest> gw_;
  std::string key_a_, key_b_, key_c_, op_;
};

// Clinic A signs a STOP for a patient through its own instance: it stops
// clinic A's messages to the patient and no other clinic's.
TEST_F(ClinicsE2E, AStopThroughAClinicsOwnInstanceLeavesTheOtherClinicsSendsAlone) {
  inbound("clinic-a-sms", "STOP", "a-stop-1");
  EXPECT_EQ(status_of_send(key_a_), "suppressed");
  const json b = send(key_b_);
  EXPECT_NE(b["status"], "suppressed") << b.dump();
  EXPECT_EQ(gw_->wait_for_status(key_b_, b["id"], "delivered")["provider"]["instance"], "shared-sms");
  EXPECT_NE(status_of_send(key_c_), "suppressed");
  // Unsigned, it is not taken at all.
  auto unsigned_stop = gw_->request("POST", "/webhooks/clinic-a-sms/inbound",
                                    json{{"from", "+966501239002"}, {"body", "STOP"}}.dump());
  EXPECT_EQ(unsigned_stop.status, 403);
}

// A STOP through the shared instance stops every clinic that writes through
// it, and not the clinic routed to its own instance.
TEST_F(ClinicsE2E, AStopThroughTheSharedInstanceStopsTheClinicsRoutedThroughIt) {
  inbound("shared-sms", "STOP", "shared-stop-1");
  EXPECT_EQ(status_of_send(key_b_), "suppressed");
  EXPECT_EQ(status_of_send(key_c_), "suppressed");
  const json a = send(key_a_);
  EXPECT_NE(a["status"], "suppressed") << a.dump();
  EXPECT_EQ(gw_->wait_for_status(key_a_, a["id"], "delivered")["provider"]["instance"], "clinic-a-sms");
  // The preferences each clinic reads say the same as its sends.
  long status = 0;
  auto b_view = gw_->json("GET", std::string("/v1/recipients/") + kPatient + "/preferences", nullptr, key_b_, &status);
  ASSERT_EQ(status, 200) << b_view.dump();
  EXPECT_EQ(b_view["opt_outs"].size(), 1u) << b_view.dump();
  gw_->json("GET", std::string("/v1/recipients/") + kPatient + "/preferences", nullptr, key_a_, &status);
  EXPECT_EQ(status, 404);  // nothing holds for clinic A
}

// A START signed through clinic A's instance removes what came through it
// for clinic A, and neither the opt-out recorded through the shared instance
// nor the one clinic A's own API recorded.
TEST_F(ClinicsE2E, AStartThroughAClinicsOwnInstanceRemovesNoOtherOptOut) {
  inbound("shared-sms", "STOP", "shared-stop-1");
  inbound("clinic-a-sms", "STOP", "a-stop-1");
  const std::string other = "+966501239003";
  inbound("clinic-a-sms", "STOP", "a-stop-2", other);
  long status = 0;
  gw_->json("PUT", std::string("/v1/recipients/") + kPatient + "/preferences", {{"opted_out", true}}, key_a_, &status);
  ASSERT_EQ(status, 200);

  inbound("clinic-a-sms", "START", "a-start-1");
  inbound("clinic-a-sms", "START", "a-start-2", other);
  EXPECT_EQ(status_of_send(key_b_), "suppressed");  // the shared instance's opt-out stays
  EXPECT_EQ(status_of_send(key_c_), "suppressed");
  EXPECT_EQ(status_of_send(key_a_), "suppressed");  // the API's stays
  EXPECT_NE(send(key_a_, other)["status"], "suppressed");  // its own START removed its own STOP

  // The shared instance's START removes the shared instance's opt-out.
  inbound("shared-sms", "START", "shared-start-1");
  EXPECT_NE(status_of_send(key_b_), "suppressed");
  EXPECT_NE(status_of_send(key_c_), "suppressed");
  EXPECT_EQ(status_of_send(key_a_), "suppressed");
}

// A message the provider refused went nowhere: the patient's reply is not
// its clinic's. Clinic C's reminder went out through the shared instance;
// then clinic B's message to the same patient is refused there; the reply
// is clinic C's.
TEST_F(ClinicsE2E, AMessageTheProviderRefusedDoesNotTakeThePatientsReply) {
  const json c = send(key_c_);
  gw_->wait_for_status(key_c_, c["id"], "delivered");
  gw_->rewrite(sections(std::string(", fail_numbers: \"") + kPatient + "\""));
  gw_->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return gw_->log().find("configuration reloaded") != std::string::npos; }, 10s))
      << gw_->log();
  const json b = send(key_b_);
  EXPECT_EQ(gw_->wait_for_status(key_b_, b["id"], "failed")["status"], "failed");
  inbound("shared-sms", "Can I come at 11 instead?", "reply-1");
  auto theirs = gw_->json("GET", "/v1/inbound", nullptr, key_b_);
  EXPECT_TRUE(theirs["inbound"].empty()) << theirs.dump();
  auto mine = gw_->json("GET", "/v1/inbound", nullptr, key_c_);
  ASSERT_EQ(mine["inbound"].size(), 1u) << mine.dump();
}

// On the shared instance a clinic the operator gave no senders sends only
// from the instance's own; a send that names none is stored with it once
// sent, so the patient's reply to that number goes to that clinic even when
// another clinic, allowed a sender of its own, wrote to the patient later.
TEST_F(ClinicsE2E, OnTheSharedInstanceAClinicSendsFromItsSenderAndRepliesFindIt) {
  long status = 0;
  auto refused = gw_->json("POST", "/v1/messages", {{"to", kPatient}, {"body", "x"}, {"from", "+15550002"}}, key_b_,
                           &status);
  EXPECT_EQ(status, 422) << refused.dump();
  EXPECT_EQ(refused["field"], "from");
  EXPECT_NE(send(key_b_, kPatient, {{"from", "+15550001"}})["status"], "suppressed");  // the instance's own
  EXPECT_NE(send(key_a_, kPatient, {{"from", "CLINIC-A"}})["status"], "suppressed");   // its own instance: its own
  const json c = send(key_c_);
  EXPECT_EQ(gw_->wait_for_status(key_c_, c["id"], "delivered")["from"], "+15550001");

  auto allowed = gw_->json("PUT", "/v1/admin/tenants/clinic-b", {{"allowed_senders", {{"sms", {"+15550002"}}}}}, op_,
                           &status);
  ASSERT_EQ(status, 200) << allowed.dump();
  const json b = send(key_b_, kPatient, {{"from", "+15550002"}});
  gw_->wait_for_status(key_b_, b["id"], "delivered");
  inbound("shared-sms", "See you then", "reply-2");  // written to +15550001
  auto mine = gw_->json("GET", "/v1/inbound", nullptr, key_c_);
  EXPECT_EQ(mine["inbound"].size(), 1u) << mine.dump();
  EXPECT_TRUE(gw_->json("GET", "/v1/inbound", nullptr, key_b_)["inbound"].empty());
}

}  // namespace
}  // namespace barid::testing
