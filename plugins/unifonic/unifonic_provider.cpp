#include "unifonic/unifonic_provider.hpp"

#include "support/config_reader.hpp"
#include "support/retry_after.hpp"
#include "support/url_parts.hpp"

namespace barid::plugins::unifonic {
namespace {

using sdk::MessageStatus;
using sdk::Outcome;

constexpr const char* kSendPath = "/rest/SMS/messages";
constexpr const char* kDetailsPath = "/rest/SMS/Messages/GetMessagesDetails";

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

bool credentials_status(int status) { return status == 401 || status == 402 || status == 403 || status == 459; }

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

int json_int(const nlohmann::json* v) {
  if (!v) return 0;
  if (v->is_number_integer() || v->is_number_unsigned()) return static_cast<int>(v->get<long long>());
  if (v->is_number_float()) return static_cast<int>(v->get<double>());
  if (v->is_string()) {
    const std::string s = v->get<std::string>();
    if (all_digits(s) && s.size() < 6) return std::stoi(s);
  }
  return 0;
}

// The messages array of a GetMessagesDetails answer.
const nlohmann::json* details_messages(const nlohmann::json& data) {
  const auto* m = find_member(data, {"messages"});
  return m && m->is_array() ? m : nullptr;
}

// The status of one message of a details answer: the DLR when it says
// something, else the platform status.
std::optional<MessageStatus> status_of(const nlohmann::json& entry) {
  if (const auto* dlr = find_member(entry, {"DLR"}))
    if (auto s = map_status(json_text(*dlr))) return s;
  if (const auto* st = find_member(entry, {"Status"})) return map_status(json_text(*st));
  return std::nullopt;
}

// The reports of a DLR webhook body: a JSON object or array, a form, or
// (empty body) the query string.
std::vector<nlohmann::json> reports_of(const sdk::CallbackRequest& request, bool& malformed) {
  std::vector<nlohmann::json> out;
  std::string_view body = request.body;
  while (!body.empty() && (body.front() == ' ' || body.front() == '\n' || body.front() == '\r' || body.front() == '\t'))
    body.remove_prefix(1);
  if (!body.empty() && (body.front() == '{' || body.front() == '[')) {
    auto doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_discarded()) {
      malformed = true;
      return out;
    }
    if (doc.is_object()) out.push_back(std::move(doc));
    else
      for (auto& r : doc) out.push_back(std::move(r));
    return out;
  }
  const sdk::FormFields fields = body.empty() ? support::query_params(request.url) : sdk::form_decode(body);
  nlohmann::json obj = nlohmann::json::object();
  for (const auto& [k, v] : fields)
    if (k != "token" && !obj.contains(k)) obj[k] = v;
  if (!obj.empty()) out.push_back(std::move(obj));
  return out;
}

}  // namespace

std::vector<sdk::ConfigKey> config_keys() {
  return {
      {"app_sid", true, true, "", "the AppSid of the Unifonic application (the API credential)"},
      {"sender_id", false, false, "",
       "the registered SenderID messages go out from; empty: the account's default sender. A send's own from "
       "overrides it"},
      {"base_url", false, false, "https://el.cloud.unifonic.com", "the API's base URL (tests point it at a fake)"},
      {"webhook_secret", false, true, "",
       "when set (16+ characters of A-Z a-z 0-9 - _ . ~), delivery reports must carry it as ?token=<secret> or in "
       "the X-Webhook-Token header (Unifonic signs nothing), else 403; the gateway adds ?token= to the "
       "statusCallback URL it gives Unifonic. Without it the instance needs allow_unauthenticated_callbacks: true"},
      {"status_callback", false, false, "true",
       "true: every message passes the gateway's /webhooks/<instance>/status URL as statusCallback"},
  };
}

bool parse_settings(const sdk::ProviderConfig& config, UnifonicSettings& out, std::string& error) {
  support::ConfigReader in(config);
  out.app_sid = in.text("app_sid");
  if (out.app_sid.empty()) {
    in.fail("app_sid", "is required");
    error = in.error();
    return false;
  }
  out.sender_id = in.text("sender_id");
  out.webhook_secret = in.text("webhook_secret");
  if (!out.webhook_secret.empty()) {
    // It travels as ?token= in the statusCallback URL, which the gateway
    // rebuilds from decoded parts: keep it to characters a URL carries as-is.
    bool url_safe = true;
    for (char c : out.webhook_secret)
      url_safe = url_safe && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              c == '-' || c == '_' || c == '.' || c == '~');
    if (!url_safe || out.webhook_secret.size() < 16) {
      in.fail("webhook_secret", "must be at least 16 characters of A-Z a-z 0-9 - _ . ~ (it travels in a URL)");
      error = in.error();
      return false;
    }
  }
  if (!in.base_url("base_url", out.base_url) || !in.boolean("status_callback", out.status_callback)) {
    error = in.error();
    return false;
  }
  return true;
}

