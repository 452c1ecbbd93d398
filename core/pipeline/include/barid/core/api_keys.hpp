#pragma once
// API keys: "brd_<key id>_<secret>". Only the SHA-256 of the secret is
// stored; the key is shown once when it is created. Keys are 160-bit random
// secrets, so a fast hash is enough (no password-style stretching). Known
// keys are cached for `cache_ttl` (a revocation takes at most that long to
// bite) so that the accept path does not query the database per request.
// Key ids the database did not know are remembered apart, briefly and in a
// bounded set of their own: a flood of made-up keys can neither evict the
// real ones nor make every request ask the database.

#include <barid/core/message.hpp>
#include <barid/core/result.hpp>
#include <barid/core/store.hpp>

#include <chrono>
#include <condition_variable>
#include <thread>
#include <optional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

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
  // malformed, unknown, revoked or wrong. May ask the database.
  Result<Principal> authenticate(std::string_view presented);
  // The same from the caches alone, never waiting on the database: nullopt
  // when only the database can tell (then call authenticate where waiting
  // is allowed).
  std::optional<Result<Principal>> authenticate_cached(std::string_view presented);

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
  static Result<Principal> verify(const ApiKeyRecord& record, std::string_view secret);

  Result<CreatedApiKey> add(ApiKeyRecord rec, const Tenant& tenant);

  TenantStore& store_;
  std::chrono::seconds ttl_;
  std::optional<TimePoint> changes_since_;
  std::mutex watch_mutex_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;
  std::thread watcher_;
  std::mutex mutex_;
  std::unordered_map<std::string, Known> known_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> unknown_;  // key id -> forget at
};

}  // namespace barid::core
