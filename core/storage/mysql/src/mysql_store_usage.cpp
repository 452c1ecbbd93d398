// Tenants' usage: counted by the accept path in the transaction that stores
// the messages, so that a quota or a spend cap holds across all nodes and the
// figures match what was stored.

#include <barid/core/mysql_store.hpp>

#include "message_rows.hpp"
#include "sql_helpers.hpp"

#include <barid/core/money.hpp>

#include <map>
#include <random>
#include <tuple>

namespace barid::core {

using mysql::DbConnection;
using namespace mysql::sql_helpers;
using namespace mysql::message_rows;

namespace {

// The database's clock decides the day and month, as it does created_at.
constexpr const char* kDay = "UTC_DATE()";
constexpr const char* kMonth = "DATE_FORMAT(UTC_DATE(), '%Y-%m-01')";
constexpr int kSlots = 8;

// Seconds from now to the start of the next UTC day / month.
int seconds_to_next_day() {
  const auto now = std::chrono::system_clock::now();
  const auto today = std::chrono::floor<std::chrono::days>(now);
  return static_cast<int>(
      std::chrono::ceil<std::chrono::seconds>(today + std::chrono::days(1) - now).count());
}

int seconds_to_next_month() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const year_month_day ymd{floor<days>(now)};
  const year_month next = year_month{ymd.year(), ymd.month()} + months(1);
  const sys_days start{next / 1};
  return static_cast<int>(ceil<seconds>(start - now).count());
}

int random_slot() {
  thread_local std::minstd_rand rng{std::random_device{}()};
  return static_cast<int>(rng() % kSlots);
}

}  // namespace

