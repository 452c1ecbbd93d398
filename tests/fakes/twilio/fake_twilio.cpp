// barid-fake-twilio: a fake of Twilio's Programmable Messaging REST API
// (2010-04-01) for tests. It listens on 127.0.0.1 (port 0 unless --port),
// prints "listening on http://127.0.0.1:PORT", checks Basic auth, answers
// like Twilio (201 Message bodies, {code,message,more_info,status} errors),
// moves messages through a status progression and posts status callbacks to
// the StatusCallback URL signed with X-Twilio-Signature. Behaviour is
// scripted per recipient through rules (POST /_control/rules) and a few
// magic numbers; see tests/fakes/README.md.
//
//   barid-fake-twilio [--account-sid AC...] [--auth-token T]
//                     [--api-key-sid SK... --api-key-secret S] [--port N]

#include "fake_server.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <random>
#include <set>

namespace barid::fakes {
namespace {

using nlohmann::json;
using namespace std::chrono;

struct Options {
  std::string account_sid = "AC" + std::string(32, 'a');
  std::string auth_token = "fake-twilio-auth-token";
  std::string api_key_sid;
  std::string api_key_secret;
  std::uint16_t port = 0;
};

struct Message {
  std::string sid;
  std::string to, from, body, content_sid, content_variables, messaging_service_sid, status_callback;
  std::string status = "queued";
  int status_rank = -1;  // highest progression step applied so far
  int segments = 1;
  std::string price_per_segment = "-0.00750";
  bool priced = false;
  int error_code = 0;
  std::string date_created;
};

std::string rfc2822_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string raw_dlr_done_date() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%y%m%d%H%M", &tm);
  return buf;
}

bool is_hex(std::string_view s) {
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// Segments the way Twilio counts them, roughly: GSM-7 when every byte is
// ASCII (160 / 153 per part), else UCS-2 by UTF-16 units (70 / 67).
int count_segments(const std::string& body) {
  bool ascii = true;
  std::size_t units = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(body[i]);
    if (c >= 0x80) ascii = false;
    if ((c & 0xC0) != 0x80) units += (c >= 0xF0) ? 2 : 1;
  }
  if (ascii) return body.size() <= 160 ? 1 : static_cast<int>((body.size() + 152) / 153);
  return units <= 70 ? 1 : static_cast<int>((units + 66) / 67);
}

std::string format_price(const std::string& per_segment, int segments) {
  double v = std::strtod(per_segment.c_str(), nullptr) * segments;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.5f", v);
  return buf;
}

class FakeTwilio {
 public:
  explicit FakeTwilio(Options o) : opt_(std::move(o)) {
    std::random_device rd;
    prefix_ = (static_cast<std::uint64_t>(rd()) << 32) | rd();
  }

  FakeResponse handle(const FakeRequest& req) {
    if (req.path.rfind("/_control/", 0) == 0) return control(req);
    journal(req);
    const std::string base = "/2010-04-01/Accounts/";
    if (req.path.rfind(base, 0) != 0) return error(404, 20404, "The requested resource " + req.path + " was not found");
    if (!authorized(req)) return error(401, 20003, "Authenticate");
    std::string rest = req.path.substr(base.size());
    const auto slash = rest.find('/');
    const std::string account = rest.substr(0, slash == std::string::npos ? rest.find('.') : slash);
    if (account != opt_.account_sid)
      return error(404, 20404, "The requested resource " + req.path + " was not found");
    rest = slash == std::string::npos ? std::string() : rest.substr(slash);
    if (rest.empty() && req.method == "GET") return fetch_account();
    if (rest == "/Messages.json" && req.method == "POST") return create_message(req);
    if (rest.rfind("/Messages/", 0) == 0 && rest.size() > 15 && rest.compare(rest.size() - 5, 5, ".json") == 0 &&
        req.method == "GET")
      return fetch_message(rest.substr(10, rest.size() - 15));
    return error(404, 20404, "The requested resource " + req.path + " was not found");
  }

 private:
  static FakeResponse error(int http, int code, const std::string& message) {
    return FakeResponse::json(http, {{"code", code},
                                     {"message", message},
                                     {"more_info", "https://www.twilio.com/docs/errors/" + std::to_string(code)},
                                     {"status", http}});
  }

