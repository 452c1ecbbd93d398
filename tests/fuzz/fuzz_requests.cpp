// The REST API's JSON request bodies on arbitrary bytes: every reader (send,
// bulk, template, settings, preferences, a tenant's rules, a new tenant, a
// new key, a webhook endpoint) either reads the request or
// refuses it as invalid input naming what is wrong, never a crash; a send it
// reads then goes through the intake's validation as the route does.
#include "request_readers.hpp"

#include <barid/core/intake.hpp>
#include <barid/core/tenant_policy.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

namespace {

using barid::core::ErrorKind;

template <typename T>
void expect_invalid_or_read(const barid::core::Result<T>& r) {
  if (!r.ok() && (r.error().kind != ErrorKind::invalid || r.error().message.empty())) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto body = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;
  using namespace barid;

  auto send = gateway::read_send_request(body);
  expect_invalid_or_read(send);
  if (send) {
    static const core::MessageIntake intake(core::PhoneNormalizer("SA"), core::IntakeLimits{}, 3);
    const std::set<sdk::Channel> routable{sdk::Channel::sms, sdk::Channel::whatsapp};
    expect_invalid_or_read(intake.prepare(*send, 1, core::Actor{"key:fuzz", "127.0.0.1", "fuzz"}, routable));
  }
  expect_invalid_or_read(gateway::read_bulk_request(body));
  expect_invalid_or_read(gateway::read_template(body, "appointment_reminder"));
  expect_invalid_or_read(gateway::read_settings(body, 365));
  expect_invalid_or_read(core::policy_from_json(body));
  static const core::PhoneNormalizer phones("SA");
  expect_invalid_or_read(gateway::read_preferences(body, phones));
  expect_invalid_or_read(gateway::read_new_tenant(body));
  expect_invalid_or_read(gateway::read_new_key(body));
  static const core::WebhookHostRules hosts{{"127.0.0.1:8080"}, {"localhost"}};
  expect_invalid_or_read(gateway::read_webhook(body, true, hosts));
  expect_invalid_or_read(gateway::read_webhook(body, false, hosts));
  return 0;
}