sdk::CreateResult create_provider(const sdk::ProviderConfig& config, sdk::HostContext& host) {
  UnifonicSettings settings;
  std::string error;
  if (!parse_settings(config, settings, error)) return sdk::CreateResult::fail(error);
  const bool unsigned_webhooks = settings.webhook_secret.empty();
  std::string sender = settings.sender_id;
  auto created = sdk::CreateResult::ok(std::make_unique<UnifonicProvider>(std::move(settings), host));
  created.default_sender = std::move(sender);
  // Unifonic signs no delivery report: the secret token in the URL is the
  // only proof of origin there is.
  if (unsigned_webhooks)
    created.unauthenticated_callbacks =
        "no webhook_secret is set and Unifonic signs no delivery report, so anyone who knows the webhook URL could "
        "move this instance's messages (set webhook_secret)";
  return created;
}

UnifonicProvider::UnifonicProvider(UnifonicSettings settings, sdk::HostContext& host)
    : settings_(std::move(settings)), host_(host) {}

void UnifonicProvider::set_account_problem(sdk::HealthState state, std::string detail) {
  std::lock_guard lock(mutex_);
  if (problem_state_ != state) host_.logger().error("account problem: " + detail);
  problem_state_ = state;
  problem_detail_ = std::move(detail);
}

void UnifonicProvider::clear_account_problem() {
  std::lock_guard lock(mutex_);
  problem_state_ = sdk::HealthState::healthy;
  problem_detail_.clear();
}

UnifonicProvider::Answer UnifonicProvider::post(const std::string& path, const sdk::FormFields& fields) {
  sdk::HttpRequest req;
  req.method = "POST";
  req.url = settings_.base_url + path;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  req.body = sdk::form_encode(fields);
  Answer a;
  a.http = host_.http().perform(req);
  if (!a.http.transport_failed()) a.envelope = parse_envelope(a.http.body);
  return a;
}

sdk::SendResult UnifonicProvider::send(const sdk::OutboundMessage& message) noexcept {
  return sdk::guard([&] { return do_send(message); },
                    [](std::string why) { return sdk::SendResult::transient({"INTERNAL", why}); });
}

sdk::HealthReport UnifonicProvider::account_health() {
  std::lock_guard lock(mutex_);
  if (problem_state_ == sdk::HealthState::healthy) return {sdk::HealthState::healthy, "Unifonic accepted a send"};
  return {problem_state_, problem_detail_};
}

// A send that finds an account problem (or clears one) tells the gateway at
// once (SendResult::health).
sdk::SendResult UnifonicProvider::do_send(const sdk::OutboundMessage& m) {
  const sdk::HealthState before = account_health().state;
  sdk::SendResult r = send_once(m);
  if (auto after = account_health(); after.state != before) r.health = std::move(after);
  return r;
}

