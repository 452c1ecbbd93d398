#include "twilio/twilio_client.hpp"

#include "support/decimal_money.hpp"
#include "support/retry_after.hpp"
#include "twilio/twilio_errors.hpp"

#include <charconv>

namespace barid::plugins::twilio {
namespace {

std::string json_text(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_integer()) return std::to_string(j.get<long long>());
  if (j.is_number_unsigned()) return std::to_string(j.get<unsigned long long>());
  return {};
}

std::string field(const nlohmann::json& obj, const char* name) {
  if (!obj.is_object()) return {};
  auto it = obj.find(name);
  return it == obj.end() ? std::string() : json_text(*it);
}

// The error code of a call that got no usable answer. "response-too-large"
// is the gateway's: the answer was longer than it reads
// (providers.<name>.http.max_response_bytes).
std::string_view transport_code(const sdk::HttpResponse& r) {
  if (r.error_message == "response-too-large") return "response-too-large";
  switch (r.error) {
    case sdk::TransportError::timeout: return "TIMEOUT";
    case sdk::TransportError::connect: return "CONNECT";
    case sdk::TransportError::tls: return "TLS";
    default: return "TRANSPORT";
  }
}

}  // namespace

TwilioClient::TwilioClient(std::string base_url, TwilioCredentials credentials, sdk::HostContext& host)
    : base_url_(std::move(base_url)), credentials_(std::move(credentials)), host_(host) {}

std::string TwilioClient::account_url() const {
  return base_url_ + "/2010-04-01/Accounts/" + sdk::url_encode(credentials_.account_sid);
}

TwilioReply TwilioClient::create_message(const sdk::FormFields& fields) {
  sdk::HttpRequest req;
  req.method = "POST";
  req.url = account_url() + "/Messages.json";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  req.body = sdk::form_encode(fields);
  return perform(std::move(req));
}

TwilioReply TwilioClient::fetch_message(const std::string& sid) {
  sdk::HttpRequest req;
  req.method = "GET";
  req.url = account_url() + "/Messages/" + sdk::url_encode(sid) + ".json";
  req.headers = {{"Accept", "application/json"}};
  return perform(std::move(req));
}

TwilioReply TwilioClient::fetch_account() {
  sdk::HttpRequest req;
  req.method = "GET";
  req.url = account_url() + ".json";
  req.headers = {{"Accept", "application/json"}};
  return perform(std::move(req));
}

TwilioReply TwilioClient::perform(sdk::HttpRequest request) {
  request.basic_auth = sdk::BasicAuth{credentials_.username, credentials_.password};
  const sdk::HttpResponse resp = host_.http().perform(request);

  TwilioReply r;
  r.http_status = resp.status;
  if (resp.transport_failed()) {
    // The request may or may not have reached Twilio; sending is
    // at-least-once, so it is tried again.
    r.outcome = sdk::Outcome::retry;
    r.error = {std::string(transport_code(resp)), "no answer from Twilio: " + resp.error_message};
    return r;
  }

  auto doc = nlohmann::json::parse(resp.body, nullptr, /*allow_exceptions=*/false);
  if (resp.status >= 200 && resp.status < 300) {
    if (doc.is_discarded() || !doc.is_object()) {
      r.outcome = sdk::Outcome::retry;
      r.error = {"UNREADABLE", "Twilio answered HTTP " + std::to_string(resp.status) + " without a JSON object"};
      return r;
    }
    r.outcome = sdk::Outcome::ok;
    r.body = std::move(doc);
    return r;
  }

  // Error body: {"code": 21211, "message": "...", "more_info": "...", "status": 400}
  const nlohmann::json err = (!doc.is_discarded() && doc.is_object()) ? doc : nlohmann::json::object();
  const std::string code = field(err, "code");
  r.error.code = code.empty() ? "HTTP-" + std::to_string(resp.status) : code;
  r.error.message = error_text(code, field(err, "message"));
  if (code.empty() && resp.status == 401) r.error.message = std::string(describe_error("20003")->title);

  if (resp.status == 401 || code == "20003") {
    r.outcome = sdk::Outcome::permanent;
    r.credentials_rejected = true;
  } else if (resp.status == 429 || code == "20429" || resp.status >= 500 || resp.status == 408) {
    r.outcome = sdk::Outcome::retry;
    r.retry_after = support::parse_retry_after(resp.header("Retry-After"), host_.now());
  } else {
    r.outcome = sdk::Outcome::permanent;
    if (auto info = describe_error(code)) r.recipient_opted_out = info->recipient_opted_out;
  }
  return r;
}

TwilioMessage parse_message(const nlohmann::json& body) {
  TwilioMessage m;
  m.sid = field(body, "sid");
  m.status = field(body, "status");
  const std::string segments = field(body, "num_segments");
  int n = 0;
  auto [p, ec] = std::from_chars(segments.data(), segments.data() + segments.size(), n);
  if (ec == std::errc() && p == segments.data() + segments.size() && n > 0) m.segments = n;
  if (body.is_object() && body.contains("price"))
    m.cost = parse_price(body["price"], body.contains("price_unit") ? body["price_unit"] : nlohmann::json());
  m.error_code = field(body, "error_code");
  m.error_message = field(body, "error_message");
  return m;
}

std::optional<sdk::MessageStatus> map_status(std::string_view s) {
  using sdk::MessageStatus;
  if (s == "queued" || s == "accepted" || s == "scheduled" || s == "sending" || s == "sent")
    return MessageStatus::sent;
  // partially_delivered (deprecated by Twilio): some segments or media
  // reached the handset. Final, and the recipient has the message.
  if (s == "delivered" || s == "partially_delivered") return MessageStatus::delivered;
  if (s == "read") return MessageStatus::read;
  if (s == "undelivered") return MessageStatus::undelivered;
  if (s == "failed" || s == "canceled") return MessageStatus::failed;
  return std::nullopt;
}

std::optional<sdk::Money> parse_price(const nlohmann::json& price, const nlohmann::json& unit) {
  if (!unit.is_string() || unit.get<std::string>().empty()) return std::nullopt;
  std::optional<std::int64_t> micros;
  if (price.is_string()) {
    micros = support::parse_decimal_micros(price.get<std::string>());
  } else if (price.is_number()) {
    micros = support::micros_from_double(price.get<double>());
  }
  if (!micros) return std::nullopt;
  std::string currency = unit.get<std::string>();
  for (auto& c : currency) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return sdk::Money{*micros < 0 ? -*micros : *micros, currency};
}

}  // namespace barid::plugins::twilio
