#include "twilio/twilio_provider.hpp"

#include "support/config_reader.hpp"
#include "support/url_parts.hpp"
#include "twilio/twilio_errors.hpp"
#include "twilio/twilio_signature.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace barid::plugins::twilio {
namespace {

using sdk::MessageStatus;

constexpr std::string_view kWhatsAppPrefix = "whatsapp:";
constexpr std::string_view kEmptyTwiml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

bool is_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

// Twilio SIDs: a two-letter prefix and 32 hex digits.
bool is_sid(std::string_view s, std::string_view prefix) {
  return s.size() == 34 && s.substr(0, 2) == prefix && is_hex(s.substr(2));
}

bool is_safe_id(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
  return true;
}

std::string first_of(const sdk::FormFields& params, std::initializer_list<std::string_view> names) {
  for (auto name : names)
    for (const auto& [k, v] : params)
      if (k == name && !v.empty()) return v;
  return {};
}

sdk::FormFields params_of(const sdk::CallbackRequest& request) {
  // A bodySHA256 request carries JSON; anything else is a form.
  if (!sdk::form_value(support::query_params(request.url), "bodySHA256").empty()) {
    sdk::FormFields out;
    auto doc = nlohmann::json::parse(request.body, nullptr, false);
    if (!doc.is_discarded() && doc.is_object())
      for (const auto& [k, v] : doc.items()) {
        if (v.is_string()) out.emplace_back(k, v.get<std::string>());
        else if (v.is_number() || v.is_boolean()) out.emplace_back(k, v.dump());
      }
    return out;
  }
  return sdk::form_decode(request.body);
}

}  // namespace

std::vector<sdk::ConfigKey> config_keys(sdk::Channel channel) {
  const bool wa = channel == sdk::Channel::whatsapp;
  return {
      {"account_sid", true, false, "", "the Twilio Account SID (AC followed by 32 hex digits)"},
      {"auth_token", false, true, "",
       "the account's Auth Token: required while validate_signatures is true (Twilio signs webhooks with it "
       "whatever authenticated the API call); it also authenticates API calls when no API key is given"},
      {"api_key_sid", false, false, "",
       "an API key SID (SK followed by 32 hex digits) to authenticate API calls instead of the Auth Token"},
      {"api_key_secret", false, true, "", "the secret of api_key_sid; required with it"},
      {"from", false, false, "",
       wa ? "the WhatsApp sender number in E.164, e.g. +14155238886 (the whatsapp: prefix is added if missing); "
            "this or messaging_service_sid is required, and a send's own from overrides it"
          : "the sender: a Twilio number in E.164, a short code or an alphanumeric sender ID; this or "
            "messaging_service_sid is required, and a send's own from overrides it"},
      {"messaging_service_sid", false, false, "",
       "a Messaging Service SID (MG followed by 32 hex digits) that picks the sender; this or from is required "
       "(both are sent when both are set)"},
      {"base_url", false, false, "https://api.twilio.com", "the API's base URL (tests point it at a fake)"},
      {"status_callback", false, false, "true",
       "true: each message asks Twilio to post its delivery reports to the gateway's "
       "/webhooks/<instance>/status"},
      {"validate_signatures", false, false, "true",
       "true: webhooks whose X-Twilio-Signature does not verify are refused with 403; false (local experiments "
       "only) also needs allow_unauthenticated_callbacks: true on the instance"},
  };
}