  void journal(const FakeRequest& req) {
    json entry = {{"method", req.method}, {"path", req.path}, {"query", fields_json(req.query)},
                  {"content_type", req.header("Content-Type")}, {"at_ms", now_ms()}};
    if (auto creds = basic_credentials(req)) entry["auth_user"] = creds->first;  // never the password
    if (req.header("Content-Type").find("application/x-www-form-urlencoded") != std::string::npos)
      entry["form"] = fields_json(parse_form(req.body));
    else if (!req.body.empty())
      entry["body"] = req.body;
    requests_.add(std::move(entry));
  }

  bool authorized(const FakeRequest& req) {
    auto creds = basic_credentials(req);
    if (!creds) return false;
    if (creds->first == opt_.account_sid && creds->second == opt_.auth_token) return true;
    return !opt_.api_key_sid.empty() && creds->first == opt_.api_key_sid && creds->second == opt_.api_key_secret;
  }

  // Twilio's magic test numbers (test credentials) and a few of the fake's own.
  static std::optional<json> magic_rule(const std::string& to) {
    static const std::map<std::string, json> table = {
        {"15005550001", {{"status", 400}, {"code", 21211}, {"message", "The 'To' number is not a valid phone number."}}},
        {"15005550002", {{"status", 400}, {"code", 21612}, {"message", "The 'To' phone number is not currently reachable via SMS."}}},
        {"15005550003", {{"status", 400}, {"code", 21408}, {"message", "Permission to send an SMS has not been enabled for the region indicated by the 'To' number."}}},
        {"15005550004", {{"status", 400}, {"code", 21610}, {"message", "Attempt to send to unsubscribed recipient"}}},
        {"15005550009", {{"status", 400}, {"code", 21614}, {"message", "'To' number is not a valid mobile number"}}},
        {"15005550429", {{"status", 429}, {"code", 20429}, {"message", "Too Many Requests"}}},
        {"15005550500", {{"status", 500}, {"code", 20500}, {"message", "Internal Server Error"}}},
    };
    auto it = table.find(phone_digits(to));
    if (it == table.end()) return std::nullopt;
    return it->second;
  }

  static FakeResponse rule_error(const json& rule) {
    const int http = rule.value("status", 400);
    FakeResponse r;
    if (rule.contains("raw_body")) {
      r.status = http;
      r.body = rule.value("raw_body", std::string());
      r.content_type = rule.value("content_type", std::string("text/html"));
    } else {
      const int default_code = http == 429 ? 20429 : http == 401 ? 20003 : http >= 500 ? 20500 : 21211;
      r = error(http, rule.value("code", default_code), rule.value("message", std::string("scripted error")));
    }
    if (rule.contains("retry_after")) r.headers.emplace_back("Retry-After", rule["retry_after"].is_string()
                                                                                ? rule["retry_after"].get<std::string>()
                                                                                : rule["retry_after"].dump());
    r.delay = milliseconds(rule.value("delay_ms", 0));
    return r;
  }

  json message_json(const Message& m) const {
    const std::string uri = "/2010-04-01/Accounts/" + opt_.account_sid + "/Messages/" + m.sid;
    return {{"account_sid", opt_.account_sid},
            {"api_version", "2010-04-01"},
            {"body", m.body},
            {"date_created", m.date_created},
            {"date_sent", m.status_rank >= 0 ? json(m.date_created) : json(nullptr)},
            {"date_updated", rfc2822_now()},
            {"direction", "outbound-api"},
            {"error_code", m.error_code ? json(m.error_code) : json(nullptr)},
            {"error_message", m.error_code ? json("scripted error " + std::to_string(m.error_code)) : json(nullptr)},
            {"from", m.from},
            {"messaging_service_sid", m.messaging_service_sid.empty() ? json(nullptr) : json(m.messaging_service_sid)},
            {"num_media", "0"},
            {"num_segments", std::to_string(m.segments)},
            {"price", m.priced ? json(format_price(m.price_per_segment, m.segments)) : json(nullptr)},
            {"price_unit", "USD"},
            {"sid", m.sid},
            {"status", m.status},
            {"subresource_uris", {{"media", uri + "/Media.json"}, {"feedback", uri + "/Feedback.json"}}},
            {"to", m.to},
            {"uri", uri + ".json"}};
  }