sdk::SendResult UnifonicProvider::send_once(const sdk::OutboundMessage& m) {
  if (m.body.empty())
    return sdk::SendResult::rejected(
        {"EMPTY-BODY", m.provider_template.empty() ? "the message has no body"
                                                   : "unifonic-sms does not support provider templates"});
  const std::string recipient = recipient_digits(m.to);
  if (recipient.empty()) return sdk::SendResult::rejected({"INVALID-TO", "the recipient is not a phone number"});

  sdk::FormFields f{{"AppSid", settings_.app_sid}};
  const std::string sender = m.from.empty() ? settings_.sender_id : m.from;
  if (!sender.empty()) f.emplace_back("SenderID", sender);
  f.emplace_back("Recipient", recipient);
  f.emplace_back("Body", m.body);
  if (!m.id.empty()) f.emplace_back("CorrelationID", m.id);
  f.emplace_back("responseType", "JSON");
  if (settings_.status_callback && !m.status_callback_url.empty()) {
    std::string url = m.status_callback_url;
    if (!settings_.webhook_secret.empty()) url = support::with_query_param(url, "token", settings_.webhook_secret);
    f.emplace_back("statusCallback", url);
  }

  Answer a = post(kSendPath, f);
  const int st = a.http.status;
  if (a.http.transport_failed()) {
    host_.logger().warn("send of " + m.id + " will be retried: no answer (" + a.http.error_message + ")");
    return sdk::SendResult::transient({std::string(transport_code(a.http)),
                                       "no answer from Unifonic: " + a.http.error_message});
  }
  const std::string code = a.envelope.error_code;
  auto http_error = [&] {
    std::string text(http_status_text(st));
    if (!a.envelope.message.empty()) text = a.envelope.message;
    if (text.empty()) text = "Unifonic answered HTTP " + std::to_string(st);
    return sdk::ProviderError{code.empty() || code == "ER-00" ? "HTTP-" + std::to_string(st) : code, text};
  };
  if (credentials_status(st)) {
    auto e = http_error();
    set_account_problem(sdk::HealthState::unhealthy, "Unifonic rejects the credentials: HTTP " + std::to_string(st) +
                                                         " " + e.message);
    return sdk::SendResult::rejected(e);
  }
  if (st == 429 || st >= 500 || st == 408) {
    host_.logger().warn("send of " + m.id + " will be retried: HTTP " + std::to_string(st));
    return sdk::SendResult::transient(http_error(),
                                      support::parse_retry_after(a.http.header("Retry-After"), host_.now()));
  }
  if (st == 409 || code == "ER-09") return resolve_duplicate(m, http_error());

  if (st >= 200 && st < 300 && !a.envelope.parsed)
    return sdk::SendResult::transient({"UNREADABLE", "Unifonic answered HTTP " + std::to_string(st) +
                                                         " without a JSON object"});
  if (!(st >= 200 && st < 300) || !a.envelope.success) {
    if (code.empty() || code == "ER-00") {
      auto e = http_error();
      host_.logger().info("send of " + m.id + " refused: " + e.code + " " + e.message);
      return sdk::SendResult::rejected(e);
    }
    const ErrorCodeInfo info = classify_error_code(code);
    sdk::ProviderError e{code, !info.title.empty() ? std::string(info.title)
                               : !a.envelope.message.empty() ? a.envelope.message
                                                             : "Unifonic error " + code};
    if (info.account_problem) set_account_problem(sdk::HealthState::degraded, code + ": " + std::string(info.title));
    host_.logger().info("send of " + m.id + " refused: " + e.code + " " + e.message);
    if (info.outcome == Outcome::retry) return sdk::SendResult::transient(e);
    return sdk::SendResult::rejected(e);
  }

  clear_account_problem();
  const nlohmann::json& data = a.envelope.data;
  std::string id;
  if (const auto* v = find_member(data, {"MessageID"})) id = json_text(*v);
  if (id.empty()) host_.logger().warn("Unifonic accepted " + m.id + " but its answer carries no MessageID");
  std::optional<MessageStatus> status;
  if (const auto* v = find_member(data, {"Status"})) status = map_status(json_text(*v));
  if (status == MessageStatus::failed || status == MessageStatus::undelivered) {
    auto r = sdk::SendResult::rejected({"UNIFONIC-" + json_text(*find_member(data, {"Status"})),
                                        "Unifonic accepted the request but reports the message as " +
                                            json_text(*find_member(data, {"Status"}))});
    r.provider_message_id = id;
    return r;
  }
  auto r = sdk::SendResult::accepted(id, status.value_or(MessageStatus::sent));
  r.segments = json_int(find_member(data, {"NumberOfUnits"}));
  r.cost = parse_cost(find_member(data, {"Cost"}), find_member(data, {"CurrencyCode"}));
  return r;
}

