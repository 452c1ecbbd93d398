#include "unifonic/unifonic_api.hpp"

#include "support/decimal_money.hpp"

namespace barid::plugins::unifonic {
namespace {

std::string lower(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  return out;
}

}  // namespace

std::string json_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_unsigned()) return std::to_string(v.get<unsigned long long>());
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  if (v.is_number_float()) {
    // A 14-digit id that went through a float: print it without exponent.
    const double d = v.get<double>();
    if (d >= 0 && d < 9.0e15 && d == static_cast<double>(static_cast<long long>(d)))
      return std::to_string(static_cast<long long>(d));
  }
  return {};
}

const nlohmann::json* find_member(const nlohmann::json& object, std::initializer_list<std::string_view> names) {
  if (!object.is_object()) return nullptr;
  for (auto name : names)
    for (auto it = object.begin(); it != object.end(); ++it)
      if (sdk::iequals(it.key(), name) && !it.value().is_null()) return &it.value();
  return nullptr;
}

Envelope parse_envelope(std::string_view body) {
  Envelope e;
  auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return e;
  e.parsed = true;
  if (const auto* s = find_member(doc, {"success"})) {
    if (s->is_boolean()) e.success = s->get<bool>();
    else if (s->is_string()) e.success = lower(s->get<std::string>()) == "true";
  }
  if (const auto* c = find_member(doc, {"errorCode"})) e.error_code = json_text(*c);
  if (const auto* m = find_member(doc, {"message"})) e.message = json_text(*m);
  if (const auto* d = find_member(doc, {"data"})) e.data = *d;
  return e;
}

ErrorCodeInfo classify_error_code(std::string_view code) {
  using sdk::Outcome;
  // ER-01 is the account's (no credit, or no price for the destination):
  // retried so that a top-up or a fallback provider can still deliver it.
  if (code == "ER-01") return {Outcome::retry, "no rate found or insufficient funds", true};
  if (code == "ER-02") return {Outcome::permanent, "invalid destination number", false};
  if (code == "ER-03") return {Outcome::permanent, "destination number too long", false};
  if (code == "ER-04") return {Outcome::permanent, "destination number too short", false};
  if (code == "ER-05") return {Outcome::permanent, "no route to the destination number", false};
  if (code == "ER-06") return {Outcome::permanent, "invalid or empty message body", false};
  if (code == "ER-07") return {Outcome::permanent, "message filtered by Unifonic or the operator", false};
  if (code == "ER-08") return {Outcome::permanent, "invalid or unregistered SenderID", true};
  if (code == "ER-09") return {Outcome::permanent, "duplicate message (same text to the same recipient recently)", false};
  return {Outcome::permanent, "", false};
}

std::string_view http_status_text(int status) {
  switch (status) {
    case 400: return "no rules matched";
    case 401: return "authentication failed (check app_sid)";
    case 402: return "missing parameter AppSid";
    case 403: return "invalid IP address";
    case 404: return "incompatible API version";
    case 406: return "wrong parameter format";
    case 409: return "duplicate message";
    case 410: return "invalid recipient format";
    case 412: return "message body is too long";
    case 421: return "no message body specified";
    case 422: return "no recipient specified";
    case 429: return "too many requests";
    case 440: return "wrong sender format";
    case 449: return "message body is empty";
    case 456: return "wrong CorrelationID format";
    case 459: return "authentication parameters are incorrectly base64 encoded";
    case 480: return "this account cannot use the SenderID";
    case 481: return "country does not exist";
    case 482: return "invalid destination number";
    case 483: return "operator not found";
    case 599: return "request failed";
    default: return "";
  }
}

std::optional<sdk::MessageStatus> map_status(std::string_view word) {
  using sdk::MessageStatus;
  const std::string w = lower(word);
  if (w == "delivered") return MessageStatus::delivered;
  if (w == "undelivered" || w == "undeliverable" || w == "expired" || w == "deleted") return MessageStatus::undelivered;
  if (w == "rejected" || w == "failed" || w == "not sent") return MessageStatus::failed;
  if (w == "sent" || w == "queued" || w == "enroute" || w == "accepted" || w == "pending" || w == "scheduled")
    return MessageStatus::sent;
  return std::nullopt;
}

std::optional<sdk::Money> parse_cost(const nlohmann::json* cost, const nlohmann::json* currency) {
  if (!cost || !currency || !currency->is_string() || currency->get<std::string>().empty()) return std::nullopt;
  std::optional<std::int64_t> micros;
  if (cost->is_number()) micros = support::micros_from_double(cost->get<double>());
  else if (cost->is_string()) micros = support::parse_decimal_micros(cost->get<std::string>());
  if (!micros) return std::nullopt;
  std::string cur = currency->get<std::string>();
  for (auto& c : cur) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return sdk::Money{*micros < 0 ? -*micros : *micros, cur};
}

std::string recipient_digits(std::string_view n) {
  if (!n.empty() && n.front() == '+') n.remove_prefix(1);
  else if (n.size() > 2 && n.substr(0, 2) == "00") n.remove_prefix(2);
  if (n.size() < 6 || n.size() > 15) return {};
  for (char c : n)
    if (c < '0' || c > '9') return {};
  return std::string(n);
}

}  // namespace barid::plugins::unifonic
