// MySqlStore: opt-outs, inbound messages and preferences, templates.

#include <barid/core/mysql_store.hpp>

#include "message_rows.hpp"
#include "outbox.hpp"
#include "sealing.hpp"
#include "sql_helpers.hpp"

#include <cppconn/exception.h>

#include <algorithm>
#include <sstream>

namespace barid::core {

using namespace mysql::sql_helpers;
using namespace mysql::sealing;
using namespace mysql::outbox;
using namespace mysql::message_rows;

namespace {

std::string channels_text(const std::set<sdk::Channel>& channels) {
  std::vector<std::string> names;
  for (auto c : channels) names.emplace_back(sdk::to_string(c));
  return join(names);
}

std::set<sdk::Channel> parse_channels(const std::string& s) {
  std::set<sdk::Channel> out;
  for (const auto& name : split(s))
    if (auto c = sdk::channel_from_string(name)) out.insert(*c);
  return out;
}

// A recipient key as stored: "phone:<number>" names the number's keyed hash
// when numbers are sealed; "id:..." keys are the client's own ids.
std::string stored_recipient_key(DbConnection& c, const std::string& key) {
  if (key.rfind("phone:", 0) != 0) return key;
  return "phone:" + number_key(c, key.substr(6));
}
std::vector<std::string> recipient_key_forms(DbConnection& c, const std::string& key) {
  if (key.rfind("phone:", 0) != 0) return {key};
  std::vector<std::string> out;
  for (const auto& f : number_forms(c, key.substr(6))) out.push_back("phone:" + f);
  return out;
}

std::string quoted_list(DbConnection& c, const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + q(c, i);
  return out;
}

// A row of recipient_preferences (its update time in `at`), without the
// number: how it is shown depends on how it was asked for.
RecipientPreferences read_preferences(sql::ResultSet& rs, const char* at) {
  RecipientPreferences p;
  p.recipient_id = get_str(rs, "recipient_id");
  p.channels = parse_channels(get_str(rs, "channels"));
  for (const auto& cat : split(get_str(rs, "blocked_categories"))) p.blocked_categories.insert(cat);
  p.language = get_str(rs, "language");
  p.opted_out = rs.getBoolean("opted_out");
  p.updated_at = get_time(rs, at).value_or(TimePoint{});
  return p;
}

}  // namespace

Status MySqlStore::add_opt_out(const OptOut& o) {
  auto r = run(*pool_, "add opt-out", [&](DbConnection& c, int) {
    c.begin();
    c.execute("INSERT INTO opt_outs (tenant_id, phone, channel, instance, source, detail, created_at) VALUES (" +
              std::to_string(o.tenant_id) + "," + q(c, number_key(c, o.phone)) + "," + q(c, o.channel) + "," +
              q(c, truncate(o.instance, 64)) + "," + q(c, truncate(o.source, 64)) + "," + q(c, truncate(o.detail, 255)) +
              ",UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE source = VALUES(source), detail = VALUES(detail)");
    if (o.notify_tenant)
      write_outbox(c, {NewWebhookEvent{*o.notify_tenant, "recipient.opted_out", std::nullopt, std::nullopt, o.source,
                                       std::nullopt, o.phone, o.channel}});
    c.commit();
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<int> MySqlStore::remove_opt_out(const std::vector<TenantId>& tenants, const std::string& phone,
                                       const std::string& channel, const std::string& instance,
                                       std::optional<TenantId> notify) {
  return run(*pool_, "remove opt-out", [&](DbConnection& c, int) {
    c.begin();
    // Recorded through this instance for the tenants it serves; or through it
    // before opt-outs had a scope (tenant 0, no instance, named in source).
    const std::string name = truncate(instance, 64);
    std::string scoped;
    for (auto t : tenants) scoped += (scoped.empty() ? "" : ",") + std::to_string(t);
    std::string which = "(tenant_id = 0 AND instance = '' AND source IN (" +
                        q(c, truncate("inbound:" + instance, 64)) + "," + q(c, truncate("provider:" + instance, 64)) +
                        "))";
    if (!scoped.empty()) which = "((tenant_id IN (" + scoped + ") AND instance = " + q(c, name) + ") OR " + which + ")";
    const auto n = static_cast<int>(c.update("DELETE FROM opt_outs WHERE " + number_match(c, "phone", phone) +
                                             " AND channel IN (" + q(c, channel) + ", '*') AND " + which));
    if (notify && n > 0)
      write_outbox(c, {NewWebhookEvent{*notify, "recipient.opted_in", std::nullopt, std::nullopt, "", std::nullopt,
                                       phone, channel}});
    c.commit();
    return n;
  });
}

Result<bool> MySqlStore::claim_inbound(const std::string& instance, const std::string& provider_message_id) {
  return run(*pool_, "claim inbound", [&](DbConnection& c, int) {
    const std::string key =
        "instance = " + q(c, instance) + " AND provider_message_id = " + q(c, provider_message_id);
    try {
      c.execute("INSERT INTO inbound_handled (instance, provider_message_id, handled_at, done) VALUES (" +
                q(c, instance) + "," + q(c, provider_message_id) + ",UTC_TIMESTAMP(6), 0)");
    } catch (const sql::SQLException& e) {
      if (!mysql::is_duplicate_key(e.getErrorCode())) throw;
      // Held already: taken over only when it is past the memory, or a claim
      // whose handler never finished. The row lock makes one taker win.
      return c.update("UPDATE inbound_handled SET handled_at = UTC_TIMESTAMP(6), done = 0 WHERE " + key +
                      " AND (handled_at < UTC_TIMESTAMP(6) - INTERVAL " + std::to_string(kInboundMemory.count()) +
                      " HOUR OR (done = 0 AND handled_at < UTC_TIMESTAMP(6) - INTERVAL " +
                      std::to_string(kInboundClaim.count()) + " MINUTE))") > 0;
    }
    // What is older than the memory goes a little at a time, with the
    // traffic that adds to it.
    c.execute("DELETE FROM inbound_handled WHERE handled_at < UTC_TIMESTAMP(6) - INTERVAL " +
              std::to_string(kInboundMemory.count()) + " HOUR LIMIT 100");
    return true;
  });
}

Status MySqlStore::finish_inbound(const std::string& instance, const std::string& provider_message_id, bool handled) {
  auto r = run(*pool_, "finish inbound", [&](DbConnection& c, int) {
    const std::string key =
        "instance = " + q(c, instance) + " AND provider_message_id = " + q(c, provider_message_id);
    if (handled)
      c.execute("UPDATE inbound_handled SET done = 1, handled_at = UTC_TIMESTAMP(6) WHERE " + key);
    else
      c.execute("DELETE FROM inbound_handled WHERE " + key + " AND done = 0");
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<std::optional<TenantId>> MySqlStore::inbound_tenant(const std::string& phone, const std::string& instance,
                                                           const std::string& to, const InboundAssignment& rule) {
  return run(*pool_, "inbound tenant", [&](DbConnection& c, int) -> std::optional<TenantId> {
    // The recipient's messages of the window, by ix_messages_recipient, that
    // the provider accepted (a message it refused went nowhere and explains
    // no reply); one sent from the number written to first, then the latest.
    auto rs = c.query("SELECT tenant_id FROM messages WHERE " + number_match(c, "recipient", phone) +
                      " AND created_at >= UTC_TIMESTAMP(6) - INTERVAL " + std::to_string(rule.window.count()) +
                      " SECOND AND provider_instance = " + q(c, instance) +
                      " AND (provider_message_id IS NOT NULL OR sent_at IS NOT NULL) ORDER BY " +
                      (to.empty() ? std::string() : "sender = " + q(c, to) + " DESC, ") + "created_at DESC LIMIT 1");
    if (rs->next()) return static_cast<TenantId>(rs->getUInt("tenant_id"));
    if (rule.default_tenant.empty()) return std::nullopt;
    rs = c.query("SELECT id FROM tenants WHERE name = " + q(c, rule.default_tenant));
    if (rs->next()) return static_cast<TenantId>(rs->getUInt("id"));
    return std::nullopt;
  });
}

Result<bool> MySqlStore::keep_inbound(const InboundRecord& m) {
  return run(*pool_, "keep inbound", [&](DbConnection& c, int) {
    c.begin();
    // INSERT IGNORE: the unique key on (instance, provider_message_id) makes
    // a retried webhook a no-op; the values are made to fit their columns.
    const auto n = c.update(
        "INSERT IGNORE INTO inbound_messages (id, tenant_id, channel, instance, from_phone, to_address, body, "
        "provider_message_id, received_at, message_id, intent, body_key, from_sealed) VALUES (" +
        hex_literal(m.id.raw()) + "," + (m.tenant_id ? std::to_string(*m.tenant_id) : std::string("NULL")) + ",'" +
        std::string(sdk::to_string(m.channel)) + "'," + q(c, truncate(m.instance, 64)) + "," +
        q(c, number_key(c, truncate(m.from, 32))) + "," + q(c, truncate(to_valid_utf8(m.to), 64)) + "," +
        // Sealed, a value grows by a third and 28 bytes: its clear text is
        // cut so that it still fits the TEXT column.
        q(c, seal_column(c, "inbound_messages", "body", m.id,
                         truncate(to_valid_utf8(m.body), c.cipher() ? 48000 : 65535))) + "," +
        q_or_null(c, truncate(to_valid_utf8(m.provider_message_id), 128)) + ",'" + format_db_time(m.received_at) +
        "'," + (m.message_id ? hex_literal(m.message_id->raw()) : std::string("NULL")) + "," +
        q_or_null(c, m.intent) + "," + sealing_key_sql(c) + "," +
        sealed_number_sql(c, "inbound_messages", "from", m.id, truncate(m.from, 32)) + ")");
    if (n > 0 && m.tenant_id)
      write_outbox(c, {NewWebhookEvent{*m.tenant_id, "inbound.received", std::nullopt, std::nullopt, "", m.id,
                                       m.from, std::string(sdk::to_string(m.channel))}});
    c.commit();
    return n > 0;
  });
}

Result<std::optional<OpenQuestion>> MySqlStore::open_question(TenantId tenant, const std::string& phone,
                                                              const std::string& instance) {
  return run(*pool_, "open question", [&](DbConnection& c, int) -> std::optional<OpenQuestion> {
    // The recipient's messages by ix_messages_recipient; only one that went
    // out can have been answered. A question is open
    // at most 30 days (the longest reply_window) after it is due, and it is
    // due at most a year after it was accepted: that bounds the range.
    auto rs = c.query("SELECT id, reference, replies FROM messages WHERE " + number_match(c, "recipient", phone) +
                      " AND created_at >= UTC_TIMESTAMP(6) - INTERVAL 400 DAY AND tenant_id = " +
                      std::to_string(tenant) + " AND provider_instance = " + q(c, instance) +
                      " AND replies_until > UTC_TIMESTAMP(6) AND status IN ('sent', 'delivered', 'read') "
                      "ORDER BY created_at DESC LIMIT 1");
    if (!rs->next()) return std::nullopt;
    OpenQuestion out;
    out.message_id = Uuid::from_bytes(rs->getString("id").asStdString());
    out.reference = get_str(*rs, "reference");
    out.replies = replies_from_text(get_str(*rs, "replies"));
    return out;
  });
}

Status MySqlStore::record_reply(TenantId tenant, const MessageId& message, const std::string& intent,
                                const Uuid& inbound) {
  auto r = run(*pool_, "record reply", [&](DbConnection& c, int) {
    c.begin();
    const auto found = c.update("UPDATE messages SET reply_intent = " + q(c, intent) +
                                ", replied_at = UTC_TIMESTAMP(6), updated_at = UTC_TIMESTAMP(6) WHERE id = " +
                                hex_literal(message.raw()) + " AND tenant_id = " + std::to_string(tenant));
    if (found == 0) {  // not this tenant's (or gone): nothing to record
      c.rollback();
      return false;
    }
    c.execute("INSERT INTO message_events (message_id, tenant_id, at, type, detail, actor) VALUES (" +
              hex_literal(message.raw()) + "," + std::to_string(tenant) + ",UTC_TIMESTAMP(6),'replied'," +
              q(c, "intent " + intent + " (inbound message " + inbound.str() + ")") + ",'recipient')");
    write_outbox(c, {NewWebhookEvent{tenant, "message.replied", message, std::nullopt, intent, inbound, {}, {}}});
    c.commit();
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<std::vector<InboundRecord>> MySqlStore::list_inbound(const InboundFilter& f) {
  return run(*pool_, "list inbound", [&](DbConnection& c, int) {
    std::vector<std::string> where;
    if (f.tenant) where.push_back("tenant_id = " + std::to_string(*f.tenant));
    else if (f.unassigned) where.push_back("tenant_id IS NULL");
    if (!f.phone.empty()) where.push_back(number_match(c, "from_phone", f.phone));
    if (f.since) where.push_back("received_at >= '" + format_db_time(*f.since) + "'");
    if (f.before) where.push_back("id < " + hex_literal(f.before->raw()));
    std::string sql = std::string("SELECT ") + kInboundColumns + " FROM inbound_messages";
    for (std::size_t i = 0; i < where.size(); ++i) sql += (i == 0 ? " WHERE " : " AND ") + where[i];
    std::vector<InboundRecord> out;
    auto rs = c.query(sql + " ORDER BY id DESC LIMIT " + std::to_string(std::clamp(f.limit, 1, 1000)));
    while (rs->next()) out.push_back(read_inbound(c, *rs));
    return out;
  });
}

Result<std::optional<TimePoint>> MySqlStore::last_inbound_of(TenantId tenant, const std::string& phone,
                                                            sdk::Channel channel) {
  return run(*pool_, "last inbound of tenant", [&](DbConnection& c, int) -> std::optional<TimePoint> {
    auto rs = c.query("SELECT MAX(received_at) AS last FROM inbound_messages WHERE tenant_id = " +
                      std::to_string(tenant) + " AND " + number_match(c, "from_phone", phone) + " AND channel = '" +
                      std::string(sdk::to_string(channel)) + "'");
    if (!rs->next()) return std::nullopt;
    return get_time(*rs, "last");
  });
}

Status MySqlStore::put_preferences(TenantId tenant, const RecipientPreferences& p) {
  auto r = run(*pool_, "put preferences", [&](DbConnection& c, int) {
    std::vector<std::string> blocked(p.blocked_categories.begin(), p.blocked_categories.end());
    c.execute(
        "INSERT INTO recipient_preferences (tenant_id, recipient_key, recipient_id, phone, channels, "
        "blocked_categories, language, opted_out, updated_at) VALUES (" +
        std::to_string(tenant) + "," + q(c, stored_recipient_key(c, p.key())) + "," + q_or_null(c, p.recipient_id) +
        "," + q_or_null(c, number_key(c, p.phone)) + "," + q(c, channels_text(p.channels)) + "," + q(c, join(blocked)) +
        "," +
        q_or_null(c, p.language) + "," + (p.opted_out ? "1" : "0") +
        ",UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE recipient_id = VALUES(recipient_id), phone = VALUES(phone), "
        "channels = VALUES(channels), blocked_categories = VALUES(blocked_categories), "
        "language = VALUES(language), opted_out = VALUES(opted_out), updated_at = VALUES(updated_at)");
    return true;
  });
  if (!r) return r.error();
  return {};
}

Result<RecipientRecords> MySqlStore::find_recipients(TenantId tenant, const std::vector<std::string>& keys,
                                                     const std::vector<std::string>& phones) {
  if (keys.empty() && phones.empty()) return RecipientRecords{};
  // One statement for both (the accept path asks this for every batch): the
  // preferences' rows and the opt-outs' rows in the same columns, told apart
  // by `kind`.
  return run(*pool_, "find recipients", [&](DbConnection& c, int) {
    RecipientRecords out;
    // With numbers stored as keyed hashes, each key and number is looked up
    // in both forms (rows from before hold them in clear until rotate-key),
    // and what comes back is named as it was asked for; a hashed row, the
    // newer, wins over a clear one.
    std::map<std::string, std::string> asked;  // stored form -> as asked
    std::vector<std::string> keys_stored, phones_stored;
    for (const auto& k : keys)
      for (const auto& f : recipient_key_forms(c, k)) {
        asked[f] = k;
        keys_stored.push_back(f);
      }
    for (const auto& p : phones)
      for (const auto& f : number_forms(c, p)) {
        asked[f] = p;
        phones_stored.push_back(f);
      }
    auto as_asked = [&](const std::string& stored) {
      auto it = asked.find(stored);
      return it == asked.end() ? stored : it->second;
    };
    std::set<std::string> from_hash;  // keys filled from a hashed row
    const std::size_t rounds =
        (std::max(keys_stored.size(), phones_stored.size()) + kRowsPerInsert - 1) / kRowsPerInsert;
    for (std::size_t round = 0; round < rounds; ++round) {
      auto chunk = [&](const std::vector<std::string>& all) {
        const std::size_t from = std::min(all.size(), round * kRowsPerInsert);
        const std::size_t to = std::min(all.size(), from + kRowsPerInsert);
        return std::vector<std::string>(all.begin() + static_cast<long>(from), all.begin() + static_cast<long>(to));
      };
      const auto key_chunk = chunk(keys_stored);
      const auto phone_chunk = chunk(phones_stored);
      std::string sql;
      if (!key_chunk.empty())
        sql = "SELECT 'p' AS kind, recipient_key, recipient_id, phone, channels, blocked_categories, language, "
              "opted_out, updated_at AS at, NULL AS tenant_id, NULL AS channel, NULL AS source, NULL AS detail, "
              "NULL AS instance "
              "FROM recipient_preferences WHERE tenant_id = " +
              std::to_string(tenant) + " AND recipient_key IN (" + quoted_list(c, key_chunk) + ")";
      if (!phone_chunk.empty())
        sql += std::string(sql.empty() ? "" : " UNION ALL ") +
               "SELECT 'o' AS kind, NULL AS recipient_key, NULL AS recipient_id, phone, NULL AS channels, "
               "NULL AS blocked_categories, NULL AS language, NULL AS opted_out, created_at AS at, tenant_id, channel, "
               "source, detail, instance "
               "FROM opt_outs WHERE phone IN (" +
               quoted_list(c, phone_chunk) + ") AND tenant_id IN (0, " + std::to_string(tenant) + ")";
      auto rs = c.query(sql);
      while (rs->next()) {
        if (get_str(*rs, "kind") == "p") {
          RecipientPreferences p = read_preferences(*rs, "at");
          p.phone = as_asked(get_str(*rs, "phone"));
          const std::string stored = get_str(*rs, "recipient_key");
          const std::string key = as_asked(stored);
          const bool hashed = stored != key;
          if (!hashed && from_hash.count(key)) continue;
          if (hashed) from_hash.insert(key);
          if (p.phone.rfind('#', 0) == 0) p.phone.clear();  // a number never asked for: not shown hashed
          out.preferences[key] = std::move(p);
        } else {
          OptOut o;
          o.tenant_id = static_cast<TenantId>(rs->getUInt("tenant_id"));
          o.phone = as_asked(get_str(*rs, "phone"));
          o.channel = get_str(*rs, "channel");
          o.source = get_str(*rs, "source");
          o.detail = get_str(*rs, "detail");
          o.instance = get_str(*rs, "instance");
          o.created_at = get_time(*rs, "at").value_or(TimePoint{});
          out.opt_outs.push_back(std::move(o));
        }
      }
    }
    return out;
  });
}

Result<std::vector<RecipientPreferences>> MySqlStore::preferences_naming(TenantId tenant, const std::string& phone) {
  return run(*pool_, "preferences naming a number", [&](DbConnection& c, int) {
    std::vector<RecipientPreferences> out;
    // The number in both forms (hashed, and in clear from before rotate-key),
    // through the index on (tenant_id, phone).
    auto rs = c.query(
        "SELECT recipient_id, channels, blocked_categories, language, opted_out, updated_at FROM recipient_preferences "
        "WHERE tenant_id = " + std::to_string(tenant) + " AND phone IN (" + quoted_list(c, number_forms(c, phone)) +
        ") AND recipient_id IS NOT NULL AND recipient_key LIKE 'id:%' ORDER BY updated_at DESC, recipient_key");
    while (rs->next()) {
      RecipientPreferences p = read_preferences(*rs, "updated_at");
      p.phone = phone;
      out.push_back(std::move(p));
    }
    return out;
  });
}

namespace {

void load_translations(DbConnection& c, std::map<std::int64_t, Template*>& by_id) {
  if (by_id.empty()) return;
  std::string ids;
  for (const auto& [id, _] : by_id) ids += (ids.empty() ? "" : ",") + std::to_string(id);
  auto rs = c.query(
      "SELECT template_id, language, body, provider_template, provider_variables, replies FROM template_translations "
      "WHERE template_id IN (" + ids + ")");
  while (rs->next()) {
    TemplateTranslation tr;
    tr.body = get_str(*rs, "body");
    tr.provider_template = get_str(*rs, "provider_template");
    tr.provider_variables = split(get_str(*rs, "provider_variables"));
    tr.replies = replies_from_text(get_str(*rs, "replies"));
    by_id[static_cast<std::int64_t>(rs->getUInt64("template_id"))]->translations[get_str(*rs, "language")] = tr;
  }
}

std::vector<Template> load_templates(DbConnection& c, const std::string& where) {
  std::vector<Template> out;
  auto rs = c.query(
      "SELECT id, tenant_id, code, channels, category, description, priority, validity_seconds, created_at, "
      "updated_at FROM templates WHERE " +
      where + " ORDER BY code");
  while (rs->next()) {
    Template t;
    t.id = static_cast<std::int64_t>(rs->getUInt64("id"));
    t.tenant_id = static_cast<TenantId>(rs->getUInt("tenant_id"));
    t.code = get_str(*rs, "code");
    t.channels = parse_channels(get_str(*rs, "channels"));
    t.category = get_str(*rs, "category");
    t.description = get_str(*rs, "description");
    if (!rs->isNull("priority")) t.priority = static_cast<Priority>(std::min(2, std::max(0, rs->getInt("priority"))));
    if (!rs->isNull("validity_seconds")) t.validity = std::chrono::seconds(rs->getInt64("validity_seconds"));
    t.created_at = get_time(*rs, "created_at").value_or(TimePoint{});
    t.updated_at = get_time(*rs, "updated_at").value_or(TimePoint{});
    out.push_back(std::move(t));
  }
  std::map<std::int64_t, Template*> by_id;
  for (auto& t : out) by_id[t.id] = &t;
  load_translations(c, by_id);
  return out;
}

}  // namespace

Result<Template> MySqlStore::put_template(const Template& t) {
  return run(*pool_, "put template", [&](DbConnection& c, int) {
    c.begin();
    c.execute("INSERT INTO templates (tenant_id, code, channels, category, description, priority, validity_seconds, "
              "created_at, updated_at) VALUES (" + std::to_string(t.tenant_id) + "," + q(c, t.code) + "," +
              q(c, channels_text(t.channels)) + "," + q_or_null(c, t.category) + "," +
              q(c, truncate(t.description, 255)) + "," +
              (t.priority ? std::to_string(static_cast<int>(*t.priority)) : std::string("NULL")) + "," +
              (t.validity ? std::to_string(t.validity->count()) : std::string("NULL")) +
              ",UTC_TIMESTAMP(6),UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE channels = VALUES(channels), "
              "category = VALUES(category), description = VALUES(description), priority = VALUES(priority), "
              "validity_seconds = VALUES(validity_seconds), updated_at = VALUES(updated_at)");
    auto rs = c.query("SELECT id FROM templates WHERE tenant_id = " + std::to_string(t.tenant_id) +
                      " AND code = " + q(c, t.code));
    rs->next();
    const auto id = rs->getUInt64(1);
    c.execute("DELETE FROM template_translations WHERE template_id = " + std::to_string(id));
    for (const auto& [lang, tr] : t.translations) {
      c.execute("INSERT INTO template_translations (template_id, language, body, provider_template, "
                "provider_variables, replies) VALUES (" + std::to_string(id) + "," + q(c, lang) + "," +
                q(c, tr.body) + "," + q_or_null(c, tr.provider_template) + "," +
                q_or_null(c, join(tr.provider_variables)) + "," + q_or_null(c, replies_text(tr.replies)) + ")");
    }
    auto saved = load_templates(c, "id = " + std::to_string(id));
    c.commit();
    return saved.at(0);
  });
}

Result<std::optional<Template>> MySqlStore::find_template(TenantId tenant, const std::string& code) {
  return run(*pool_, "find template", [&](DbConnection& c, int) -> std::optional<Template> {
    auto found = load_templates(c, "tenant_id = " + std::to_string(tenant) + " AND code = " + q(c, code));
    if (found.empty()) return std::nullopt;
    return found[0];
  });
}

Result<std::vector<Template>> MySqlStore::list_templates(TenantId tenant) {
  return run(*pool_, "list templates",
             [&](DbConnection& c, int) { return load_templates(c, "tenant_id = " + std::to_string(tenant)); });
}

Result<bool> MySqlStore::delete_template(TenantId tenant, const std::string& code) {
  return run(*pool_, "delete template", [&](DbConnection& c, int) {
    return c.update("DELETE FROM templates WHERE tenant_id = " + std::to_string(tenant) + " AND code = " + q(c, code)) >
           0;
  });
}

}  // namespace barid::core
