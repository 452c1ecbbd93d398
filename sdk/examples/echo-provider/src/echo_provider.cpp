#include "echo_provider.hpp"

#include <charconv>

namespace echo {

namespace sdk = barid::sdk;
using std::chrono::milliseconds;

namespace {

bool parse_non_negative(const std::string& text, long long& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out >= 0;
}

// Retry-After in seconds (the HTTP-date form is not used by this API).
std::optional<milliseconds> retry_after(const sdk::HttpResponse& response) {
  long long seconds = 0;
  if (!parse_non_negative(response.header("Retry-After"), seconds)) return std::nullopt;
  return milliseconds(seconds * 1000);
}

std::optional<sdk::MessageStatus> status_from_api(const std::string& s) {
  if (s == "queued" || s == "sent") return sdk::MessageStatus::sent;
  if (s == "delivered") return sdk::MessageStatus::delivered;
  if (s == "undelivered") return sdk::MessageStatus::undelivered;
  if (s == "failed") return sdk::MessageStatus::failed;
  return std::nullopt;
}

// Never includes the body we sent or any secret: only what the API said.
sdk::ProviderError http_error(const sdk::HttpResponse& response) {
  if (response.transport_failed()) return {"TRANSPORT", response.error_message};
  std::string detail = sdk::form_value(sdk::form_decode(response.body), "error");
  if (detail.empty()) detail = "HTTP " + std::to_string(response.status);
  return {"HTTP-" + std::to_string(response.status), detail};
}

bool transient(const sdk::HttpResponse& response) {
  return response.transport_failed() || response.status == 429 || response.status >= 500;
}

}  // namespace

bool parse_settings(const sdk::ProviderConfig& config, EchoSettings& out, std::string& error) {
  out.base_url = config.get("base_url");
  if (out.base_url.rfind("https://", 0) != 0 && out.base_url.rfind("http://", 0) != 0) {
    error = "config key 'base_url' must start with https:// or http://";
    return false;
  }
  while (!out.base_url.empty() && out.base_url.back() == '/') out.base_url.pop_back();
  out.api_key = config.get("api_key");
  out.sender = config.get("sender");
  out.webhook_secret = config.get("webhook_secret");
  long long timeout = 0;
  if (!parse_non_negative(config.get("timeout_ms"), timeout) || timeout == 0) {
    error = "config key 'timeout_ms' must be a positive integer";
    return false;
  }
  out.timeout = milliseconds(timeout);
  return true;
}

EchoProvider::EchoProvider(EchoSettings settings, sdk::HostContext& host)
    : settings_(std::move(settings)), host_(host) {}

sdk::HttpRequest EchoProvider::request(std::string method, const std::string& path) const {
  sdk::HttpRequest r;
  r.method = std::move(method);
  r.url = settings_.base_url + path;
  r.headers = {{"Authorization", "Bearer " + settings_.api_key}, {"Accept", "application/x-www-form-urlencoded"}};
  r.timeout = settings_.timeout;
  return r;
}

// Every Provider method is noexcept: sdk::guard turns an exception that
// escapes the body (std::bad_alloc, a bug) into a result instead of
// terminating the gateway.
sdk::SendResult EchoProvider::send(const sdk::OutboundMessage& message) noexcept {
  return sdk::guard([&] { return do_send(message); },
                    [](std::string why) { return sdk::SendResult::transient({"ECHO-INTERNAL", why}); });
}

sdk::SendResult EchoProvider::do_send(const sdk::OutboundMessage& message) {
  if (message.channel != sdk::Channel::sms)
    return sdk::SendResult::rejected({"ECHO-CHANNEL", "the Echo API sends SMS only"});
  if (!message.provider_template.empty())
    return sdk::SendResult::rejected({"ECHO-TEMPLATE", "the Echo API has no provider templates"});

  sdk::HttpRequest r = request("POST", "/messages");
  r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  sdk::FormFields form = {{"to", message.to},
                          {"from", message.from.empty() ? settings_.sender : message.from},
                          {"body", message.body},
                          {"reference", message.id}};
  if (!message.status_callback_url.empty()) form.emplace_back("status_callback", message.status_callback_url);
  r.body = sdk::form_encode(form);

  const sdk::HttpResponse response = host_.http().perform(r);

  // The three outcomes. A timeout is "retry" although the API may have
  // accepted the message: the gateway's sends are at-least-once, and the
  // reference lets the API drop the duplicate.
  if (transient(response)) {
    host_.logger().warn("send to the Echo API failed transiently: " + http_error(response).message);
    return sdk::SendResult::transient(http_error(response), retry_after(response));
  }
  if (response.status == 401 || response.status == 403)
    return sdk::SendResult::rejected({"ECHO-AUTH", "the Echo API rejected the API key"});
  if (response.status == 410) return sdk::SendResult::rejected(http_error(response), /*opted_out=*/true);
  if (response.status < 200 || response.status >= 300) return sdk::SendResult::rejected(http_error(response));

  const sdk::FormFields answer = sdk::form_decode(response.body);
  const std::string id = sdk::form_value(answer, "id");
  if (id.empty()) return sdk::SendResult::transient({"ECHO-NO-ID", "the Echo API answered without a message id"});
  auto status = status_from_api(sdk::form_value(answer, "status"));
  auto result = sdk::SendResult::accepted(id, status.value_or(sdk::MessageStatus::sent));
  long long n = 0;
  if (parse_non_negative(sdk::form_value(answer, "segments"), n)) result.segments = static_cast<int>(n);
  if (parse_non_negative(sdk::form_value(answer, "price"), n))
    result.cost = sdk::Money{n, sdk::form_value(answer, "currency")};
  return result;
}

sdk::StatusResult EchoProvider::fetch_status(const std::string& provider_message_id) noexcept {
  return sdk::guard([&] { return do_fetch_status(provider_message_id); },
                    [](std::string why) {
                      sdk::StatusResult r;
                      r.outcome = sdk::Outcome::retry;
                      r.error = {"ECHO-INTERNAL", why};
                      return r;
                    });
}

sdk::StatusResult EchoProvider::do_fetch_status(const std::string& provider_message_id) {
  const sdk::HttpResponse response = host_.http().perform(request("GET", "/messages/" + sdk::url_encode(provider_message_id)));
  sdk::StatusResult r;
  if (transient(response)) {
    r.outcome = sdk::Outcome::retry;
    r.error = http_error(response);
    r.retry_after = retry_after(response);
    return r;
  }
  if (response.status != 200) {
    r.outcome = sdk::Outcome::permanent;
    r.error = http_error(response);
    return r;
  }
  const sdk::FormFields answer = sdk::form_decode(response.body);
  auto status = status_from_api(sdk::form_value(answer, "status"));
  if (!status) {
    r.outcome = sdk::Outcome::retry;
    r.error = {"ECHO-STATUS", "unknown status '" + sdk::form_value(answer, "status") + "'"};
    return r;
  }
  r.outcome = sdk::Outcome::ok;
  r.status = *status;
  r.error.message = sdk::form_value(answer, "error");
  return r;
}

sdk::CallbackResult EchoProvider::parse_callback(const sdk::CallbackRequest& request) noexcept {
  return sdk::guard([&] { return do_parse_callback(request); },
                    [](std::string why) { return sdk::CallbackResult::malformed(why); });
}

sdk::CallbackResult EchoProvider::do_parse_callback(const sdk::CallbackRequest& request) {
  // Authenticity first, over the raw body, in constant time.
  if (settings_.webhook_secret.empty())
    return sdk::CallbackResult::forbidden("no webhook_secret is configured for this instance");
  const std::string expected =
      sdk::hex_encode(host_.crypto().hmac_sha256(settings_.webhook_secret, request.body));
  if (!sdk::constant_time_equals(request.header("X-Echo-Signature"), expected))
    return sdk::CallbackResult::forbidden("X-Echo-Signature does not match");

  const sdk::FormFields form = sdk::form_decode(request.body);
  auto result = sdk::CallbackResult::accept();
  if (request.kind == "status") {
    sdk::StatusUpdate u;
    u.provider_message_id = sdk::form_value(form, "id");
    u.message_id = sdk::form_value(form, "reference");
    auto status = status_from_api(sdk::form_value(form, "status"));
    if (u.provider_message_id.empty() || !status)
      return sdk::CallbackResult::malformed("a delivery report needs 'id' and a known 'status'");
    u.status = *status;
    u.error.code = sdk::form_value(form, "error_code");
    result.status_updates.push_back(std::move(u));
    return result;
  }
  if (request.kind == "inbound") {
    sdk::InboundMessage m;
    m.from = sdk::form_value(form, "from");
    m.to = sdk::form_value(form, "to");
    m.body = sdk::form_value(form, "body");
    m.provider_message_id = sdk::form_value(form, "id");
    if (m.from.empty()) return sdk::CallbackResult::malformed("an inbound message needs 'from'");
    result.inbound_messages.push_back(std::move(m));
    return result;
  }
  return sdk::CallbackResult::malformed("unknown webhook kind '" + request.kind + "'");
}

sdk::HealthReport EchoProvider::check_health() noexcept {
  return sdk::guard(
      [&]() -> sdk::HealthReport {
        const sdk::HttpResponse response = host_.http().perform(request("GET", "/health"));
        if (response.status == 200) return {sdk::HealthState::healthy, "Echo API reachable"};
        if (response.status == 401 || response.status == 403)
          return {sdk::HealthState::unhealthy, "the Echo API rejected the API key"};
        if (response.status == 429) return {sdk::HealthState::degraded, "the Echo API is rate limiting"};
        return {sdk::HealthState::unhealthy, http_error(response).message};
      },
      [](std::string why) { return sdk::HealthReport{sdk::HealthState::unhealthy, why}; });
}

}  // namespace echo
