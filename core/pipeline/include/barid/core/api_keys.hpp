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
  TenantId tenant_id = 0;
  std::string key_id;
};

class ApiKeys {
 public:
  ApiKeys(TenantStore& store, std::chrono::seconds cache_ttl);

  Result<CreatedApiKey> create(const std::string& tenant_name, const std::string& label);

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

  TenantStore& store_;
  std::chrono::seconds ttl_;
  std::mutex mutex_;
  std::unordered_map<std::string, Known> known_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> unknown_;  // key id -> forget at
};

}  // namespace barid::core
