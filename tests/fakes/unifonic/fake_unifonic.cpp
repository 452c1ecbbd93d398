// barid-fake-unifonic: a fake of Unifonic's SMS REST API for tests. It
// listens on 127.0.0.1 (port 0 unless --port), prints
// "listening on http://127.0.0.1:PORT", authenticates by AppSid, reads
// parameters from the query string, a form body or a JSON body, answers with
// Unifonic's envelope ({"success", "message", "errorCode", "data"}, MessageID
// a JSON number), serves GetMessagesDetails and posts delivery reports (DLR)
// to the configured dlr_url when one is set (as a console webhook would),
// else to the message's statusCallback URL. Behaviour is scripted per
// recipient through rules (POST /_control/rules); see tests/fakes/README.md.
//
//   barid-fake-unifonic [--app-sid S] [--port N] [--dlr-format json|form]

#include "fake_server.hpp"

#include <atomic>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>

namespace barid::fakes {
namespace {

using nlohmann::json;
using namespace std::chrono;

struct Options {
  std::string app_sid = "fake-unifonic-app-sid";
  std::string dlr_format = "json";
  std::uint16_t port = 0;
};

struct Message {
  std::uint64_t id = 0;
  std::string correlation_id, recipient, sender, body, status_callback;
  std::string status = "Sent";
  std::string dlr = "Sent";
  int rank = -1;
  int units = 1;
  double cost = 0.05;
  std::string currency = "SAR";
  std::string created;
  std::chrono::steady_clock::time_point at;
};

std::string local_time_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return std::string(buf) + ".000";
}

int count_units(const std::string& body) {
  bool ascii = true;
  std::size_t units = 0;
  for (unsigned char c : body) {
    if (c >= 0x80) ascii = false;
    if ((c & 0xC0) != 0x80) units += (c >= 0xF0) ? 2 : 1;
  }
  if (ascii) return body.size() <= 160 ? 1 : static_cast<int>((body.size() + 152) / 153);
  return units <= 70 ? 1 : static_cast<int>((units + 66) / 67);
}

class FakeUnifonic {
 public:
  explicit FakeUnifonic(Options o) : opt_(std::move(o)) {}

  FakeResponse handle(const FakeRequest& req) {
    if (req.path.rfind("/_control/", 0) == 0) return control(req);
    const Fields params = parameters(req);
    journal(req, params);
    if (req.method != "POST") return envelope_error(404, "", "Incompatible API version");
    const std::string app = field(params, "AppSid");
    if (app.empty()) return envelope_error(402, "", "Missing parameter AppSid");
    if (app != opt_.app_sid) return envelope_error(401, "", "Authentication failed");
    if (req.path == "/rest/SMS/messages") return send(params);
    if (req.path == "/rest/SMS/Messages/GetMessagesDetails") return details(params);
    return envelope_error(404, "", "Incompatible API version");
  }

 private:
  // Unifonic's documentation disagrees on where parameters go: query string
  // (its OpenAPI), form body (its curl examples) or JSON. All are accepted.
  static Fields parameters(const FakeRequest& req) {
    Fields out = req.query;
    const std::string ct = req.header("Content-Type");
    if (ct.find("application/json") != std::string::npos) {
      auto j = json::parse(req.body, nullptr, false);
      if (j.is_object())
        for (const auto& [k, v] : j.items()) out.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
    } else if (!req.body.empty()) {
      for (auto& kv : parse_form(req.body)) out.push_back(std::move(kv));
    }
    return out;
  }

  static FakeResponse envelope_error(int http, const std::string& code, const std::string& message) {
    return FakeResponse::json(http, {{"success", false}, {"message", message}, {"errorCode", code}, {"data", nullptr}});
  }

  void journal(const FakeRequest& req, const Fields& params) {
    Fields safe;
    for (const auto& [k, v] : params) safe.emplace_back(k, k == "AppSid" ? "(present)" : v);
    requests_.add({{"method", req.method}, {"path", req.path}, {"content_type", req.header("Content-Type")},
                   {"params", fields_json(safe)}, {"app_sid_ok", field(params, "AppSid") == opt_.app_sid},
                   {"at_ms", now_ms()}});
  }

  static FakeResponse rule_answer(const json& rule) {
    const int http = rule.value("http_status", 200);
    FakeResponse r;
    if (rule.contains("raw_body")) {
      r.status = http;
      r.body = rule.value("raw_body", std::string());
      r.content_type = rule.value("content_type", std::string("text/html"));
    } else {
      r = FakeResponse::json(http, {{"success", false},
                                    {"message", rule.value("message", std::string("scripted error"))},
                                    {"errorCode", rule.value("error_code", std::string(""))},
                                    {"data", json::object()}});
    }
    if (rule.contains("retry_after"))
      r.headers.emplace_back("Retry-After", rule["retry_after"].is_string() ? rule["retry_after"].get<std::string>()
                                                                             : rule["retry_after"].dump());
    r.delay = milliseconds(rule.value("delay_ms", 0));
    return r;
  }

  static bool is_error_rule(const json& r) { return r.value("http_status", 200) >= 300 || r.contains("error_code"); }

