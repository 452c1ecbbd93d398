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
// Two threads and the HTTP client's, so that no request waits for the
// database and no database write waits for a request:
// - a claimer leases work ahead, per endpoint about a second's worth at the
//   pace the endpoint answers (at least endpoint_concurrency, at most
//   kWebhookMaxAhead), into a lane per endpoint; it renews the leases of
//   everything the node holds every kWebhookLease / 4, so that the lease can
//   be short and a crashed node's deliveries are taken up within it;
// - requests start from pump(), which takes the lanes in turn: after a
//   claim, and on the HTTP client's own thread as each answer comes in, so
//   that an endpoint's next request starts at once, with no hand-over to
//   another thread (libcurl's multi interface: a request under way is a
//   socket, not a thread); a node has at most `workers` x `batch` requests
//   under way, and an endpoint at most `endpoint_concurrency`, so that a slow
//   endpoint cannot take them all;
// - a recorder writes what was sent, all that was answered meanwhile in one
//   transaction, at most one every kWebhookRecordEvery while answers keep
//   coming (a message's next event is claimable once the one before it is
//   recorded).

#include <barid/core/http_client.hpp>
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
#include <set>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace barid::core {

// How long a claim leases a delivery; renewed every kLease / 4 while the
// node holds it.
inline constexpr std::chrono::milliseconds kWebhookLease{6000};
// The most deliveries of one endpoint, and of all, a node holds at once.
inline constexpr int kWebhookMaxAhead = 1024;
inline constexpr int kWebhookMaxHeld = 4096;

// The recorder writes the attempts answered meanwhile in one transaction, at
// most this many, at most once this long while answers keep coming.
inline constexpr std::size_t kWebhookRecordBatch = 512;
inline constexpr std::chrono::milliseconds kWebhookRecordEvery{20};

struct WebhookOptions {
  int workers = 2;
  int batch = 16;                // requests under way at once per worker
  int endpoint_concurrency = 8;  // requests under way to one endpoint, per node
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
  // The node's id is its own across restarts (dispatch.node_id is set): at
  // start, the leases it holds are its previous run's, which died with
  // them, and it takes them back at once.
  bool node_id_is_stable = false;
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
  WebhookSender(WebhookStore& hooks, TenantStore& audit, CurlHttpClient& http,
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
  using Clock = std::chrono::steady_clock;
  struct Ahead {  // a claimed delivery waiting for its request
    WebhookDelivery delivery;
    Clock::time_point leased_until;  // as far as this node knows (renewals move it)
  };
  // One endpoint's work on this node.
  struct Lane {
    std::deque<Ahead> ready;
    int sending = 0;        // requests under way
    int held = 0;           // claimed and not yet recorded (ready, sending, or being recorded)
    double answer_ms = 0;   // how fast it answers, recently (0: not yet known)
    std::set<Uuid> busy;    // messages with an event under way: their next events wait
    bool in_turn = false;   // in turns_
    bool stopped = false;   // disabled meanwhile: the rest goes back unsent
  };

  void claim_loop();   // claims ahead into the lanes, and renews leases
  // Starts the lanes' requests, in turn, while there is room: called when a
  // claim brings work, and as each answer comes in (on the HTTP client's
  // thread), without the lock held.
  void pump();
  void record_loop();  // writes what was sent
  // A request was answered (or no request was needed): with mutex_ held.
  void answered(const Uuid& endpoint, WebhookDelivery delivery, WebhookAttemptOutcome outcome, double took_ms,
                std::vector<WebhookDeliveryKey>& unsent);
  void record(std::vector<Done>& done);
  bool claim();        // false: nothing more is due now
  void renew();
  void give_back(std::vector<WebhookDeliveryKey> keys);
  int ahead_of(const Lane& lane) const;  // how many of the endpoint the node may hold
  // Takes the waiting deliveries of `message` (nullopt: all) out of the
  // lane, with mutex_ held; their keys go to `keys` (to be given back).
  void take_out(const Uuid& endpoint, Lane& lane, const std::optional<Uuid>& message,
                std::vector<WebhookDeliveryKey>* keys);
  void enter_turn(const Uuid& endpoint, Lane& lane);  // with mutex_ held
  // The request an attempt of `d` makes; or, when none is to be made, its
  // outcome.
  std::variant<sdk::HttpRequest, WebhookAttemptOutcome> request_for(const WebhookDelivery& d, TimePoint now);
  WebhookAttemptOutcome outcome_of(const WebhookDelivery& d, const sdk::HttpResponse& r,
                                   std::chrono::milliseconds latency);
  WebhookAttemptOutcome counted(WebhookAttemptOutcome o);

  WebhookStore& hooks_;
  TenantStore& audit_;
  CurlHttpClient& http_;
  WebhookOptions options_;
  std::string owner_;
  std::thread claimer_, recorder_;
  std::mutex mutex_;
  std::condition_variable idle_cv_;    // stop(): no request under way, no callback running
  std::condition_variable done_cv_;    // recorder: a delivery is done, or stopping
  std::condition_variable claim_cv_;   // claimer: there is room to claim, or stopping
  std::map<Uuid, Lane> lanes_;
  std::deque<Uuid> turns_;             // lanes with work and room, in turn
  std::set<WebhookDeliveryKey> held_;  // what the node holds leases of
  std::vector<Done> finished_;
  // (endpoint, message) of an event to be tried again: 0 while its outcome
  // is not yet recorded, then the record's generation. A claim that began
  // before that record may still bring the message's next event (its
  // earlier one was leased here): it goes back (see claim()).
  std::map<std::pair<Uuid, Uuid>, std::uint64_t> retried_;
  std::uint64_t records_ = 0;
  int held_total_ = 0;
  int under_way_ = 0;
  int callbacks_ = 0;  // requests started whose callback has not yet returned
  bool stopping_ = false;
  bool room_opened_ = false;   // a lane's deliveries were recorded: the claimer may top it up
  bool senders_done_ = false;  // stopping, and no request is under way
  std::atomic<std::uint64_t> delivered_{0}, failed_{0}, given_up_{0};
};

}  // namespace barid::core
