#pragma once
// Plumbing shared by the fake provider servers (fake Twilio, fake Unifonic):
// a real HTTP server on 127.0.0.1 (Pistache), answers that can be delayed
// without holding a worker thread, a book of scripted behaviours, a journal
// of what arrived, and a poster that delivers webhooks back to the system
// under test on a schedule.

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace barid::fakes {

using Fields = std::vector<std::pair<std::string, std::string>>;

struct FakeRequest {
  std::string method;
  std::string path;
  Fields query;  // decoded
  Fields headers;
  std::string body;

  std::string header(std::string_view name) const;  // case-insensitive, "" if absent
};

struct FakeResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  Fields headers;
  std::chrono::milliseconds delay{0};  // answer this much later (without blocking a worker)

  static FakeResponse json(int status, const nlohmann::json& body) {
    FakeResponse r;
    r.status = status;
    r.body = body.dump();
    return r;
  }
};

using Handler = std::function<FakeResponse(const FakeRequest&)>;

class FakeHttpServer {
 public:
  explicit FakeHttpServer(Handler handler);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  // Listens on host:port (0 = any free port) and returns the port.
  std::uint16_t start(const std::string& host = "127.0.0.1", std::uint16_t port = 0, int threads = 2);
  void stop();
  std::uint16_t port() const noexcept { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

// Prints "listening on http://127.0.0.1:PORT" (flushed) for whoever started us.
void announce_listening(std::uint16_t port);

// Blocks SIGINT and SIGTERM in this thread and every thread started after it;
// call first thing in main(). wait_for_termination() then returns the signal.
void block_termination_signals();
int wait_for_termination();

// Scripted behaviours: JSON objects matched in the order they were added.
// A rule applies to an operation ("op", default `default_op` of take()) and
// optionally to one recipient ("to", compared by digits, so +9665..., 9665...
// and whatsapp:+9665... are the same); "times": N makes it apply to the next
// N matching requests only.
class RuleBook {
 public:
  void add(const nlohmann::json& rule);
  void clear();
  std::optional<nlohmann::json> take(std::string_view op, std::string_view to, std::string_view default_op);
  nlohmann::json all() const;

 private:
  mutable std::mutex mutex_;
  std::vector<nlohmann::json> rules_;
};

// Digits of a phone address ("whatsapp:+1 555" -> "1555"; a leading 00 is dropped).
std::string phone_digits(std::string_view address);

// What arrived, for assertions: JSON records in order.
class Journal {
 public:
  void add(nlohmann::json entry);
  void clear();
  nlohmann::json all() const;

 private:
  mutable std::mutex mutex_;
  std::vector<nlohmann::json> entries_;
};

// A webhook to post: the body is sent as-is with the given headers.
struct OutgoingWebhook {
  std::function<void()> before;      // run at the due time, before posting (may change the fields below)
  std::string url;                   // empty: nothing is posted (`before` still runs)
  std::string body;
  Fields headers;
  nlohmann::json record;             // journaled with the outcome (status, error)
  std::function<void(int)> on_done;  // called with the HTTP status (0 when none)
};

// Posts webhooks at their due time from one background thread, in due order.
class WebhookPoster {
 public:
  WebhookPoster();
  ~WebhookPoster();
  void schedule(OutgoingWebhook hook, std::chrono::milliseconds after);
  // Posts now, on the caller's thread; returns the HTTP status (0 when none).
  int post_now(OutgoingWebhook hook);
  void clear();
  nlohmann::json journal() const { return journal_.all(); }
  std::size_t pending() const;

 private:
  void loop();
  int deliver(OutgoingWebhook& hook);

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::multimap<std::chrono::steady_clock::time_point, OutgoingWebhook> queue_;
  bool stopping_ = false;
  Journal journal_;
  std::thread thread_;
};

// Form encoding / decoding and Basic credentials, implemented here (not taken
// from the SDK) so that the fakes check the plugins independently.
std::string percent_encode(std::string_view s);
std::string percent_decode(std::string_view s, bool plus_is_space = true);
Fields parse_form(std::string_view body);
std::string encode_form(const Fields& fields);
std::string field(const Fields& fields, std::string_view name);  // first value, "" if absent
bool has_field(const Fields& fields, std::string_view name);
nlohmann::json fields_json(const Fields& fields);  // [[name, value], ...]

std::string base64(std::string_view bytes);
std::optional<std::pair<std::string, std::string>> basic_credentials(const FakeRequest& request);

// Milliseconds since the epoch, for journal records.
std::int64_t now_ms();

}  // namespace barid::fakes