bool parse_settings(const sdk::ProviderConfig& config, sdk::Channel channel, TwilioSettings& out,
                    std::string& error) {
  support::ConfigReader in(config);
  auto bad = [&](const std::string& key, const std::string& why) {
    in.fail(key, why);
    error = in.error();
    return false;
  };
  out.channel = channel;
  out.account_sid = in.text("account_sid");
  if (!is_sid(out.account_sid, "AC"))
    return bad("account_sid", "must be a Twilio Account SID: AC followed by 32 hex digits");
  out.auth_token = in.text("auth_token");
  out.api_key_sid = in.text("api_key_sid");
  out.api_key_secret = in.text("api_key_secret");
  if (!out.api_key_sid.empty() && !is_sid(out.api_key_sid, "SK"))
    return bad("api_key_sid", "must be an API key SID: SK followed by 32 hex digits");
  if (!out.api_key_sid.empty() && out.api_key_secret.empty())
    return bad("api_key_secret", "is required when api_key_sid is set");
  if (out.api_key_sid.empty() && !out.api_key_secret.empty())
    return bad("api_key_sid", "is required when api_key_secret is set");
  if (!in.boolean("validate_signatures", out.validate_signatures) ||
      !in.boolean("status_callback", out.status_callback)) {
    error = in.error();
    return false;
  }
  if (out.auth_token.empty() && out.api_key_sid.empty())
    return bad("auth_token", "is required (or an API key: api_key_sid and api_key_secret)");
  if (out.auth_token.empty() && out.validate_signatures)
    return bad("auth_token",
               "is required to verify X-Twilio-Signature on delivery-report and inbound webhooks while "
               "validate_signatures is true (an API key cannot verify them)");

  out.from = in.text("from");
  out.messaging_service_sid = in.text("messaging_service_sid");
  if (out.from.empty() && out.messaging_service_sid.empty())
    return bad("from", "or 'messaging_service_sid' is required");
  if (!out.messaging_service_sid.empty() && !is_sid(out.messaging_service_sid, "MG"))
    return bad("messaging_service_sid", "must be a Messaging Service SID: MG followed by 32 hex digits");
  if (channel == sdk::Channel::whatsapp && !out.from.empty() && out.from.rfind(kWhatsAppPrefix, 0) != 0)
    out.from = std::string(kWhatsAppPrefix) + out.from;
  if (!in.base_url("base_url", out.base_url)) {
    error = in.error();
    return false;
  }
  return true;
}

sdk::CreateResult create_provider(const sdk::ProviderConfig& config, sdk::HostContext& host, sdk::Channel channel) {
  TwilioSettings settings;
  std::string error;
  if (!parse_settings(config, channel, settings, error)) return sdk::CreateResult::fail(error);
  const bool unsigned_webhooks = !settings.validate_signatures;
  // As a send's `from` names it: a WhatsApp number without "whatsapp:".
  std::string sender = settings.from;
  if (sender.rfind(kWhatsAppPrefix, 0) == 0) sender.erase(0, kWhatsAppPrefix.size());
  auto created = sdk::CreateResult::ok(std::make_unique<TwilioProvider>(std::move(settings), host));
  // Without the signature check anyone who knows the webhook URL could move
  // this instance's messages and opt its patients out or in: the host asks
  // the operator's consent (allow_unauthenticated_callbacks).
  created.default_sender = std::move(sender);
  if (unsigned_webhooks)
    created.unauthenticated_callbacks =
        "validate_signatures is false, so webhooks are accepted without checking X-Twilio-Signature and anyone who "
        "knows the webhook URL could move this instance's messages (set validate_signatures: true)";
  return created;
}

namespace {
TwilioCredentials credentials_of(const TwilioSettings& s) {
  if (!s.api_key_sid.empty()) return {s.account_sid, s.api_key_sid, s.api_key_secret};
  return {s.account_sid, s.account_sid, s.auth_token};
}
}  // namespace

TwilioProvider::TwilioProvider(TwilioSettings settings, sdk::HostContext& host)
    : settings_(std::move(settings)), host_(host), client_(settings_.base_url, credentials_of(settings_), host) {}

std::string TwilioProvider::address(const std::string& number) const {
  if (settings_.channel != sdk::Channel::whatsapp || number.rfind(kWhatsAppPrefix, 0) == 0) return number;
  return std::string(kWhatsAppPrefix) + number;
}

std::string TwilioProvider::strip_channel_prefix(std::string a) const {
  if (settings_.channel == sdk::Channel::whatsapp && a.rfind(kWhatsAppPrefix, 0) == 0)
    a.erase(0, kWhatsAppPrefix.size());
  return a;
}

