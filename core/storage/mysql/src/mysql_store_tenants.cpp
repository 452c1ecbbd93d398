// MySqlStore: tenants, API keys (tenant and operator keys), and what changed
// for the key caches of every node.

#include <barid/core/mysql_store.hpp>

#include "sql_helpers.hpp"

#include <barid/core/log.hpp>
#include <barid/core/tenant_policy.hpp>

#include <algorithm>
#include <regex>
#include <sstream>

namespace barid::core {

using mysql::DbConnection;
using namespace mysql::sql_helpers;

namespace {

constexpr const char* kTenantColumns =
    "id, name, default_language, retention_days, suspended_at, created_at, policy, discard_content, redact_after_days";

Tenant read_tenant(sql::ResultSet& rs) {
  Tenant t;
  t.id = static_cast<TenantId>(rs.getUInt("id"));
  t.name = get_str(rs, "name");
  t.default_language = get_str(rs, "default_language");
  if (!rs.isNull("retention_days")) t.retention_days = rs.getInt("retention_days");
  t.discard_content = rs.getInt("discard_content") != 0;
  if (!rs.isNull("redact_after_days")) t.redact_after_days = rs.getInt("redact_after_days");
  t.suspended_at = get_time(rs, "suspended_at");
  t.created_at = get_time(rs, "created_at").value_or(TimePoint{});
  if (const std::string policy = get_str(rs, "policy"); !policy.empty()) {
    auto parsed = policy_from_json(nlohmann::json::parse(policy, nullptr, false));
    // Written by set_tenant_policy from a checked policy; should it not read
    // back, the tenant may send nothing rather than anything.
    if (parsed) {
      t.policy = std::move(*parsed);
    } else {
      log_error("store", "tenant " + std::to_string(t.id) + " has a policy that does not read back: " +
                             parsed.error().message);
      t.policy.allowed_countries = {"ZZ"};
    }
  }
  return t;
}

std::string scopes_text(Scopes s) {
  std::string out;
  for (const auto& w : scopes_to_list(s)) out += (out.empty() ? "" : ",") + w;
  return out;
}

Scopes scopes_of(const std::string& text) {
  std::vector<std::string> words;
  std::stringstream in(text);
  for (std::string w; std::getline(in, w, ',');)
    if (!w.empty()) words.push_back(w);
  return scopes_from_list(words).value_or(0);  // an unknown word grants nothing
}

constexpr const char* kKeyColumns =
    "k.id, k.tenant_id, k.role, k.scopes, k.secret_hash, k.label, k.created_at, k.revoked_at, "
    "t.suspended_at IS NOT NULL AS tenant_suspended";

ApiKeyRecord read_key(sql::ResultSet& rs) {
  ApiKeyRecord k;
  k.key_id = get_str(rs, "id");
  k.tenant_id = rs.isNull("tenant_id") ? 0 : static_cast<TenantId>(rs.getUInt("tenant_id"));
  k.role = get_str(rs, "role") == "operator" ? KeyRole::operator_ : KeyRole::tenant;
  k.scopes = scopes_of(get_str(rs, "scopes"));
  k.secret_hash = get_str(rs, "secret_hash");
  k.label = get_str(rs, "label");
  k.created_at = get_time(rs, "created_at").value_or(TimePoint{});
  k.revoked_at = get_time(rs, "revoked_at");
  k.revoked = k.revoked_at.has_value();
  k.tenant_suspended = !rs.isNull("tenant_suspended") && rs.getBoolean("tenant_suspended");
  return k;
}

// A tenant is named in URL paths (/v1/admin/tenants/{tenant}: its id or its
// name), so a name is a plain word that cannot be read as an id.
Status check_tenant_name(const std::string& name) {
  static const std::regex name_re("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
  if (!std::regex_match(name, name_re) ||
      std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return Error::invalid("name", "a tenant name has letters, digits, '.', '_' and '-' (at most 100) and is not "
                                  "digits alone (those name a tenant by id)");
  return {};
}

}  // namespace

Result<Tenant> MySqlStore::ensure_tenant(const std::string& name) {
  if (auto st = check_tenant_name(name); !st) return st.error();
  return run(*pool_, "ensure tenant", [&](DbConnection& c, int) {
    c.execute("INSERT IGNORE INTO tenants (name, created_at) VALUES (" + q(c, name) + ", UTC_TIMESTAMP(6))");
    auto rs = c.query(std::string("SELECT ") + kTenantColumns + " FROM tenants WHERE name = " + q(c, name));
    if (!rs->next()) throw std::runtime_error("tenant vanished after insert");
    return read_tenant(*rs);
  });
}

Result<Tenant> MySqlStore::create_tenant(const std::string& name) {
  if (auto st = check_tenant_name(name); !st) return st.error();
  bool taken = false;
  auto r = run(*pool_, "create tenant", [&](DbConnection& c, int) -> Tenant {
    taken = c.update("INSERT IGNORE INTO tenants (name, created_at, changed_at) VALUES (" + q(c, name) +
                     ", UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))") == 0;
    auto rs = c.query(std::string("SELECT ") + kTenantColumns + " FROM tenants WHERE name = " + q(c, name));
    if (!rs->next()) throw std::runtime_error("tenant vanished after insert");
    return read_tenant(*rs);
  });
  if (r && taken) return Error::conflict("a tenant named '" + name + "' exists already (id " + std::to_string(r->id) + ")");
  return r;
}

Result<std::optional<Tenant>> MySqlStore::find_tenant(TenantId id) {
  return run(*pool_, "find tenant", [&](DbConnection& c, int) -> std::optional<Tenant> {
    auto rs = c.query(std::string("SELECT ") + kTenantColumns + " FROM tenants WHERE id = " + std::to_string(id));
    if (!rs->next()) return std::nullopt;
    return read_tenant(*rs);
  });
}

Result<std::optional<Tenant>> MySqlStore::find_tenant_by_name(const std::string& name) {
  return run(*pool_, "find tenant", [&](DbConnection& c, int) -> std::optional<Tenant> {
    auto rs = c.query(std::string("SELECT ") + kTenantColumns + " FROM tenants WHERE name = " + q(c, name));
    if (!rs->next()) return std::nullopt;
    return read_tenant(*rs);
  });
}

Result<std::vector<Tenant>> MySqlStore::list_tenants() {
  return run(*pool_, "list tenants", [&](DbConnection& c, int) {
    std::vector<Tenant> out;
    auto rs = c.query(std::string("SELECT ") + kTenantColumns + " FROM tenants ORDER BY id");
    while (rs->next()) out.push_back(read_tenant(*rs));
    return out;
  });
}

Result<bool> MySqlStore::set_tenant_suspended(TenantId id, bool suspended) {
  return run(*pool_, "suspend tenant", [&](DbConnection& c, int) {
    c.execute(std::string("UPDATE tenants SET suspended_at = ") +
              (suspended ? "COALESCE(suspended_at, UTC_TIMESTAMP(6))" : "NULL") +
              ", changed_at = UTC_TIMESTAMP(6) WHERE id = " + std::to_string(id));
    auto rs = c.query("SELECT 1 FROM tenants WHERE id = " + std::to_string(id));
    return rs->next();
  });
}

Result<bool> MySqlStore::set_tenant_policy(TenantId id, const TenantPolicy& policy) {
  return run(*pool_, "set tenant policy", [&](DbConnection& c, int) {
    c.execute("UPDATE tenants SET policy = " + q(c, to_json(policy).dump()) +
              ", changed_at = UTC_TIMESTAMP(6) WHERE id = " + std::to_string(id));
    auto rs = c.query("SELECT 1 FROM tenants WHERE id = " + std::to_string(id));
    return rs->next();
  });
}

Status MySqlStore::add_api_key(const ApiKeyRecord& key) {
  auto r = run(*pool_, "add api key", [&](DbConnection& c, int) {
    c.execute("INSERT INTO api_keys (id, tenant_id, role, scopes, secret_hash, label, created_at) VALUES (" +
              q(c, key.key_id) + "," + (key.role == KeyRole::operator_ ? "NULL" : std::to_string(key.tenant_id)) +
              "," + (key.role == KeyRole::operator_ ? "'operator'" : "'tenant'") + "," +
              q(c, scopes_text(key.scopes)) + "," + hex_literal(key.secret_hash) + "," +
              q(c, truncate(to_valid_utf8(key.label), 100)) + ", UTC_TIMESTAMP(6))");
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<std::optional<ApiKeyRecord>> MySqlStore::find_api_key(const std::string& key_id) {
  return run(*pool_, "find api key", [&](DbConnection& c, int) -> std::optional<ApiKeyRecord> {
    auto& ps = c.prepare(std::string("SELECT ") + kKeyColumns +
                         " FROM api_keys k LEFT JOIN tenants t ON t.id = k.tenant_id WHERE k.id = ?");
    ps.setString(1, key_id);
    std::unique_ptr<sql::ResultSet> rs(ps.executeQuery());
    if (!rs->next()) return std::nullopt;
    return read_key(*rs);
  });
}

Result<std::vector<ApiKeyRecord>> MySqlStore::list_api_keys(TenantId tenant) {
  return run(*pool_, "list api keys", [&](DbConnection& c, int) {
    std::vector<ApiKeyRecord> out;
    auto rs = c.query(std::string("SELECT ") + kKeyColumns +
                      " FROM api_keys k LEFT JOIN tenants t ON t.id = k.tenant_id WHERE k.tenant_id = " +
                      std::to_string(tenant) + " ORDER BY k.created_at, k.id");
    while (rs->next()) out.push_back(read_key(*rs));
    return out;
  });
}

Result<std::optional<TenantStore::KeyRevocation>> MySqlStore::revoke_api_key(const std::string& key_id) {
  return run(*pool_, "revoke api key", [&](DbConnection& c, int) -> std::optional<KeyRevocation> {
    const bool changed =
        c.update("UPDATE api_keys SET revoked_at = UTC_TIMESTAMP(6) WHERE revoked_at IS NULL AND id = " + q(c, key_id)) >
        0;
    auto rs = c.query(std::string("SELECT ") + kKeyColumns +
                      " FROM api_keys k LEFT JOIN tenants t ON t.id = k.tenant_id WHERE k.id = " + q(c, key_id));
    if (!rs->next()) return std::nullopt;
    return KeyRevocation{read_key(*rs), changed};
  });
}

Result<TenantStore::AuthChanges> MySqlStore::auth_changes_since(TimePoint since) {
  return run(*pool_, "auth changes", [&](DbConnection& c, int) {
    AuthChanges out;
    auto now = c.query("SELECT UTC_TIMESTAMP(6)");
    now->next();
    out.as_of = parse_db_time(now->getString(1).asStdString()).value_or(since);
    // A second of overlap: a change committed late with an earlier time is
    // still seen (forgetting a cached key twice costs one lookup).
    const std::string from = "'" + format_db_time(since - std::chrono::seconds(1)) + "'";
    auto keys = c.query("SELECT id FROM api_keys WHERE revoked_at >= " + from);
    while (keys->next()) out.keys.push_back(keys->getString(1).asStdString());
    auto added = c.query("SELECT id FROM api_keys WHERE created_at >= " + from + " AND revoked_at IS NULL");
    while (added->next()) out.added.push_back(added->getString(1).asStdString());
    auto tenants = c.query("SELECT id FROM tenants WHERE changed_at >= " + from);
    while (tenants->next()) out.tenants.push_back(static_cast<TenantId>(tenants->getUInt(1)));
    return out;
  });
}

Result<std::vector<std::string>> MySqlStore::active_api_key_ids() {
  return run(*pool_, "active api keys", [&](DbConnection& c, int) {
    std::vector<std::string> ids;
    auto rs = c.query("SELECT id FROM api_keys WHERE revoked_at IS NULL");
    while (rs->next()) ids.push_back(rs->getString(1).asStdString());
    return ids;
  });
}

}  // namespace barid::core
