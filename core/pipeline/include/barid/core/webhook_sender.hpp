#pragma once
// Delivers the webhook outbox: workers on every node lease due deliveries
// (the store keeps each message's events in order per endpoint), POST each
// event signed the Standard Webhooks way, and record the attempt. A 2xx is
// delivered; anything else is tried again after an exponential backoff with
// jitter (a Retry-After of 429 or 503 is honoured), until `give_up_after`
// from the event; 410 Gone disables the endpoint, and so does failing for
// `disable_after` without a success. A node that dies holding a lease leaves
// the delivery to another node when the lease ends: at least once.
//
// A node has `workers` × `batch` delivery threads, each sending one request
// at a time, and one thread that claims work for them and records what they
// did: every delivery completes on its own (a slow one holds only its own
// thread), and a node has at most `endpoint_concurrency` requests under way
// to one endpoint, so that a slow endpoint cannot take every thread. Claims
// take endpoints in turn (WebhookStore::claim_webhook_deliveries).

#include <barid/core/store.hpp>
#include <barid/core/webhooks.hpp>

#include <barid/sdk/http.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace barid::core {

struct WebhookOptions {
  int workers = 2;
  int batch = 16;                // delivery threads per worker: requests under way at once
  int endpoint_concurrency = 4;  // requests under way to one endpoint, per node
  int replay_limit = 10000;      // events one replay queues at most
  std::chrono::milliseconds poll_interval{250};
  std::chrono::milliseconds timeout{10000};  // per request
  std::chrono::milliseconds initial_backoff{5000};
  std::chrono::milliseconds max_backoff{std::chrono::hours(1)};
  std::chrono::seconds give_up_after{std::chrono::hours(72)};
  std::chrono::seconds disable_after{std::chrono::hours(24 * 5)};
  WebhookHostRules hosts;  // webhooks.allow_hosts (and the deprecated allow_http_hosts)
  // A response is read this far, then the connection is closed: the outcome
  // depends on the status code alone (the HTTP client given must be made so).
  std::size_t max_response_bytes = 64 * 1024;
  std::chrono::seconds secret_overlap{std::chrono::hours(24)};  // a rotated secret keeps signing this long
};

// What follows an attempt of `d` (its attempts counted) that the endpoint
// answered with `status` (0: no answer) and `retry_after` seconds (or none),
// at `now`: delivered on a 2xx; else again after the backoff, unless the
// event and its delivery are older than give_up_after; 410, or failing for
// disable_after, disables the endpoint.
WebhookAttemptOutcome webhook_attempt_outcome(const WebhookOptions& options, const WebhookDelivery& d, int status,
                                              std::optional<std::chrono::seconds> retry_after, std::string error,
                                              std::chrono::milliseconds latency, TimePoint now);

class WebhookSender {
 public:
  // `audit` records the reads that deliveries carrying a body are.
  WebhookSender(WebhookStore& hooks, MessageStore& messages, TenantStore& audit, sdk::HttpClient& http,
                WebhookOptions options, std::string node_id);
  ~WebhookSender();

  void start();
  void stop();  // finishes the requests under way

  struct Stats {
    std::uint64_t delivered = 0;
    std::uint64_t failed_attempts = 0;
    std::uint64_t given_up = 0;
  };
  Stats stats() const noexcept;

  // The event's body (what is signed), as an endpoint gets it; nullopt when
  // what it describes is gone (retention, or the message was deleted).
  std::optional<std::string> body_of(const WebhookDelivery& d);

 private:
  struct Done {
    WebhookDelivery delivery;
    WebhookAttemptOutcome outcome;
  };
  void claim_loop();  // claims for the senders and records what they did
  void send_loop();   // one request at a time
  void record(std::vector<Done>& done);
  WebhookAttemptOutcome deliver(const WebhookDelivery& d);

  WebhookStore& hooks_;
  MessageStore& messages_;
  TenantStore& audit_;
  sdk::HttpClient& http_;
  WebhookOptions options_;
  std::string owner_;
  std::thread claimer_;
  std::vector<std::thread> senders_;
  std::mutex mutex_;
  std::condition_variable work_cv_;  // senders: a delivery is ready, or stopping
  std::condition_variable done_cv_;  // claimer: a delivery is done, or stopping
  std::deque<WebhookDelivery> ready_;
  std::vector<Done> finished_;
  std::map<Uuid, int> in_flight_;  // per endpoint: claimed and not yet recorded
  int under_way_ = 0;
  bool stopping_ = false;
  std::atomic<std::uint64_t> delivered_{0}, failed_{0}, given_up_{0};
};

}  // namespace barid::core
