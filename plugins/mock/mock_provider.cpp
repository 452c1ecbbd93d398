#include "mock_provider.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <charconv>
#include <random>
#include <sstream>

namespace barid::plugins::mock {
namespace {

using namespace std::chrono;
using sdk::MessageStatus;

constexpr std::size_t kMaxTracked = 200000;  // messages remembered for status queries
constexpr std::size_t kMaxReportsPerPost = 500;

std::set<std::string> split_list(const std::string& s) {
  std::set<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    auto b = item.find_first_not_of(' ');
    auto e = item.find_last_not_of(' ');
    if (b != std::string::npos) out.insert(item.substr(b, e - b + 1));
  }
  return out;
}

bool parse_int(const std::string& s, long long& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 0;
}

}  // namespace

bool parse_settings(const sdk::ProviderConfig& config, MockSettings& out, std::string& error) {
  auto channel = sdk::channel_from_string(config.get("channel"));
  if (!channel || *channel == sdk::Channel::email) {
    error = "config key 'channel' must be 'sms' or 'whatsapp'";
    return false;
  }
  out.channel = *channel;

  struct {
    const char* key;
    long long* value;
  } ints[5];
  long long latency = 0, transient = 0, retry_after = 0, delivered_after = 0, cost = 0;
  ints[0] = {"latency_ms", &latency};
  ints[1] = {"transient_failures", &transient};
  ints[2] = {"retry_after_ms", &retry_after};
  ints[3] = {"delivered_after_ms", &delivered_after};
  ints[4] = {"cost_micros_per_segment", &cost};
  for (auto& [key, value] : ints) {
    if (!parse_int(config.get(key), *value)) {
      error = std::string("config key '") + key + "' must be a non-negative integer";
      return false;
    }
  }
  out.latency = milliseconds(latency);
  out.transient_failures = static_cast<int>(transient);
  out.retry_after = milliseconds(retry_after);
  out.delivered_after = milliseconds(delivered_after);
  out.cost_micros_per_segment = cost;

  const std::string read_after = config.get("read_after_ms");
  if (!read_after.empty()) {
    long long v = 0;
    if (!parse_int(read_after, v)) {
      error = "config key 'read_after_ms' must be empty or a non-negative integer";
      return false;
    }
    out.read_after = milliseconds(v);
  }

  out.fail_numbers = split_list(config.get("fail_numbers"));
  out.optout_numbers = split_list(config.get("optout_numbers"));

  const std::string mode = config.get("report_mode");
  if (mode == "webhook") {
    out.report_by_webhook = true;
  } else if (mode == "poll") {
    out.report_by_webhook = false;
  } else {
    error = "config key 'report_mode' must be 'webhook' or 'poll'";
    return false;
  }
  out.webhook_secret = config.get("webhook_secret");
  out.from = config.get("from");
  out.send_log = config.get("send_log");
  out.currency = config.get("currency");
  out.status_query_error = config.get("status_query_error");

  const std::string health = config.get("health");
  if (health == "healthy") {
    out.health = sdk::HealthState::healthy;
  } else if (health == "degraded") {
    out.health = sdk::HealthState::degraded;
  } else if (health == "unhealthy") {
    out.health = sdk::HealthState::unhealthy;
  } else {
    error = "config key 'health' must be 'healthy', 'degraded' or 'unhealthy'";
    return false;
  }
  return true;
}

MockProvider::MockProvider(MockSettings settings, sdk::HostContext& host)
    : settings_(std::move(settings)), host_(host) {
  std::random_device rd;
  std::uniform_int_distribution<std::uint32_t> dist;
  std::ostringstream p;
  p << "MK" << std::hex << dist(rd) << "-";
  id_prefix_ = p.str();
  if (settings_.report_by_webhook) reporter_ = std::thread([this] { report_loop(); });
}

MockProvider::~MockProvider() {
  {
    std::lock_guard lock(reports_mutex_);
    stopping_ = true;
  }
  reports_cv_.notify_all();
  if (reporter_.joinable()) reporter_.join();
}

sdk::SendResult MockProvider::send(const sdk::OutboundMessage& message) noexcept {
  return sdk::guard([&] { return do_send(message); },
                    [](std::string why) { return sdk::SendResult::transient({"MOCK-INTERNAL", why}); });
}