  FakeResponse create_message(const FakeRequest& req) {
    const Fields form = parse_form(req.body);
    const std::string to = field(form, "To"), from = field(form, "From"), body = field(form, "Body");
    const std::string service = field(form, "MessagingServiceSid"), content = field(form, "ContentSid");
    const std::string variables = field(form, "ContentVariables"), callback = field(form, "StatusCallback");
    if (to.empty()) return error(400, 21604, "A 'To' phone number is required.");
    if (from.empty() && service.empty()) return error(400, 21603, "A 'From' phone number is required.");
    if (body.empty() && content.empty() && !has_field(form, "MediaUrl"))
      return error(400, 21602, "Message body is required.");
    if (!service.empty() && (service.size() != 34 || service.rfind("MG", 0) != 0 || !is_hex(service.substr(2))))
      return error(400, 21701, "The Messaging Service Sid " + service + " is invalid.");
    if (!content.empty() && (content.size() != 34 || content.rfind("HX", 0) != 0 || !is_hex(content.substr(2))))
      return error(400, 21656, "The ContentSid is invalid.");
    if (!variables.empty()) {
      auto v = json::parse(variables, nullptr, false);
      if (v.is_discarded() || !v.is_object()) return error(400, 21656, "The ContentVariables Parameter is invalid.");
    }
    if (!from.empty() && (from.rfind("whatsapp:", 0) == 0) != (to.rfind("whatsapp:", 0) == 0))
      return error(400, 21910, "Invalid 'From' and 'To' pair. From and To should be of the same channel");
    if (!callback.empty() && callback.rfind("http://", 0) != 0 && callback.rfind("https://", 0) != 0)
      return error(400, 21609, "The StatusCallback URL " + callback + " is not a valid URL.");

    std::optional<json> rule = rules_.take("create", to, "create");
    if (!rule) rule = magic_rule(to);
    json r = rule.value_or(json::object());
    if (r.value("status", 201) >= 400) return rule_error(r);

    Message m;
    char sid[40];
    std::snprintf(sid, sizeof sid, "SM%016llx%016llx", static_cast<unsigned long long>(prefix_),
                  static_cast<unsigned long long>(next_id_.fetch_add(1)));
    m.sid = sid;
    m.to = to;
    m.from = from.empty() ? "+15005550006" : from;
    m.body = content.empty() ? body : "";
    m.content_sid = content;
    m.content_variables = variables;
    m.messaging_service_sid = service;
    m.status_callback = callback;
    m.date_created = rfc2822_now();
    m.segments = r.contains("num_segments") ? r.value("num_segments", 1) : content.empty() ? count_segments(body) : 1;
    if (r.contains("price")) m.price_per_segment = r.value("price", std::string("-0.00750"));
    m.status = r.value("initial_status", std::string(service.empty() || !from.empty() ? "queued" : "accepted"));
    json answer = message_json(m);
    {
      std::lock_guard lock(mutex_);
      messages_[m.sid] = m;
    }
    schedule_progression(m, r);
    FakeResponse resp = FakeResponse::json(201, answer);
    resp.delay = milliseconds(r.value("delay_ms", 0));
    return resp;
  }

  void schedule_progression(const Message& m, const json& rule) {
    std::vector<std::string> steps = {"sent", "delivered"};
    if (rule.contains("progression")) steps = rule["progression"].get<std::vector<std::string>>();
    const int gap = rule.value("callback_delay_ms", 20);
    const bool reversed = rule.value("order", std::string("in_order")) == "reversed";
    const std::string signature = rule.value("signature", std::string("valid"));
    const int error_code = rule.value("error_code", 0);
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const std::size_t slot = reversed ? steps.size() - 1 - i : i;
      OutgoingWebhook hook = status_webhook(m, steps[i], static_cast<int>(i), error_code, signature);
      poster_.schedule(std::move(hook), milliseconds(gap * static_cast<int>(slot + 1)));
    }
  }

