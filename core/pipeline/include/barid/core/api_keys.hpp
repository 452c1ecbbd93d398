#pragma once
// API keys: "brd_<key id>_<secret>". Only the SHA-256 of the secret is
// stored; the key is shown once when it is created. Keys are 160-bit random
// secrets, so a fast hash is enough (no password-style stretching). Known
// keys are cached for `cache_ttl` (a revocation takes at most that long to
// bite) so that the accept path does not query the database per request.
// Key ids the database did not know are remembered apart, briefly and in a
// bounded set of their own: a flood of made-up keys cannot evict the real ones.
//
// While `watch` runs, the node also holds the ids of every live key (the
// directory: loaded once, then kept by the same poll that reads revocations).
// An id outside it is made up, or was created on another node since the last
// poll; only the second needs the database, so such ids are looked up within
// a small budget per second, and past it answered `unavailable` (503, try
// again) without asking: random keys at any rate cost the database nothing
// more than the budget.

#include <barid/core/message.hpp>
#include <barid/core/result.hpp>
#include <barid/core/store.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <thread>
#include <optional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace barid::core {

struct CreatedApiKey {
  std::string key;  // the whole key; shown once
  std::string key_id;
  Tenant tenant;
};

struct Principal {
  TenantId tenant_id = 0;  // 0 for an operator
  std::string key_id;
  KeyRole role = KeyRole::tenant;
  Scopes scopes = kAllScopes;
  bool tenant_suspended = false;
  bool is_operator() const noexcept { return role == KeyRole::operator_; }
};

class ApiKeys {
 public:
  ApiKeys(TenantStore& store, std::chrono::seconds cache_ttl);
  ~ApiKeys();

  // A key for the tenant of that name (created if there is none).
  Result<CreatedApiKey> create(const std::string& tenant_name, const std::string& label);
  // A key for `tenant` with `scopes`.
  Result<CreatedApiKey> create_for(const Tenant& tenant, const std::string& label, Scopes scopes);
  // An operator key: /v1/admin/ only.
  Result<CreatedApiKey> create_operator(const std::string& label);

  // Every `interval`, asks the store which keys were revoked and which
  // tenants suspended or resumed (on any node) and forgets them, so that a
  // revocation bites within about that long everywhere.
  void watch(std::chrono::milliseconds interval);
  // Forgets what changed since the last call (the watcher's step).
  Status forget_changed();
  // Forgets one key / one tenant's keys on this node at once.
  void forget_key(const std::string& key_id);
  void forget_tenant(TenantId tenant);

  // The tenant a presented key belongs to; not_found for a key that is
  // malformed, unknown, revoked or wrong; unavailable when only the database
  // could tell and the lookup budget is spent. May ask the database.
  Result<Principal> authenticate(std::string_view presented);
  // The same from memory alone, never waiting on the database: nullopt when
  // only the database can tell (then call authenticate where waiting is
  // allowed: the lookup granted here is not charged twice).
  std::optional<Result<Principal>> authenticate_cached(std::string_view presented);

  // Database lookups of ids outside the directory allowed per second.
  static constexpr int kLookupsPerSecond = 50;
  // Lookups refused for want of budget, since start.
  std::uint64_t lookups_refused() const noexcept { return refused_.load(std::memory_order_relaxed); }
  // Whether the directory of live key ids is loaded (watch is running).
  bool has_directory() const;

 private:
  struct Known {
    ApiKeyRecord record;
    std::chrono::steady_clock::time_point expires;
  };
  struct Presented {
    std::string key_id;
    std::string_view secret;
  };
  static std::optional<Presented> split(std::string_view presented);
  // A grant is made by the reactor's check and spent by the lookup after it.
  enum class Lookup { grant, spend };
  std::optional<Result<Principal>> from_memory(std::string_view presented, Lookup how);
  bool take_lookup(std::chrono::steady_clock::time_point now);  // under mutex_
  static Result<Principal> verify(const ApiKeyRecord& record, std::string_view secret);

  Result<CreatedApiKey> add(ApiKeyRecord rec, const Tenant& tenant);

  TenantStore& store_;
  std::chrono::seconds ttl_;
  std::optional<TimePoint> changes_since_;
  std::mutex watch_mutex_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;
  std::thread watcher_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Known> known_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> unknown_;  // key id -> forget at
  std::optional<std::unordered_set<std::string>> directory_;  // live key ids, while watched
  std::unordered_set<std::string> granted_;                   // ids granted a lookup, not yet looked up
  double lookup_tokens_ = kLookupsPerSecond;
  std::chrono::steady_clock::time_point tokens_at_{};
  std::atomic<std::uint64_t> refused_{0};
};

}  // namespace barid::core