sdk::SendResult MockProvider::do_send(const sdk::OutboundMessage& message) {
  if (!settings_.send_log.empty()) log_send(message);
  if (settings_.latency.count() > 0) std::this_thread::sleep_for(settings_.latency);

  if (settings_.fail_numbers.count(message.to))
    return sdk::SendResult::rejected({"MOCK-INVALID-NUMBER", "the mock rejects this number"});
  if (settings_.optout_numbers.count(message.to))
    return sdk::SendResult::rejected({"MOCK-OPTED-OUT", "the recipient unsubscribed"}, true);

  if (settings_.transient_failures > 0) {
    std::lock_guard lock(mutex_);
    int& given = failures_so_far_[message.id];
    if (given < settings_.transient_failures) {
      ++given;
      std::optional<milliseconds> after;
      if (settings_.retry_after.count() > 0) after = settings_.retry_after;
      return sdk::SendResult::transient({"MOCK-TRANSIENT", "the mock is busy, try again"}, after);
    }
    failures_so_far_.erase(message.id);
  }

  std::string provider_id = id_prefix_ + std::to_string(next_id_.fetch_add(1));
  Sent sent{message.id, steady_clock::now(), message.segments};
  {
    std::lock_guard lock(mutex_);
    if (sent_.size() >= kMaxTracked) sent_.clear();  // a demo provider: forget, do not grow
    sent_.emplace(provider_id, sent);
  }
  if (settings_.report_by_webhook) schedule_reports(provider_id, sent);

  auto result = sdk::SendResult::accepted(provider_id, MessageStatus::sent);
  result.segments = message.segments;
  if (settings_.cost_micros_per_segment > 0)
    result.cost = sdk::Money{settings_.cost_micros_per_segment * message.segments, settings_.currency};
  return result;
}

