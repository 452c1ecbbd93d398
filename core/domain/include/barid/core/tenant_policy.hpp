#pragma once
// What a tenant may send, as its operator set it: the senders per channel
// (and the one used when a send names none), the provider templates, the
// destination countries. An empty rule restricts nothing. Checked on the
// accept path for every message.

#include <barid/core/message.hpp>
#include <barid/core/result.hpp>

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>

namespace barid::core {

// TenantPolicy itself is in message.hpp (a Tenant carries one).

// The policy as the API shows and takes it (and as it is stored):
// {"allowed_senders": {"sms": [...]}, "default_senders": {"sms": "..."},
//  "allowed_provider_templates": [...], "allowed_countries": ["SA", ...],
//  "quotas": {...}, "spend_cap": ..., "routing": {...}, "max_priority": "normal",
//  "share": 1}.
nlohmann::json to_json(const TenantPolicy& p);
// Reads and checks one; the error names the offending field. Keys that are
// absent leave that rule empty.
Result<TenantPolicy> policy_from_json(const nlohmann::json& j);

// The most a tenant's `share` may weigh (its slots per turn at a shared
// instance).
inline constexpr int kMaxShare = 100;
// A tenant's own route (routing.<channel>): at most this many fallback
// instances, and primary_attempts from 0 to kMaxPrimaryAttempts.
inline constexpr std::size_t kMaxFallbacks = 8;
inline constexpr int kMaxPrimaryAttempts = 100;

// The tenant's max_priority: a message that asks for more (itself or through
// its template) is refused, naming `priority`; one that asks for nothing and
// would be `normal` gets the maximum when that is lower (a bulk's default,
// `low`, is never above it).
Status check_priority(const TenantPolicy& p, NewMessage& m);

// Applies the policy to a message about to be stored: fills in the default
// sender, or names the field (from, provider_template, to) that breaks it.
Status apply_policy(const TenantPolicy& p, NewMessage& m);

}  // namespace barid::core