// Unifonic refuses the same text to the same recipient sent shortly before
// (ER-09, HTTP 409). When that earlier message is this one (a repeat after a
// lost answer: its CorrelationID is our id) the send succeeded; otherwise
// it is a second, distinct message that Unifonic would not send.
sdk::SendResult UnifonicProvider::resolve_duplicate(const sdk::OutboundMessage& m, sdk::ProviderError duplicate) {
  duplicate.message = "duplicate: Unifonic refused the same text to the same recipient sent recently";
  if (m.id.empty()) return sdk::SendResult::rejected(duplicate);
  Answer a = post(kDetailsPath, {{"AppSid", settings_.app_sid}, {"CorrelationID", m.id}});
  if (a.http.transport_failed() || a.http.status == 429 || a.http.status >= 500)
    return sdk::SendResult::transient({duplicate.code, "duplicate reported and the lookup of our earlier send failed"});
  if (a.envelope.success) {
    if (const auto* messages = details_messages(a.envelope.data)) {
      for (const auto& entry : *messages) {
        const auto* corr = find_member(entry, {"CorrelationID"});
        const auto* id = find_member(entry, {"MessageID"});
        if (!corr || json_text(*corr) != m.id || !id) continue;
        host_.logger().info("send of " + m.id + " was a repeat of an accepted send (" + json_text(*id) + ")");
        clear_account_problem();
        auto r = sdk::SendResult::accepted(json_text(*id), status_of(entry).value_or(MessageStatus::sent));
        r.segments = json_int(find_member(entry, {"NumberOfUnits"}));
        const auto* currency = find_member(entry, {"CurrencyCode"});
        if (!currency) currency = find_member(a.envelope.data, {"CurrencyCode"});
        r.cost = parse_cost(find_member(entry, {"Cost"}), currency);
        return r;
      }
    }
  }
  return sdk::SendResult::rejected(duplicate);
}

sdk::StatusResult UnifonicProvider::fetch_status(const std::string& provider_message_id) noexcept {
  return sdk::guard([&] { return do_fetch_status(provider_message_id); },
                    [](std::string why) {
                      sdk::StatusResult r;
                      r.outcome = Outcome::retry;
                      r.error = {"INTERNAL", why};
                      return r;
                    });
}

sdk::StatusResult UnifonicProvider::do_fetch_status(const std::string& id) {
  sdk::StatusResult r;
  if (!all_digits(id)) {
    r.outcome = Outcome::permanent;
    r.error = {"INVALID-ID", "a Unifonic MessageID is numeric"};
    return r;
  }
  Answer a = post(kDetailsPath, {{"AppSid", settings_.app_sid}, {"MessageID", id}});
  const int st = a.http.status;
  if (a.http.transport_failed() || st == 429 || st >= 500) {
    r.outcome = Outcome::retry;
    r.error = {a.http.transport_failed() ? std::string(transport_code(a.http)) : "HTTP-" + std::to_string(st),
               a.http.transport_failed() ? "no answer from Unifonic: " + a.http.error_message
                                         : "Unifonic answered HTTP " + std::to_string(st)};
    if (st == 429 || st >= 500) r.retry_after = support::parse_retry_after(a.http.header("Retry-After"), host_.now());
    return r;
  }
  if (credentials_status(st)) set_account_problem(sdk::HealthState::unhealthy, "Unifonic rejects the credentials");
  if (!a.envelope.parsed || !a.envelope.success || st >= 300) {
    r.outcome = Outcome::permanent;
    const std::string code = a.envelope.error_code.empty() || a.envelope.error_code == "ER-00"
                                 ? "HTTP-" + std::to_string(st)
                                 : a.envelope.error_code;
    std::string text = a.envelope.message.empty() ? std::string(http_status_text(st)) : a.envelope.message;
    r.error = {code, text.empty() ? "the status query failed" : text};
    return r;
  }
  const auto* messages = details_messages(a.envelope.data);
  const nlohmann::json* entry = nullptr;
  if (messages)
    for (const auto& e : *messages) {
      const auto* mid = find_member(e, {"MessageID"});
      if (mid && json_text(*mid) == id) entry = &e;
    }
  if (!entry && messages && messages->size() == 1) entry = &(*messages)[0];
  if (!entry) return sdk::StatusResult::unknown_message({"NOT-FOUND", "Unifonic does not know message " + id});
  r.outcome = Outcome::ok;
  r.status = status_of(*entry).value_or(MessageStatus::sent);
  r.segments = json_int(find_member(*entry, {"NumberOfUnits"}));
  const auto* currency = find_member(*entry, {"CurrencyCode"});
  if (!currency) currency = find_member(a.envelope.data, {"CurrencyCode"});
  r.cost = parse_cost(find_member(*entry, {"Cost"}), currency);
  if (r.status == MessageStatus::undelivered || r.status == MessageStatus::failed) {
    const auto* dlr = find_member(*entry, {"DLR"});
    const std::string word = dlr ? json_text(*dlr) : json_text(*find_member(*entry, {"Status"}));
    r.error = {word, "Unifonic reports the message as " + word};
  }
  return r;
}

