#include <barid/core/api_keys.hpp>

#include <barid/core/host_context.hpp>
#include <barid/core/ids.hpp>
#include <barid/core/log.hpp>
#include <barid/sdk/encoding.hpp>

namespace barid::core {

namespace {
constexpr std::string_view kPrefix = "brd_";
constexpr std::size_t kMaxCached = 10000;
// How long a key id the database did not know is answered 401 from memory (a
// key created meanwhile on another node works after this at the latest).
constexpr std::chrono::seconds kUnknownTtl{10};
}  // namespace

ApiKeys::ApiKeys(TenantStore& store, std::chrono::seconds cache_ttl) : store_(store), ttl_(cache_ttl) {}

ApiKeys::~ApiKeys() {
  {
    std::lock_guard lock(watch_mutex_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

Result<CreatedApiKey> ApiKeys::add(ApiKeyRecord rec, const Tenant& tenant) {
  rec.key_id = random_hex(8);
  const std::string secret = random_hex(20);
  rec.secret_hash = OpenSslCrypto().sha256(secret);
  if (auto st = store_.add_api_key(rec); !st) return st.error();
  {
    std::lock_guard lock(mutex_);
    if (directory_) directory_->insert(rec.key_id);
  }
  return CreatedApiKey{std::string(kPrefix) + rec.key_id + "_" + secret, rec.key_id, tenant};
}

Result<CreatedApiKey> ApiKeys::create(const std::string& tenant_name, const std::string& label) {
  auto tenant = store_.ensure_tenant(tenant_name);
  if (!tenant) return tenant.error();
  return create_for(*tenant, label, kAllScopes);
}

Result<CreatedApiKey> ApiKeys::create_for(const Tenant& tenant, const std::string& label, Scopes scopes) {
  ApiKeyRecord rec;
  rec.tenant_id = tenant.id;
  rec.label = label;
  rec.scopes = scopes;
  return add(std::move(rec), tenant);
}

Result<CreatedApiKey> ApiKeys::create_operator(const std::string& label) {
  ApiKeyRecord rec;
  rec.role = KeyRole::operator_;
  rec.scopes = 0;
  rec.label = label;
  return add(std::move(rec), Tenant{});
}

void ApiKeys::watch(std::chrono::milliseconds interval) {
  if (watcher_.joinable()) return;
  // The watermark is set now, so a change made while the first interval
  // runs is seen by the first poll.
  if (auto st = forget_changed(); !st) log_warn("auth", "cannot read key changes: " + st.error().message);
  watcher_ = std::thread([this, interval] {
    std::unique_lock lock(watch_mutex_);
    while (!watch_cv_.wait_for(lock, interval, [&] { return stopping_; })) {
      lock.unlock();
      if (auto st = forget_changed(); !st) log_debug("auth", "cannot read key changes: " + st.error().message);
      lock.lock();
    }
  });
}

Status ApiKeys::forget_changed() {
  // The first call only sets the watermark: the caches start empty.
  auto changes = store_.auth_changes_since(changes_since_.value_or(now_us() + std::chrono::hours(1)));
  if (!changes) return changes.error();
  const bool first = !changes_since_;
  changes_since_ = changes->as_of;
  if (!first) {
    std::lock_guard lock(mutex_);
    if (directory_)
      for (const auto& k : changes->added) directory_->insert(k);
  }
  if (!first)
    for (const auto& k : changes->keys) forget_key(k);
  if (!first)
    for (auto t : changes->tenants) forget_tenant(t);
  // Loaded after the watermark is set: a key created meanwhile is in the list
  // or in the next poll's, one revoked meanwhile leaves with the next poll.
  if (!has_directory()) {
    auto ids = store_.active_api_key_ids();
    if (!ids) return ids.error();
    std::lock_guard lock(mutex_);
    directory_.emplace(std::make_move_iterator(ids->begin()), std::make_move_iterator(ids->end()));
  }
  return {};
}

bool ApiKeys::has_directory() const {
  std::lock_guard lock(mutex_);
  return directory_.has_value();
}

void ApiKeys::forget_key(const std::string& key_id) {
  std::lock_guard lock(mutex_);
  known_.erase(key_id);
  if (directory_) directory_->erase(key_id);
}

void ApiKeys::forget_tenant(TenantId tenant) {
  std::lock_guard lock(mutex_);
  for (auto it = known_.begin(); it != known_.end();)
    it = it->second.record.tenant_id == tenant ? known_.erase(it) : std::next(it);
}

std::optional<ApiKeys::Presented> ApiKeys::split(std::string_view presented) {
  if (presented.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  presented.remove_prefix(kPrefix.size());
  const auto sep = presented.find('_');
  if (sep == std::string_view::npos || sep == 0 || sep > 32) return std::nullopt;
  return Presented{std::string(presented.substr(0, sep)), presented.substr(sep + 1)};
}

Result<Principal> ApiKeys::verify(const ApiKeyRecord& record, std::string_view secret) {
  if (record.revoked) return Error::not_found("the API key is not valid");
  const std::string hash = OpenSslCrypto().sha256(secret);
  if (!sdk::constant_time_equals(hash, record.secret_hash)) return Error::not_found("the API key is not valid");
  return Principal{record.tenant_id, record.key_id, record.role, record.scopes, record.tenant_suspended};
}

bool ApiKeys::take_lookup(std::chrono::steady_clock::time_point now) {
  const double elapsed = std::chrono::duration<double>(now - tokens_at_).count();
  tokens_at_ = now;
  lookup_tokens_ = std::min<double>(kLookupsPerSecond, lookup_tokens_ + elapsed * kLookupsPerSecond);
  if (lookup_tokens_ < 1) return false;
  lookup_tokens_ -= 1;
  return true;
}

std::optional<Result<Principal>> ApiKeys::from_memory(std::string_view presented, Lookup how) {
  auto p = split(presented);
  if (!p) return Result<Principal>(Error::not_found("the API key is not valid"));
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (auto it = known_.find(p->key_id); it != known_.end() && it->second.expires > now)
    return verify(it->second.record, p->secret);
  if (auto it = unknown_.find(p->key_id); it != unknown_.end() && it->second > now)
    return Result<Principal>(Error::not_found("the API key is not valid"));
  if (!directory_ || directory_->count(p->key_id)) return std::nullopt;
  // Made up, or created on another node since the last poll.
  if (how == Lookup::spend && granted_.erase(p->key_id)) return std::nullopt;
  if (!take_lookup(now)) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return Result<Principal>(Error::unavailable("the API key cannot be checked now; try again shortly"));
  }
  if (how == Lookup::grant) {
    if (granted_.size() >= 1024) granted_.clear();  // grants whose request never got to its lookup
    granted_.insert(p->key_id);
  }
  return std::nullopt;
}

std::optional<Result<Principal>> ApiKeys::authenticate_cached(std::string_view presented) {
  return from_memory(presented, Lookup::grant);
}

Result<Principal> ApiKeys::authenticate(std::string_view presented) {
  if (auto cached = from_memory(presented, Lookup::spend)) return *cached;
  auto p = split(presented);  // well-formed, or the cache would have said
  auto found = store_.find_api_key(p->key_id);
  if (!found) return found.error();
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (!found->has_value()) {
    if (unknown_.size() >= kMaxCached) unknown_.clear();  // only made-up ids are forgotten
    unknown_[p->key_id] = now + std::min<std::chrono::steady_clock::duration>(ttl_, kUnknownTtl);
    return Error::not_found("the API key is not valid");
  }
  if (known_.size() >= kMaxCached) {
    for (auto it = known_.begin(); it != known_.end();) it = it->second.expires <= now ? known_.erase(it) : std::next(it);
    if (known_.size() >= kMaxCached) known_.erase(known_.begin());
  }
  known_[p->key_id] = Known{**found, now + ttl_};
  return verify(**found, p->secret);
}

}  // namespace barid::core