  // A status callback for `status` (the rank-th step), applying the step to
  // the stored message when it is due.
  OutgoingWebhook status_webhook(const Message& m, const std::string& status, int rank, int error_code,
                                 const std::string& signature) {
    const bool failed = status == "failed" || status == "undelivered";
    Fields params = {{"AccountSid", opt_.account_sid}, {"ApiVersion", "2010-04-01"}, {"From", m.from},
                     {"MessageSid", m.sid},            {"MessageStatus", status},    {"SmsSid", m.sid},
                     {"SmsStatus", status},            {"To", m.to}};
    if (!m.messaging_service_sid.empty()) params.emplace_back("MessagingServiceSid", m.messaging_service_sid);
    if (failed) params.emplace_back("ErrorCode", std::to_string(error_code ? error_code : 30003));
    if (m.from.rfind("whatsapp:", 0) == 0) {
      params.emplace_back("ChannelPrefix", "whatsapp");
      params.emplace_back("ChannelInstallSid", "XE" + std::string(32, '0'));
      if (status == "read") params.emplace_back("EventType", "READ");
      if (status == "delivered") params.emplace_back("EventType", "DELIVERED");
    } else if (status == "delivered" || status == "undelivered") {
      params.emplace_back("RawDlrDoneDate", raw_dlr_done_date());
    }
    OutgoingWebhook hook;
    const std::string sid = m.sid;
    hook.before = [this, sid, status, rank, failed, error_code] {
      std::lock_guard lock(mutex_);
      auto it = messages_.find(sid);
      if (it == messages_.end() || rank <= it->second.status_rank) return;
      it->second.status = status;
      it->second.status_rank = rank;
      if (status != "failed") it->second.priced = true;
      if (failed) it->second.error_code = error_code ? error_code : 30003;
    };
    hook.url = m.status_callback;
    fill_signed_form(hook, params, signature);
    hook.record = {{"kind", "status"}, {"sid", m.sid}, {"status", status}, {"signature", signature}};
    return hook;
  }