std::optional<sdk::HealthReport> TwilioProvider::note(const TwilioReply& reply, std::string_view what) {
  if (reply.credentials_rejected) {
    if (credentials_rejected_.exchange(true)) return std::nullopt;
    host_.logger().error(std::string(what) + ": Twilio rejected the credentials (HTTP 401, code " + reply.error.code +
                         ")");
    return sdk::HealthReport{sdk::HealthState::unhealthy, "Twilio rejects the credentials (" + reply.error.code + ")"};
  }
  // An answer Twilio gives only to an authenticated request proves the
  // credentials; a 429, a 5xx or no answer at all says nothing about them.
  if (reply.http_status == 0 || reply.outcome == sdk::Outcome::retry) return std::nullopt;
  if (!credentials_rejected_.exchange(false)) return std::nullopt;
  host_.logger().info(std::string(what) + ": Twilio accepts the credentials again");
  return sdk::HealthReport{sdk::HealthState::healthy, "Twilio accepts the credentials again"};
}

bool TwilioProvider::build_create_fields(const sdk::OutboundMessage& m, sdk::FormFields& f,
                                         sdk::ProviderError& error) const {
  if (m.to.empty()) {
    error = {"INVALID-TO", "the message has no recipient"};
    return false;
  }
  f.emplace_back("To", address(m.to));
  const std::string from = m.from.empty() ? settings_.from : address(m.from);
  if (!from.empty()) f.emplace_back("From", from);
  if (!settings_.messaging_service_sid.empty()) f.emplace_back("MessagingServiceSid", settings_.messaging_service_sid);

  if (!m.provider_template.empty()) {
    if (!is_sid(m.provider_template, "HX")) {
      error = {"INVALID-TEMPLATE",
               "provider_template must be a Twilio Content SID (HX followed by 32 hex digits)"};
      return false;
    }
    f.emplace_back("ContentSid", m.provider_template);
    if (!m.template_variables.empty()) {
      nlohmann::ordered_json vars = nlohmann::ordered_json::object();
      for (std::size_t i = 0; i < m.template_variables.size(); ++i)
        vars[std::to_string(i + 1)] = m.template_variables[i];
      f.emplace_back("ContentVariables", vars.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  } else if (!m.body.empty()) {
    f.emplace_back("Body", m.body);
  } else {
    error = {"EMPTY-BODY", "the message has neither a body nor a provider template"};
    return false;
  }

  if (settings_.status_callback && m.status_callback_url.empty() && !warned_no_callback_url_.exchange(true))
    host_.logger().warn("status_callback is on but the gateway gives no webhook URL: delivery reports will have "
                        "to come from polling");
  if (settings_.status_callback && !m.status_callback_url.empty()) {
    // mid= lets a report be matched before the provider id is stored. One
    // parameter only: the gateway rebuilds the query string it verifies.
    std::string url = m.status_callback_url;
    if (!m.id.empty()) url = support::with_query_param(std::move(url), "mid", m.id);
    f.emplace_back("StatusCallback", url);
  }
  // What is left of the message's validity: Twilio drops it from its queue
  // after that (error 30036) instead of sending it late. Twilio takes 1 to
  // 36000 seconds; a longer validity is left to Twilio's own default (36000).
  if (m.validity && m.validity->count() <= 36000)
    f.emplace_back("ValidityPeriod", std::to_string(std::max<long long>(1, m.validity->count())));
  return true;
}

sdk::SendResult TwilioProvider::send(const sdk::OutboundMessage& message) noexcept {
  return sdk::guard([&] { return do_send(message); },
                    [](std::string why) { return sdk::SendResult::transient({"INTERNAL", why}); });
}

sdk::SendResult TwilioProvider::do_send(const sdk::OutboundMessage& message) {
  sdk::FormFields fields;
  sdk::ProviderError invalid;
  if (!build_create_fields(message, fields, invalid)) return sdk::SendResult::rejected(invalid);

  const TwilioReply reply = client_.create_message(fields);
  const auto health = note(reply, "send");
  sdk::SendResult r = send_outcome(message, reply);
  r.health = health;
  return r;
}

sdk::SendResult TwilioProvider::send_outcome(const sdk::OutboundMessage& message, const TwilioReply& reply) {
  if (reply.outcome == sdk::Outcome::retry) {
    host_.logger().warn("send of " + message.id + " will be retried: " + reply.error.code + " " + reply.error.message);
    return sdk::SendResult::transient(reply.error, reply.retry_after);
  }
  if (reply.outcome == sdk::Outcome::permanent) {
    host_.logger().info("send of " + message.id + " refused: " + reply.error.code + " " + reply.error.message);
    return sdk::SendResult::rejected(reply.error, reply.recipient_opted_out);
  }

  const TwilioMessage sent = parse_message(reply.body);
  if (sent.sid.empty())
    host_.logger().warn("Twilio accepted " + message.id + " but its answer carries no sid");
  const auto status = map_status(sent.status).value_or(MessageStatus::sent);
  if (status == MessageStatus::failed || status == MessageStatus::undelivered) {
    auto r = sdk::SendResult::rejected(
        {sent.error_code.empty() ? "TWILIO-" + sent.status : sent.error_code,
         error_text(sent.error_code, sent.error_message)},
        describe_error(sent.error_code) && describe_error(sent.error_code)->recipient_opted_out);
    r.provider_message_id = sent.sid;
    return r;
  }
  auto r = sdk::SendResult::accepted(sent.sid, status);
  r.segments = sent.segments;
  r.cost = sent.cost;
  return r;
}

sdk::StatusResult TwilioProvider::fetch_status(const std::string& provider_message_id) noexcept {
  return sdk::guard([&] { return do_fetch_status(provider_message_id); },
                    [](std::string why) {
                      sdk::StatusResult r;
                      r.outcome = sdk::Outcome::retry;
                      r.error = {"INTERNAL", why};
                      return r;
                    });
}

sdk::StatusResult TwilioProvider::do_fetch_status(const std::string& sid) {
  sdk::StatusResult r;
  if (!is_safe_id(sid)) {
    r.outcome = sdk::Outcome::permanent;
    r.error = {"INVALID-SID", "not a Twilio message SID"};
    return r;
  }
  TwilioReply reply = client_.fetch_message(sid);
  note(reply, "fetch_status");
  // 404 (code 20404): the account has no message with this SID.
  if (reply.http_status == 404)
    return sdk::StatusResult::unknown_message(
        {reply.error.code.empty() ? "HTTP-404" : reply.error.code, "Twilio does not know message " + sid});
  if (reply.outcome != sdk::Outcome::ok) {
    r.outcome = reply.outcome;
    r.error = reply.error;
    r.retry_after = reply.retry_after;
    return r;
  }
  const TwilioMessage m = parse_message(reply.body);
  const auto status = map_status(m.status);
  if (!status) {
    r.outcome = sdk::Outcome::retry;
    r.error = {"UNKNOWN-STATUS", "Twilio reported status '" + m.status + "'"};
    return r;
  }
  r.outcome = sdk::Outcome::ok;
  r.status = *status;
  r.segments = m.segments;
  r.cost = m.cost;
  if (!m.error_code.empty()) r.error = {m.error_code, error_text(m.error_code, m.error_message)};
  return r;
}

sdk::CallbackResult TwilioProvider::parse_callback(const sdk::CallbackRequest& request) noexcept {
  return sdk::guard([&] { return do_parse_callback(request); },
                    [](std::string why) { return sdk::CallbackResult::malformed(why); });
}

sdk::CallbackResult TwilioProvider::do_parse_callback(const sdk::CallbackRequest& request) {
  if (settings_.validate_signatures) {
    const SignatureCheck check = verify_signature(host_.crypto(), settings_.auth_token, request);
    if (check != SignatureCheck::valid) return sdk::CallbackResult::forbidden(std::string(to_string(check)));
  }
  const sdk::FormFields params = params_of(request);
  const std::string account = sdk::form_value(params, "AccountSid");
  if (!account.empty() && account != settings_.account_sid)
    return sdk::CallbackResult::forbidden("the webhook names another Twilio account");

  if (request.kind == "status") return parse_status(params, request);
  if (request.kind == "inbound") return parse_inbound(params);
  return sdk::CallbackResult::malformed("unknown webhook kind '" + request.kind +
                                        "' (this plugin handles 'status' and 'inbound')");
}

sdk::CallbackResult TwilioProvider::parse_status(const sdk::FormFields& params, const sdk::CallbackRequest& request) {
  const std::string sid = first_of(params, {"MessageSid", "SmsSid"});
  const std::string word = first_of(params, {"MessageStatus", "SmsStatus"});
  if (sid.empty()) return sdk::CallbackResult::malformed("the delivery report has no MessageSid");
  if (word.empty()) return sdk::CallbackResult::malformed("the delivery report has no MessageStatus");

  auto result = sdk::CallbackResult::accept();
  auto status = map_status(word);
  if (sdk::iequals(sdk::form_value(params, "EventType"), "READ")) status = MessageStatus::read;
  if (!status) {
    // A word Twilio may add later: acknowledged so that Twilio does not
    // count it as a failure, and ignored.
    host_.logger().warn("ignored a delivery report with unknown MessageStatus '" + word + "' for " + sid);
    return result;
  }
  sdk::StatusUpdate u;
  u.provider_message_id = sid;
  u.message_id = sdk::form_value(support::query_params(request.url), "mid");
  u.status = *status;
  const std::string code = sdk::form_value(params, "ErrorCode");
  if (!code.empty() && code != "0") {
    std::string text = sdk::form_value(params, "ErrorMessage");
    if (text.empty()) text = sdk::form_value(params, "ChannelStatusMessage");
    u.error = {code, error_text(code, text)};
    // A transient cause lets the gateway's retry sweep send it again.
    if (auto info = describe_error(code)) u.retryable = info->transient;
  }
  result.status_updates.push_back(std::move(u));
  return result;
}

sdk::CallbackResult TwilioProvider::parse_inbound(const sdk::FormFields& params) {
  const std::string from = sdk::form_value(params, "From");
  if (from.empty()) return sdk::CallbackResult::malformed("the inbound message has no From");
  sdk::InboundMessage m;
  m.channel = settings_.channel;
  m.from = strip_channel_prefix(from);
  m.to = strip_channel_prefix(sdk::form_value(params, "To"));
  m.body = sdk::form_value(params, "Body");
  // A WhatsApp quick-reply button: its payload, and its text as the body
  // when Twilio sent no Body.
  m.button_payload = sdk::form_value(params, "ButtonPayload");
  if (m.body.empty()) m.body = sdk::form_value(params, "ButtonText");
  m.provider_message_id = first_of(params, {"MessageSid", "SmsMessageSid", "SmsSid"});
  auto result = sdk::CallbackResult::accept();
  result.inbound_messages.push_back(std::move(m));
  // An empty TwiML answer: acknowledged, and no automatic reply.
  result.response_body = std::string(kEmptyTwiml);
  result.response_content_type = "text/xml";
  return result;
}

sdk::HealthReport TwilioProvider::check_health() noexcept {
  return sdk::guard([&] { return do_check_health(); },
                    [](std::string why) { return sdk::HealthReport{sdk::HealthState::degraded, why}; });
}

sdk::HealthReport TwilioProvider::do_check_health() {
  TwilioReply reply = client_.fetch_account();
  note(reply, "check_health");
  if (reply.credentials_rejected)
    return {sdk::HealthState::unhealthy, "Twilio rejects the credentials (" + reply.error.code + ")"};
  if (reply.outcome == sdk::Outcome::retry) {
    // No verdict on the credentials from this call: the last one's stands.
    if (credentials_rejected_)
      return {sdk::HealthState::unhealthy, "Twilio rejected the credentials on the last call, and now answers " +
                                               (reply.http_status == 0 ? "nothing: " + reply.error.message
                                                                       : reply.error.code + ": " + reply.error.message)};
    if (reply.http_status == 0) return {sdk::HealthState::unhealthy, "Twilio is unreachable: " + reply.error.message};
    return {sdk::HealthState::degraded, "Twilio answers " + reply.error.code + ": " + reply.error.message};
  }
  if (reply.outcome == sdk::Outcome::permanent)
    return {sdk::HealthState::unhealthy, "Twilio refuses the account lookup: " + reply.error.code + " " +
                                             reply.error.message};
  const std::string status = reply.body.value("status", std::string());
  if (status == "suspended" || status == "closed")
    return {sdk::HealthState::unhealthy, "the Twilio account is " + status};
  return {sdk::HealthState::healthy, "Twilio account reachable" + (status.empty() ? "" : " (" + status + ")")};
}

}  // namespace barid::plugins::twilio