  FakeResponse send(const Fields& p) {
    const std::string recipient = field(p, "Recipient"), body = field(p, "Body");
    const std::string correlation = field(p, "CorrelationID");
    std::optional<json> rule = rules_.take("send", recipient, "send");
    json r = rule.value_or(json::object());
    if (is_error_rule(r)) return rule_answer(r);
    if (recipient.empty()) return envelope_error(422, "", "No recipient parameter specified");
    bool digits = !recipient.empty();
    for (char c : recipient) digits = digits && c >= '0' && c <= '9';
    if (!digits) return envelope_error(200, "ER-02", "Invalid destination number");
    if (recipient.size() < 8) return envelope_error(200, "ER-04", "Dest num is too short");
    if (recipient.size() > 15) return envelope_error(200, "ER-03", "Dest num is too long");
    if (body.empty()) return envelope_error(200, "ER-06", "Invalid or empty message body");

    Message m;
    m.recipient = recipient;
    m.sender = field(p, "SenderID");
    m.body = body;
    m.correlation_id = correlation;
    const std::string cb = field(p, "statusCallback");
    if (cb.rfind("http://", 0) == 0 || cb.rfind("https://", 0) == 0) m.status_callback = cb;
    m.units = r.value("units", count_units(body));
    m.cost = r.value("cost", 0.05) * m.units;
    m.currency = r.value("currency", std::string("SAR"));
    m.status = r.value("initial_status", std::string("Sent"));
    m.dlr = m.status;
    m.created = local_time_now();
    m.at = steady_clock::now();
    {
      std::lock_guard lock(mutex_);
      // Unifonic refuses the same text to the same recipient sent shortly before (ER-09).
      if (duplicate_window_.count() > 0)
        for (const auto& [id, old] : messages_)
          if (old.recipient == recipient && old.body == body && steady_clock::now() - old.at < duplicate_window_)
            return envelope_error(200, "ER-09", "Duplicated message");
      m.id = next_id_++;
      messages_[m.id] = m;
    }
    schedule_reports(m, r);
    const json success = r.value("success_as_string", false) ? json("true") : json(true);
    FakeResponse resp = FakeResponse::json(
        200, {{"success", success},
              {"message", ""},
              {"errorCode", "ER-00"},
              {"data",
               {{"MessageID", m.id},
                {"CorrelationID", m.correlation_id},
                {"Status", m.status},
                {"NumberOfUnits", m.units},
                {"Cost", m.cost},
                {"Balance", 1000.0},
                {"Recipient", m.recipient},
                {"TimeCreated", m.created},
                {"CurrencyCode", m.currency}}}});
    resp.delay = milliseconds(r.value("delay_ms", 0));
    return resp;
  }

  void schedule_reports(const Message& m, const json& rule) {
    std::vector<std::string> steps = {"Delivered"};
    if (rule.contains("progression")) steps = rule["progression"].get<std::vector<std::string>>();
    const int gap = rule.value("callback_delay_ms", 20);
    const bool reversed = rule.value("order", std::string("in_order")) == "reversed";
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const std::size_t slot = reversed ? steps.size() - 1 - i : i;
      poster_.schedule(report(m, steps[i], static_cast<int>(i)), milliseconds(gap * static_cast<int>(slot + 1)));
    }
  }

  OutgoingWebhook report(const Message& m, const std::string& dlr, int rank) {
    OutgoingWebhook hook;
    const std::uint64_t id = m.id;
    hook.before = [this, id, dlr, rank] {
      std::lock_guard lock(mutex_);
      auto it = messages_.find(id);
      if (it == messages_.end() || rank <= it->second.rank) return;
      it->second.rank = rank;
      it->second.dlr = dlr;
    };
    {
      std::lock_guard lock(mutex_);
      hook.url = dlr_url_.empty() ? m.status_callback : dlr_url_;
    }
    const std::string now = local_time_now().substr(0, 19);
    if (opt_.dlr_format == "form") {
      hook.body = encode_form({{"MessageID", std::to_string(m.id)},
                               {"DLR", dlr},
                               {"Recipient", m.recipient},
                               {"CorrelationID", m.correlation_id},
                               {"TimeCreated", m.created.substr(0, 19)},
                               {"SCTS", now},
                               {"DLRTimestamp", now}});
      hook.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    } else {
      hook.body = json{{"MessageID", m.id},
                       {"DLR", dlr},
                       {"Recipient", m.recipient},
                       {"CorrelationID", m.correlation_id},
                       {"TimeCreated", m.created.substr(0, 19)},
                       {"SCTS", now},
                       {"DLRTimestamp", now}}
                      .dump();
      hook.headers = {{"Content-Type", "application/json"}};
    }
    {
      std::lock_guard lock(mutex_);
      for (const auto& h : dlr_headers_) hook.headers.push_back(h);
    }
    hook.record = {{"kind", "dlr"}, {"message_id", m.id}, {"dlr", dlr}};
    return hook;
  }