void mysql::message_rows::charge_usage(DbConnection& c, const std::vector<NewMessage>& batch,
                                       std::vector<InsertOutcome>& out, const std::vector<char>& stored_before) {
  // What this transaction stored that will be sent (suppressed messages are
  // not), per tenant in ascending order: the order rows are locked in.
  std::map<TenantId, std::vector<std::size_t>> by_tenant;
  for (std::size_t i = 0; i < batch.size(); ++i)
    if (out[i].kind == InsertOutcome::Kind::inserted && !stored_before[i] &&
        batch[i].status != MessageStatus::suppressed)
      by_tenant[batch[i].tenant_id].push_back(i);
  if (by_tenant.empty()) return;

  struct Sum {
    std::int64_t messages = 0, segments = 0, cost = 0;
  };
  std::map<std::tuple<TenantId, std::string>, Sum> charged;  // (tenant, currency)
  std::vector<MessageId> refused;
  for (const auto& [tenant, idx] : by_tenant) {
    std::int64_t day = 0, month = 0;
    std::map<std::string, std::int64_t> month_cost;
    bool limited = false;
    for (auto i : idx) limited = limited || batch[i].charge.limited();
    if (limited) {
      // The tenant's row is the lock: its other commits that check limits,
      // on any node, wait until this one has counted and committed. (Usage
      // rows cannot be the lock: a slot row that does not exist yet cannot
      // be locked under READ COMMITTED.)
      c.query("SELECT id FROM tenants WHERE id = " + std::to_string(tenant) + " FOR UPDATE");
      auto rs = c.query("SELECT period, currency, messages, cost_micros FROM tenant_usage WHERE tenant_id = " +
                        std::to_string(tenant) + " AND ((period = 'd' AND period_start = " + kDay +
                        ") OR (period = 'm' AND period_start = " + kMonth + "))");
      while (rs->next()) {
        const auto n = static_cast<std::int64_t>(rs->getUInt64("messages"));
        if (rs->getString("period").asStdString() == "d") {
          day += n;
        } else {
          month += n;
          month_cost[rs->getString("currency").asStdString()] += static_cast<std::int64_t>(rs->getUInt64("cost_micros"));
        }
      }
    }
    for (auto i : idx) {
      const UsageCharge& ch = batch[i].charge;
      InsertOutcome& o = out[i];
      if (ch.day_limit && day + 1 > *ch.day_limit) {
        o.kind = InsertOutcome::Kind::over_quota;
        o.limit_detail = "the daily quota of " + std::to_string(*ch.day_limit) + " messages is reached";
        o.retry_after_s = seconds_to_next_day();
      } else if (ch.month_limit && month + 1 > *ch.month_limit) {
        o.kind = InsertOutcome::Kind::over_quota;
        o.limit_detail = "the monthly quota of " + std::to_string(*ch.month_limit) + " messages is reached";
        o.retry_after_s = seconds_to_next_month();
      } else if (ch.spend_cap && ch.currency == ch.spend_cap->currency &&
                 month_cost[ch.currency] + ch.cost_micros > ch.spend_cap->micros) {
        o.kind = InsertOutcome::Kind::over_spend_cap;
        o.limit_detail = "the monthly spend cap of " + money_text(ch.spend_cap->micros) + " " +
                         ch.spend_cap->currency + " is reached (" + money_text(month_cost[ch.currency]) +
                         " estimated this month)";
        o.retry_after_s = seconds_to_next_month();
      } else {
        ++day;
        ++month;
        month_cost[ch.currency] += ch.cost_micros;
        Sum& s = charged[{tenant, ch.currency}];
        ++s.messages;
        s.segments += batch[i].segments.segments;
        s.cost += ch.cost_micros;
        continue;
      }
      o.status_reason.clear();
      refused.push_back(batch[i].id);
    }
  }
  // Inserted a moment ago in this transaction: nobody else has seen them.
  for (std::size_t start = 0; start < refused.size(); start += kRowsPerInsert) {
    std::vector<MessageId> chunk(refused.begin() + static_cast<long>(start),
                                 refused.begin() + static_cast<long>(std::min(refused.size(), start + kRowsPerInsert)));
    c.execute("DELETE FROM messages WHERE id IN (" + id_list(chunk) + ")");
  }
  if (charged.empty()) return;
  const std::string slot = std::to_string(random_slot());
  std::string sql =
      "INSERT INTO tenant_usage (tenant_id, period, period_start, slot, currency, messages, segments, cost_micros) "
      "VALUES ";
  bool first = true;
  for (const auto& [key, s] : charged) {
    const auto& [tenant, currency] = key;
    for (const char* period : {"d", "m"}) {
      sql += std::string(first ? "" : ",") + "(" + std::to_string(tenant) + ",'" + period + "'," +
             (period[0] == 'd' ? kDay : kMonth) + "," + slot + "," + q(c, currency) + "," +
             std::to_string(s.messages) + "," + std::to_string(s.segments) + "," + std::to_string(s.cost) + ")";
      first = false;
    }
  }
  sql +=
      " ON DUPLICATE KEY UPDATE messages = messages + VALUES(messages), segments = segments + VALUES(segments), "
      "cost_micros = cost_micros + VALUES(cost_micros)";
  c.execute(sql);
}

Result<TenantUsage> MySqlStore::usage(TenantId tenant) {
  return run(*pool_, "tenant usage", [&](DbConnection& c, int) {
    TenantUsage u;
    auto dates = c.query(std::string("SELECT ") + kDay + ", " + kMonth);
    dates->next();
    u.day.start = dates->getString(1).asStdString();
    u.month.start = dates->getString(2).asStdString();
    auto rs = c.query(
        "SELECT period, currency, SUM(messages), SUM(segments), SUM(cost_micros) FROM tenant_usage WHERE tenant_id = " +
        std::to_string(tenant) + " AND ((period = 'd' AND period_start = '" + u.day.start +
        "') OR (period = 'm' AND period_start = '" + u.month.start + "')) GROUP BY period, currency");
    while (rs->next()) {
      UsagePeriod& p = rs->getString(1).asStdString() == "d" ? u.day : u.month;
      const std::string currency = rs->getString(2).asStdString();
      p.messages += rs->getInt64(3);
      p.segments += rs->getInt64(4);
      if (!currency.empty()) p.cost_micros_by_currency[currency] += rs->getInt64(5);
    }
    return u;
  });
}

}  // namespace barid::core
