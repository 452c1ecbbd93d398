#pragma once
// The mock provider: behaves like a real provider without leaving the
// machine, with its behaviour driven by configuration so that tests and demos
// can ask for latency, permanent and transient failures, opt-outs and a
// status progression delivered by webhook or by polling.

#include <barid/sdk/sdk.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace barid::plugins::mock {

struct MockSettings {
  sdk::Channel channel = sdk::Channel::sms;
  std::chrono::milliseconds latency{0};
  std::set<std::string> fail_numbers;    // permanent failure
  std::set<std::string> optout_numbers;  // permanent failure, recipient unsubscribed
  int transient_failures = 0;            // per message, before it succeeds
  std::chrono::milliseconds retry_after{0};
  std::chrono::milliseconds delivered_after{0};
  std::optional<std::chrono::milliseconds> read_after;  // WhatsApp: becomes read
  bool report_by_webhook = true;
  std::string webhook_secret;
  std::string from;  // the sender of a send that names none
  std::int64_t cost_micros_per_segment = 0;
  std::string currency = "USD";
  sdk::HealthState health = sdk::HealthState::healthy;
  std::string status_query_error;  // when set, status queries of known messages fail (retry) with this code
  std::string send_log;  // a file: one line per send call, "<unix µs> <message id> <validity s or ->"
};

// Parses the instance configuration; the error names the key.
bool parse_settings(const sdk::ProviderConfig& config, MockSettings& out, std::string& error);

class MockProvider final : public sdk::Provider {
 public:
  MockProvider(MockSettings settings, sdk::HostContext& host);
  ~MockProvider() override;

  sdk::SendResult send(const sdk::OutboundMessage& message) noexcept override;
  // Appends the send to settings.send_log.
  void log_send(const sdk::OutboundMessage& message) const;
  sdk::StatusResult fetch_status(const std::string& provider_message_id) noexcept override;
  sdk::CallbackResult parse_callback(const sdk::CallbackRequest& request) noexcept override;
  sdk::HealthReport check_health() noexcept override;

 private:
  struct Sent {
    std::string message_id;
    std::chrono::steady_clock::time_point at;
    int segments = 1;
  };
  struct Report {
    std::chrono::steady_clock::time_point due;
    std::string provider_id;
    std::string message_id;
    sdk::MessageStatus status;
  };

  sdk::SendResult do_send(const sdk::OutboundMessage& message);
  sdk::CallbackResult do_parse_callback(const sdk::CallbackRequest& request);
  sdk::MessageStatus status_at(const Sent& sent, std::chrono::steady_clock::time_point now) const;
  void schedule_reports(const std::string& provider_id, const Sent& sent);
  void report_loop();
  std::string sign(const std::string& body) const;

  MockSettings settings_;
  sdk::HostContext& host_;
  std::string id_prefix_;
  std::atomic<std::uint64_t> next_id_{1};

  std::mutex mutex_;
  std::unordered_map<std::string, int> failures_so_far_;  // message id -> transient failures given
  std::unordered_map<std::string, Sent> sent_;             // provider id -> what was sent

  std::mutex reports_mutex_;
  std::condition_variable reports_cv_;
  std::multimap<std::chrono::steady_clock::time_point, Report> reports_;
  bool stopping_ = false;
  std::thread reporter_;
};

}  // namespace barid::plugins::mock