sdk::CallbackResult UnifonicProvider::parse_callback(const sdk::CallbackRequest& request) noexcept {
  return sdk::guard([&] { return do_parse_callback(request); },
                    [](std::string why) { return sdk::CallbackResult::malformed(why); });
}

sdk::CallbackResult UnifonicProvider::do_parse_callback(const sdk::CallbackRequest& request) {
  if (!settings_.webhook_secret.empty()) {
    std::string token = sdk::form_value(support::query_params(request.url), "token");
    if (token.empty()) token = request.header(kWebhookTokenHeader);
    if (token.empty()) return sdk::CallbackResult::forbidden("the webhook carries no token");
    if (!sdk::constant_time_equals(token, settings_.webhook_secret))
      return sdk::CallbackResult::forbidden("the webhook token does not match");
  }
  if (request.kind != "status")
    return sdk::CallbackResult::malformed("unknown webhook kind '" + request.kind +
                                          "' (unifonic-sms handles 'status' only)");
  bool bad_json = false;
  const auto reports = reports_of(request, bad_json);
  if (bad_json) return sdk::CallbackResult::malformed("the body is not valid JSON");
  if (reports.empty()) return sdk::CallbackResult::malformed("the delivery report is empty");

  auto result = sdk::CallbackResult::accept();
  for (const auto& r : reports) {
    if (!r.is_object()) return sdk::CallbackResult::malformed("a delivery report is not an object");
    const auto* id = find_member(r, {"MessageID", "MessageId", "message_id", "msgid"});
    const auto* corr = find_member(r, {"CorrelationID", "correlation_id"});
    const auto* word = find_member(r, {"DLR", "Status", "dlrStatus"});
    const std::string id_text = id ? json_text(*id) : std::string();
    const std::string corr_text = corr ? json_text(*corr) : std::string();
    if (id_text.empty() && corr_text.empty())
      return sdk::CallbackResult::malformed("a delivery report has neither MessageID nor CorrelationID");
    const std::string status_word = word ? json_text(*word) : std::string();
    if (status_word.empty()) return sdk::CallbackResult::malformed("a delivery report has no DLR or Status");
    const auto status = map_status(status_word);
    if (!status) {
      host_.logger().warn("ignored a delivery report with status '" + status_word + "' for " + id_text);
      continue;
    }
    sdk::StatusUpdate u;
    u.provider_message_id = id_text;
    u.message_id = corr_text;
    u.status = *status;
    if (*status == MessageStatus::undelivered || *status == MessageStatus::failed)
      u.error = {status_word, "Unifonic reports the message as " + status_word};
    result.status_updates.push_back(std::move(u));
  }
  return result;
}

sdk::HealthReport UnifonicProvider::check_health() noexcept {
  return sdk::guard([&] { return do_check_health(); },
                    [](std::string why) { return sdk::HealthReport{sdk::HealthState::degraded, why}; });
}

// A details query for one message proves the AppSid and the API: any
// answer but 401/402/403/459, 429 and 5xx counts as working.
sdk::HealthReport UnifonicProvider::do_check_health() {
  Answer a = post(kDetailsPath, {{"AppSid", settings_.app_sid}, {"Limit", "1"}});
  const int st = a.http.status;
  if (a.http.transport_failed()) return {sdk::HealthState::unhealthy, "Unifonic is unreachable: " + a.http.error_message};
  if (credentials_status(st)) {
    set_account_problem(sdk::HealthState::unhealthy, "Unifonic rejects the credentials: HTTP " + std::to_string(st));
    return {sdk::HealthState::unhealthy, "Unifonic rejects the credentials: HTTP " + std::to_string(st)};
  }
  if (st == 429 || st >= 500) return {sdk::HealthState::degraded, "Unifonic answers HTTP " + std::to_string(st)};
  std::lock_guard lock(mutex_);
  if (problem_state_ == sdk::HealthState::unhealthy) {
    // The credentials work again: what remains is a degraded note at most.
    problem_state_ = sdk::HealthState::healthy;
    problem_detail_.clear();
  }
  if (problem_state_ != sdk::HealthState::healthy) return {problem_state_, problem_detail_};
  return {sdk::HealthState::healthy, "Unifonic reachable"};
}

}  // namespace barid::plugins::unifonic