void MockProvider::log_send(const sdk::OutboundMessage& message) const {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  const std::string line = std::to_string(us) + " " + message.id + " " +
                           (message.validity ? std::to_string(message.validity->count()) : std::string("-")) + "\n";
  // One write with O_APPEND: lines of several gateway nodes do not mix.
  const int fd = ::open(settings_.send_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  [[maybe_unused]] const auto written = ::write(fd, line.data(), line.size());
  ::close(fd);
}

MessageStatus MockProvider::status_at(const Sent& sent, steady_clock::time_point now) const {
  auto elapsed = now - sent.at;
  if (settings_.read_after && elapsed >= *settings_.read_after) return MessageStatus::read;
  if (elapsed >= settings_.delivered_after) return MessageStatus::delivered;
  return MessageStatus::sent;
}

sdk::StatusResult MockProvider::fetch_status(const std::string& provider_message_id) noexcept {
  sdk::StatusResult r;
  std::lock_guard lock(mutex_);
  auto it = sent_.find(provider_message_id);
  if (it == sent_.end()) return sdk::StatusResult::unknown_message({"MOCK-NOT-FOUND", "the mock does not know this message"});
  if (!settings_.status_query_error.empty()) {
    r.outcome = sdk::Outcome::retry;
    r.error = {settings_.status_query_error, "the mock is set to fail status queries"};
    return r;
  }
  r.outcome = sdk::Outcome::ok;
  r.status = status_at(it->second, steady_clock::now());
  r.segments = it->second.segments;
  if (settings_.cost_micros_per_segment > 0)
    r.cost = sdk::Money{settings_.cost_micros_per_segment * it->second.segments, settings_.currency};
  return r;
}

void MockProvider::schedule_reports(const std::string& provider_id, const Sent& sent) {
  std::lock_guard lock(reports_mutex_);
  auto delivered_due = sent.at + settings_.delivered_after;
  reports_.emplace(delivered_due,
                   Report{delivered_due, provider_id, sent.message_id, MessageStatus::delivered});
  if (settings_.read_after) {
    auto read_due = sent.at + *settings_.read_after;
    reports_.emplace(read_due, Report{read_due, provider_id, sent.message_id, MessageStatus::read});
  }
  reports_cv_.notify_one();
}

std::string MockProvider::sign(const std::string& body) const {
  return sdk::hex_encode(host_.crypto().hmac_sha256(settings_.webhook_secret, body));
}

// Posts due delivery reports to the gateway's status webhook, many per
// request, the way aggregators batch their DLRs.
void MockProvider::report_loop() {
  std::unique_lock lock(reports_mutex_);
  while (!stopping_) {
    if (reports_.empty()) {
      reports_cv_.wait(lock);
      continue;
    }
    auto now = steady_clock::now();
    if (reports_.begin()->first > now) {
      reports_cv_.wait_until(lock, reports_.begin()->first);
      continue;
    }
    nlohmann::json batch = nlohmann::json::array();
    while (!reports_.empty() && reports_.begin()->first <= now && batch.size() < kMaxReportsPerPost) {
      const Report& r = reports_.begin()->second;
      batch.push_back({{"id", r.provider_id},
                       {"message_id", r.message_id},
                       {"status", std::string(sdk::to_string(r.status))}});
      reports_.erase(reports_.begin());
    }
    lock.unlock();
    const std::string url = host_.webhook_url("status");
    if (url.empty()) {
      host_.logger().warn("report_mode is webhook but the gateway publishes no webhook URL");
    } else {
      std::string body = nlohmann::json{{"reports", batch}}.dump();
      sdk::HttpRequest req;
      req.method = "POST";
      req.url = url;
      req.headers = {{"Content-Type", "application/json"}};
      if (!settings_.webhook_secret.empty()) req.headers.emplace_back("X-Mock-Signature", sign(body));
      req.body = std::move(body);
      // A few attempts, like a real provider's DLR retries.
      for (int attempt = 0; attempt < 5; ++attempt) {
        auto resp = host_.http().perform(req);
        if (!resp.transport_failed() && resp.status >= 200 && resp.status < 300) break;
        host_.logger().warn("delivery report post failed: " +
                            (resp.transport_failed() ? resp.error_message
                                                     : "HTTP " + std::to_string(resp.status)));
        std::unique_lock wait_lock(reports_mutex_);
        if (reports_cv_.wait_for(wait_lock, milliseconds(200 << attempt), [&] { return stopping_; }))
          return;
      }
    }
    lock.lock();
  }
}

sdk::CallbackResult MockProvider::parse_callback(const sdk::CallbackRequest& request) noexcept {
  return sdk::guard([&] { return do_parse_callback(request); },
                    [](std::string why) { return sdk::CallbackResult::malformed(why); });
}

// kind "status": {"reports":[{"id","message_id","status"}]}
// kind "inbound": {"from","to","body"[,"id"][,"button_payload"]}
// With webhook_secret set, X-Mock-Signature must be the hex HMAC-SHA256 of
// the body.
sdk::CallbackResult MockProvider::do_parse_callback(const sdk::CallbackRequest& request) {
  if (!settings_.webhook_secret.empty()) {
    const std::string given = request.header("X-Mock-Signature");
    if (given.empty()) return sdk::CallbackResult::forbidden("missing X-Mock-Signature");
    if (!sdk::constant_time_equals(given, sign(request.body)))
      return sdk::CallbackResult::forbidden("X-Mock-Signature does not match");
  }
  auto doc = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return sdk::CallbackResult::malformed("body is not a JSON object");

  auto result = sdk::CallbackResult::accept();
  if (request.kind == "status") {
    if (!doc.contains("reports") || !doc["reports"].is_array())
      return sdk::CallbackResult::malformed("'reports' must be an array");
    for (const auto& r : doc["reports"]) {
      if (!r.is_object() || !r.contains("id") || !r["id"].is_string() || !r.contains("status") ||
          !r["status"].is_string())
        return sdk::CallbackResult::malformed("each report needs string 'id' and 'status'");
      auto status = sdk::status_from_string(r["status"].get<std::string>());
      if (!status) return sdk::CallbackResult::malformed("unknown status in a report");
      sdk::StatusUpdate u;
      u.provider_message_id = r["id"].get<std::string>();
      if (r.contains("message_id") && r["message_id"].is_string())
        u.message_id = r["message_id"].get<std::string>();
      u.status = *status;
      if (r.contains("error_code") && r["error_code"].is_string())
        u.error.code = r["error_code"].get<std::string>();
      result.status_updates.push_back(std::move(u));
    }
    return result;
  }
  if (request.kind == "inbound") {
    if (!doc.contains("from") || !doc["from"].is_string() || !doc.contains("body") ||
        !doc["body"].is_string())
      return sdk::CallbackResult::malformed("an inbound message needs string 'from' and 'body'");
    sdk::InboundMessage m;
    m.channel = settings_.channel;
    m.from = doc["from"].get<std::string>();
    m.body = doc["body"].get<std::string>();
    if (doc.contains("to") && doc["to"].is_string()) m.to = doc["to"].get<std::string>();
    if (doc.contains("id") && doc["id"].is_string()) m.provider_message_id = doc["id"].get<std::string>();
    if (doc.contains("button_payload") && doc["button_payload"].is_string())
      m.button_payload = doc["button_payload"].get<std::string>();
    result.inbound_messages.push_back(std::move(m));
    return result;
  }
  return sdk::CallbackResult::malformed("unknown webhook kind '" + request.kind + "'");
}

sdk::HealthReport MockProvider::check_health() noexcept {
  return {settings_.health, "mock provider (" + std::string(sdk::to_string(settings_.channel)) + ")"};
}

}  // namespace barid::plugins::mock