  // Twilio's signature, computed here independently of the plugin's code:
  // URL + every parameter sorted by name, name+value, HMAC-SHA1, base64.
  std::string sign(const std::string& token, const std::string& url, Fields params) const {
    std::sort(params.begin(), params.end());
    std::string data = url;
    for (const auto& [k, v] : params) data += k + v;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha1(), token.data(), static_cast<int>(token.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), mac, &len);
    return base64(std::string_view(reinterpret_cast<const char*>(mac), len));
  }

  void fill_signed_form(OutgoingWebhook& hook, const Fields& params, const std::string& signature) const {
    hook.body = encode_form(params);
    hook.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"I-Twilio-Idempotency-Token", "fake"}};
    if (signature == "valid") hook.headers.emplace_back("X-Twilio-Signature", sign(opt_.auth_token, hook.url, params));
    else if (signature == "invalid")
      hook.headers.emplace_back("X-Twilio-Signature", sign(opt_.auth_token + "-wrong", hook.url, params));
  }

  FakeResponse fetch_message(const std::string& sid) {
    Message m;
    {
      std::lock_guard lock(mutex_);
      auto it = messages_.find(sid);
      if (it == messages_.end())
        return error(404, 20404,
                     "The requested resource /2010-04-01/Accounts/" + opt_.account_sid + "/Messages/" + sid +
                         ".json was not found");
      m = it->second;
    }
    if (auto rule = rules_.take("fetch", m.to, "create"))
      if (rule->value("status", 200) >= 400) return rule_error(*rule);
    return FakeResponse::json(200, message_json(m));
  }

  FakeResponse fetch_account() {
    std::string status = "active";
    if (auto rule = rules_.take("account", "", "create")) {
      if (rule->value("status", 200) >= 400) return rule_error(*rule);
      status = rule->value("account_status", status);
    }
    return FakeResponse::json(200, {{"sid", opt_.account_sid},
                                    {"friendly_name", "Barid fake account"},
                                    {"status", status},
                                    {"type", "Full"},
                                    {"date_created", rfc2822_now()},
                                    {"uri", "/2010-04-01/Accounts/" + opt_.account_sid + ".json"}});
  }

  // ---------------------------------------------------------------- control

  FakeResponse control(const FakeRequest& req) {
    const std::string p = req.path.substr(std::strlen("/_control"));
    auto body = [&] {
      auto j = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
      if (j.is_discarded()) throw std::runtime_error("the control request body is not JSON");
      return j;
    };
    if (p == "/rules" && req.method == "POST") {
      json j = body();
      if (j.is_array())
        for (const auto& r : j) rules_.add(r);
      else
        rules_.add(j);
      return FakeResponse::json(200, {{"rules", rules_.all()}});
    }
    if (p == "/rules" && req.method == "GET") return FakeResponse::json(200, {{"rules", rules_.all()}});
    if (p == "/rules" && req.method == "DELETE") {
      rules_.clear();
      return FakeResponse::json(200, json::object());
    }
    if (p == "/requests" && req.method == "GET") return FakeResponse::json(200, {{"requests", requests_.all()}});
    if (p == "/requests" && req.method == "DELETE") {
      requests_.clear();
      return FakeResponse::json(200, json::object());
    }
    if (p == "/callbacks" && req.method == "GET")
      return FakeResponse::json(200, {{"callbacks", poster_.journal()}, {"pending", poster_.pending()}});
    if (p == "/messages" && req.method == "GET") {
      json all = json::array();
      std::lock_guard lock(mutex_);
      for (const auto& [sid, m] : messages_) {
        json j = message_json(m);
        j["status_callback"] = m.status_callback;
        j["content_sid"] = m.content_sid;
        j["content_variables"] = m.content_variables;
        all.push_back(std::move(j));
      }
      return FakeResponse::json(200, {{"messages", all}});
    }
    if (p.rfind("/messages/", 0) == 0 && p.size() > 17 && p.compare(p.size() - 7, 7, "/status") == 0 &&
        req.method == "POST") {
      const std::string sid = p.substr(10, p.size() - 17);
      json j = body();
      Message m;
      {
        std::lock_guard lock(mutex_);
        auto it = messages_.find(sid);
        if (it == messages_.end()) return FakeResponse::json(404, {{"error", "no such message"}});
        m = it->second;
      }
      OutgoingWebhook hook = status_webhook(m, j.value("status", std::string("delivered")), 1000 + rank_++,
                                            j.value("error_code", 0), j.value("signature", std::string("valid")));
      if (!j.value("callback", true)) hook.url.clear();
      return FakeResponse::json(200, {{"http_status", poster_.post_now(std::move(hook))}});
    }
    if (p == "/inbound" && req.method == "POST") {
      json j = body();
      const bool wa = j.value("channel", std::string("sms")) == "whatsapp";
      const std::string prefix = wa ? "whatsapp:" : "";
      char sid[40];
      std::snprintf(sid, sizeof sid, "SM%016llx%016llx", static_cast<unsigned long long>(prefix_ ^ 0xffff),
                    static_cast<unsigned long long>(next_id_.fetch_add(1)));
      Fields params = {{"AccountSid", opt_.account_sid},
                       {"ApiVersion", "2010-04-01"},
                       {"Body", j.value("body", std::string("STOP"))},
                       {"From", prefix + j.value("from", std::string("+15005550006"))},
                       {"MessageSid", sid},
                       {"NumMedia", "0"},
                       {"NumSegments", "1"},
                       {"SmsMessageSid", sid},
                       {"SmsSid", sid},
                       {"SmsStatus", "received"},
                       {"To", prefix + j.value("to", std::string("+15005550006"))}};
      if (!wa && j.value("body", std::string("STOP")) == "STOP") params.emplace_back("OptOutType", "STOP");
      OutgoingWebhook hook;
      hook.url = j.value("url", std::string());
      fill_signed_form(hook, params, j.value("signature", std::string("valid")));
      hook.record = {{"kind", "inbound"}, {"sid", sid}};
      return FakeResponse::json(200, {{"http_status", poster_.post_now(std::move(hook))}, {"sid", sid}});
    }
    if (p == "/reset" && req.method == "POST") {
      rules_.clear();
      requests_.clear();
      poster_.clear();
      std::lock_guard lock(mutex_);
      messages_.clear();
      return FakeResponse::json(200, json::object());
    }
    return FakeResponse::json(404, {{"error", "unknown control endpoint " + req.method + " " + req.path}});
  }

  Options opt_;
  std::uint64_t prefix_ = 0;
  std::atomic<std::uint64_t> next_id_{1};
  std::atomic<int> rank_{0};
  std::mutex mutex_;
  std::map<std::string, Message> messages_;
  RuleBook rules_;
  Journal requests_;
  WebhookPoster poster_;
};

bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--account-sid") o.account_sid = next();
    else if (a == "--auth-token") o.auth_token = next();
    else if (a == "--api-key-sid") o.api_key_sid = next();
    else if (a == "--api-key-secret") o.api_key_secret = next();
    else if (a == "--port") o.port = static_cast<std::uint16_t>(std::stoi(next()));
    else {
      std::cerr << "barid-fake-twilio: unknown argument " << a << "\n";
      return false;
    }
  }
  return true;
}

}  // namespace
}  // namespace barid::fakes

int main(int argc, char** argv) {
  using namespace barid::fakes;
  block_termination_signals();
  Options options;
  if (!parse_args(argc, argv, options)) return 2;
  FakeTwilio fake(options);
  FakeHttpServer server([&](const FakeRequest& r) { return fake.handle(r); });
  try {
    announce_listening(server.start("127.0.0.1", options.port));
  } catch (const std::exception& e) {
    std::cerr << "barid-fake-twilio: cannot listen: " << e.what() << "\n";
    return 1;
  }
  wait_for_termination();
  server.stop();
  return 0;
}