  json message_json(const Message& m) const {
    return {{"MessageID", m.id},         {"CorrelationID", m.correlation_id}, {"Status", m.status},
            {"MessageBody", m.body},     {"Country", "Saudi Arabia"},         {"DLR", m.dlr},
            {"NumberOfUnits", m.units},  {"Cost", m.cost},                    {"SenderID", m.sender},
            {"Recipient", m.recipient},  {"DateCreated", m.created},          {"DateSent", m.created}};
  }

  FakeResponse details(const Fields& p) {
    const std::string id = field(p, "MessageID"), correlation = field(p, "CorrelationID");
    if (auto rule = rules_.take("details", "", "send"); rule && is_error_rule(*rule)) return rule_answer(*rule);
    if (!id.empty()) {
      for (char c : id)
        if (c < '0' || c > '9') return envelope_error(432, "", "MessageId must be numeric");
    }
    json list = json::array();
    std::string currency = "SAR";
    {
      std::lock_guard lock(mutex_);
      for (auto it = messages_.rbegin(); it != messages_.rend(); ++it) {
        const Message& m = it->second;
        if (!id.empty() && std::to_string(m.id) != id) continue;
        if (!correlation.empty() && m.correlation_id != correlation) continue;
        list.push_back(message_json(m));
        currency = m.currency;
        if (id.empty() && correlation.empty() && list.size() >= 1) break;  // Limit-style listing
      }
    }
    return FakeResponse::json(200, {{"success", true},
                                    {"message", ""},
                                    {"errorCode", "ER-00"},
                                    {"data",
                                     {{"messages", list},
                                      {"CurrencyCode", currency},
                                      {"TotalTextMessages", list.size()},
                                      {"Next", ""},
                                      {"Prev", ""}}}});
  }

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
      for (const auto& [id, m] : messages_) {
        json j = message_json(m);
        j["statusCallback"] = m.status_callback;
        all.push_back(std::move(j));
      }
      return FakeResponse::json(200, {{"messages", all}});
    }
    if (p == "/config" && req.method == "POST") {
      json j = body();
      std::lock_guard lock(mutex_);
      if (j.contains("dlr_url")) dlr_url_ = j.value("dlr_url", std::string());
      if (j.contains("duplicate_window_ms")) duplicate_window_ = milliseconds(j.value("duplicate_window_ms", 0));
      if (j.contains("dlr_headers")) {
        dlr_headers_.clear();
        for (const auto& [k, v] : j["dlr_headers"].items()) dlr_headers_.emplace_back(k, v.get<std::string>());
      }
      return FakeResponse::json(200, json::object());
    }
    if (p.rfind("/messages/", 0) == 0 && p.size() > 17 && p.compare(p.size() - 4, 4, "/dlr") == 0 &&
        req.method == "POST") {
      const std::string id = p.substr(10, p.size() - 14);
      json j = body();
      Message m;
      {
        std::lock_guard lock(mutex_);
        auto it = messages_.find(std::strtoull(id.c_str(), nullptr, 10));
        if (it == messages_.end()) return FakeResponse::json(404, {{"error", "no such message"}});
        m = it->second;
      }
      return FakeResponse::json(
          200, {{"http_status", poster_.post_now(report(m, j.value("dlr", std::string("Delivered")), 1000 + rank_++))}});
    }
    if (p == "/reset" && req.method == "POST") {
      rules_.clear();
      requests_.clear();
      poster_.clear();
      std::lock_guard lock(mutex_);
      messages_.clear();
      dlr_url_.clear();
      dlr_headers_.clear();
      duplicate_window_ = milliseconds(0);
      return FakeResponse::json(200, json::object());
    }
    return FakeResponse::json(404, {{"error", "unknown control endpoint " + req.method + " " + req.path}});
  }

  Options opt_;
  std::mutex mutex_;
  std::map<std::uint64_t, Message> messages_;
  std::uint64_t next_id_ = 42000348806924ULL;
  std::atomic<int> rank_{0};
  std::string dlr_url_;
  Fields dlr_headers_;
  milliseconds duplicate_window_{0};
  RuleBook rules_;
  Journal requests_;
  WebhookPoster poster_;
};

bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--app-sid") o.app_sid = next();
    else if (a == "--dlr-format") o.dlr_format = next();
    else if (a == "--port") o.port = static_cast<std::uint16_t>(std::stoi(next()));
    else {
      std::cerr << "barid-fake-unifonic: unknown argument " << a << "\n";
      return false;
    }
  }
  return o.dlr_format == "json" || o.dlr_format == "form";
}

}  // namespace
}  // namespace barid::fakes

int main(int argc, char** argv) {
  using namespace barid::fakes;
  block_termination_signals();
  Options options;
  if (!parse_args(argc, argv, options)) return 2;
  FakeUnifonic fake(options);
  FakeHttpServer server([&](const FakeRequest& r) { return fake.handle(r); });
  try {
    announce_listening(server.start("127.0.0.1", options.port));
  } catch (const std::exception& e) {
    std::cerr << "barid-fake-unifonic: cannot listen: " << e.what() << "\n";
    return 1;
  }
  wait_for_termination();
  server.stop();
  return 0;
}
