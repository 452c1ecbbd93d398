#include <barid/core/api_keys.hpp>

#include <barid/core/host_context.hpp>
#include <barid/core/ids.hpp>
#include <barid/sdk/encoding.hpp>

namespace barid::core {

namespace {
constexpr std::string_view kPrefix = "brd_";
constexpr std::size_t kMaxCached = 10000;
}  // namespace

ApiKeys::ApiKeys(TenantStore& store, std::chrono::seconds cache_ttl) : store_(store), ttl_(cache_ttl) {}

Result<CreatedApiKey> ApiKeys::create(const std::string& tenant_name, const std::string& label) {
  auto tenant = store_.ensure_tenant(tenant_name);
  if (!tenant) return tenant.error();
  ApiKeyRecord rec;
  rec.key_id = random_hex(8);
  const std::string secret = random_hex(20);
  rec.tenant_id = tenant->id;
  rec.secret_hash = OpenSslCrypto().sha256(secret);
  rec.label = label;
  if (auto st = store_.add_api_key(rec); !st) return st.error();
  return CreatedApiKey{std::string(kPrefix) + rec.key_id + "_" + secret, rec.key_id, *tenant};
}

Result<Principal> ApiKeys::authenticate(std::string_view presented) {
  const auto unknown = Error::not_found("the API key is not valid");
  if (presented.substr(0, kPrefix.size()) != kPrefix) return unknown;
  presented.remove_prefix(kPrefix.size());
  const auto sep = presented.find('_');
  if (sep == std::string_view::npos || sep == 0 || sep > 32) return unknown;
  const std::string key_id(presented.substr(0, sep));
  const std::string_view secret = presented.substr(sep + 1);

  Cached entry;
  bool hit = false;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(key_id);
    if (it != cache_.end() && it->second.expires > now) {
      entry = it->second;
      hit = true;
    }
  }
  if (!hit) {
    auto found = store_.find_api_key(key_id);
    if (!found) return found.error();
    entry.exists = found->has_value();
    if (entry.exists) entry.record = **found;
    entry.expires = now + ttl_;
    std::lock_guard lock(mutex_);
    if (cache_.size() >= kMaxCached) cache_.clear();
    cache_[key_id] = entry;
  }
  if (!entry.exists || entry.record.revoked) return unknown;
  const std::string hash = OpenSslCrypto().sha256(secret);
  if (!sdk::constant_time_equals(hash, entry.record.secret_hash)) return unknown;
  return Principal{entry.record.tenant_id, entry.record.key_id};
}

}  // namespace barid::core
