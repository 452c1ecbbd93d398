#pragma once
// The accept path: a send request is validated and turned into a NewMessage
// (intake), then stored by the IntakeWriter, which groups the messages of
// concurrent requests into one multi-row transaction (group commit) so that
// requests do not queue behind one commit each.

#include <barid/core/accept_policy.hpp>
#include <barid/core/intake_limits.hpp>
#include <barid/core/message.hpp>
#include <barid/core/phone.hpp>
#include <barid/core/result.hpp>
#include <barid/core/store.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace barid::core {

// A send request as the API received it, before validation.
struct SendRequest {
  std::string to;
  std::string channel = "sms";
  std::string body;
  std::string from;
  std::string scheduled_at;  // ISO 8601 with a zone; empty: now
  std::string priority;      // high, normal, low; empty: the template's, else normal (bulk: low)
  std::string expires_at;    // ISO 8601 with a zone; or
  std::string validity;      // "2h": from the time it is due (now, or scheduled_at)
  std::string reference;
  std::string recipient_id;
  std::string category;
  std::string provider_template;
  std::vector<std::string> template_variables;
  std::optional<TemplateRequest> template_request;  // send from a stored template
  std::optional<int> max_attempts;
  std::map<std::string, std::string> replies;  // answer -> intent
  std::string reply_window;                    // "72h": how long replies are taken as answers
  std::string content_retention;               // "retain" or "discard"; empty: the tenant's default
  std::string idempotency_key;
  std::string request_hash;  // SHA-256 of the canonical request (raw bytes)
};

class MessageIntake {
 public:
  MessageIntake(PhoneNormalizer phones, IntakeLimits limits, int default_max_attempts);

  // Validates `request` and builds the message to store. `routable` is the
  // set of channels some provider instance serves.
  Result<NewMessage> prepare(const SendRequest& request, TenantId tenant, const Actor& actor,
                             const std::set<sdk::Channel>& routable) const;

  const PhoneNormalizer& phones() const noexcept { return phones_; }

 private:
  PhoneNormalizer phones_;
  IntakeLimits limits_;
  int default_max_attempts_;
};

// The error for a message its tenant's quota or spend cap did not allow
// (an over_quota or over_spend_cap outcome).
Error limit_error(const InsertOutcome& o);

struct IntakeWriterOptions {
  int writers = 2;              // concurrent transactions
  std::size_t max_batch = 500;  // messages per transaction
  std::size_t max_pending = 100000;
};

class IntakeWriter {
 public:
  using Done = std::function<void(const Result<InsertOutcome>&)>;

  // `policy` (may be null) completes each batch before it is stored.
  IntakeWriter(MessageStore& store, AcceptPolicy* policy, IntakeWriterOptions options, std::function<void()> on_committed);
  ~IntakeWriter();

  // Queues a message; `done` runs on a writer thread after the commit (or
  // the failure). False when the queue is full: answer 503 right away.
  bool submit(NewMessage message, Done done);

  // Stores what was queued, then stops.
  void stop();
  std::size_t pending() const;

  struct Stats {
    std::uint64_t stored = 0;     // messages committed (suppressed ones included)
    std::uint64_t refused = 0;    // refused by the accept policy (422) or the tenant's limits (429, 402)
    std::uint64_t failed = 0;     // messages answered 503 (the database failed)
    std::uint64_t batches = 0;    // transactions
  };
  Stats stats() const noexcept;

 private:
  struct Item {
    NewMessage message;
    Done done;
  };
  void loop();

  MessageStore& store_;
  AcceptPolicy* policy_;
  IntakeWriterOptions options_;
  std::function<void()> on_committed_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> stored_{0}, refused_{0}, failed_{0}, batches_{0};
  std::vector<std::thread> threads_;
};

}  // namespace barid::core
