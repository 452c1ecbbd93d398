#pragma once
// API keys: "brd_<key id>_<secret>". Only the SHA-256 of the secret is
// stored; the key is shown once when it is created. Keys are 160-bit random
// secrets, so a fast hash is enough (no password-style stretching). Verified
// keys are cached for `cache_ttl` (a revocation takes at most that long to
// bite) so that the accept path does not query the database per request.

#include <barid/core/message.hpp>
#include <barid/core/result.hpp>
#include <barid/core/store.hpp>

#include <chrono>
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
  // malformed, unknown, revoked or wrong.
  Result<Principal> authenticate(std::string_view presented);

 private:
  struct Cached {
    ApiKeyRecord record;
    bool exists = false;
    std::chrono::steady_clock::time_point expires;
  };
  TenantStore& store_;
  std::chrono::seconds ttl_;
  std::mutex mutex_;
  std::unordered_map<std::string, Cached> cache_;
};

}  // namespace barid::core
