#include "memory_queue.hpp"

#include <algorithm>
#include <deque>
#include <tuple>

namespace barid::core {

using namespace std::chrono;

void MemoryQueue::add(Message m) {
  std::lock_guard lock(mutex_);
  Row r;
  r.next = m.scheduled_at.value_or(clock_());
  r.message = std::move(m);
  rows_.push_back(std::move(r));
}

MemoryQueue::Row* MemoryQueue::row(const MessageId& id) {
  for (auto& r : rows_)
    if (r.message.id == id) return &r;
  return nullptr;
}

std::optional<Message> MemoryQueue::find(const MessageId& id) const {
  std::lock_guard lock(mutex_);
  for (const auto& r : rows_)
    if (r.message.id == id) return r.message;
  return std::nullopt;
}

std::vector<MemoryQueue::Event> MemoryQueue::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

std::vector<MemoryQueue::Event> MemoryQueue::events_of(const MessageId& id) const {
  std::vector<Event> out;
  for (auto& e : events())
    if (e.id == id) out.push_back(e);
  return out;
}

void MemoryQueue::expire_lease(const MessageId& id) {
  std::lock_guard lock(mutex_);
  if (Row* r = row(id); r && r->message.status == MessageStatus::sending) {
    r->message.status = MessageStatus::queued;
    r->owner.clear();
    r->next = clock_();
    events_.push_back({id, "lease_expired", "taken away by the test"});
  }
}

std::size_t MemoryQueue::claims() const {
  std::lock_guard lock(mutex_);
  return claims_;
}

void MemoryQueue::set_share(TenantId tenant, int share) {
  std::lock_guard lock(mutex_);
  shares_[tenant] = share;
}

Result<Claim> MemoryQueue::claim_due(const ClaimRequest& req) {
  {
    std::lock_guard lock(mutex_);
    ++claims_;
  }
  Claim out;
  if (req.limit <= 0 || !req.route) return out;
  const PacedRoute first = req.route(1);
  if (first.instance.empty()) return out;
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_();
  std::map<std::string, PaceSlots> paces;
  auto pace_of = [&](const PacedRoute& r) -> PaceSlots& {
    auto it = paces.find(r.instance);
    if (it != paces.end()) return it->second;
    std::optional<TimePoint> next_free;
    if (auto p = pace_.find(r.instance); p != pace_.end()) next_free = p->second;
    return paces.emplace(r.instance, PaceSlots::open(next_free, now, r.rate, r.burst)).first->second;
  };
  int allowance = req.limit;
  if (first.rate > 0) {
    allowance = pace_of(first).allowance(now, req.horizon, req.limit, out.room_in);
    if (allowance == 0) return out;
  }

  // Due rows by (priority, due time, arrival); within one priority the
  // tenants take turns.
  std::vector<Row*> due;
  for (auto& r : rows_) {
    const auto s = r.message.status;
    const TenantId t = r.message.tenant_id;
    const auto listed = [t](const std::vector<TenantId>& ids) { return std::find(ids.begin(), ids.end(), t) != ids.end(); };
    if (!req.only_tenants.empty() && !listed(req.only_tenants)) continue;
    if (listed(req.except_tenants)) continue;
    if ((s == MessageStatus::queued || s == MessageStatus::scheduled) && r.message.channel == req.channel &&
        r.next <= now)
      due.push_back(&r);
  }
  std::stable_sort(due.begin(), due.end(), [](const Row* a, const Row* b) {
    return std::make_tuple(static_cast<int>(a->message.priority), a->next) <
           std::make_tuple(static_cast<int>(b->message.priority), b->next);
  });
  // Claims one; false when it expired instead or nothing serves its attempt.
  auto take = [&](Row* r) {
    Message& m = r->message;
    if (m.expires_at && *m.expires_at <= now) {
      m.status = MessageStatus::expired;
      events_.push_back({m.id, "expired", "validity ended before a provider could take it"});
      ++out.expired;
      return false;
    }
    const PacedRoute route = req.route(m.attempts + 1);
    if (route.instance.empty()) return false;
    TimePoint at = now;
    if (route.rate > 0) {
      PaceSlots& p = pace_of(route);
      at = p.slot(p.taken++);
    }
    m.status = MessageStatus::sending;
    ++m.attempts;
    r->owner = req.owner;
    r->lease_end = now + req.lease;
    ClaimedMessage c;
    c.message = m;
    c.instance = route.instance;
    c.send_at = std::max(microseconds(0), duration_cast<microseconds>(at - now));
    if (m.expires_at) c.expires_in = duration_cast<microseconds>(*m.expires_at - now);
    if (auto sh = shares_.find(m.tenant_id); sh != shares_.end()) c.share = sh->second;
    out.messages.push_back(std::move(c));
    return true;
  };
  for (auto from = due.begin(); from != due.end();) {
    const auto priority = (*from)->message.priority;
    auto to = std::find_if(from, due.end(), [&](const Row* r) { return r->message.priority != priority; });
    std::map<TenantId, std::deque<Row*>> waiting;
    for (auto it = from; it != to; ++it) waiting[(*it)->message.tenant_id].push_back(*it);
    from = to;
    std::vector<TenantTurns::Tenant> tenants;
    for (const auto& [t, _] : waiting) {
      auto sh = shares_.find(t);
      tenants.push_back({t, sh == shares_.end() ? 1 : sh->second});
    }
    TenantTurns::Cursor& cursor = turns_[first.instance + "/" + std::string(sdk::to_string(req.channel)) + "/" +
                                         std::to_string(static_cast<int>(priority))];
    while (!tenants.empty() && static_cast<int>(out.messages.size()) < allowance) {
      const int want = allowance - static_cast<int>(out.messages.size());
      for (TenantId t : TenantTurns::deal(tenants, want, cursor)) {
        auto& mine = waiting[t];
        while (!mine.empty()) {
          Row* r = mine.front();
          mine.pop_front();
          if (take(r)) break;
        }
      }
      std::erase_if(tenants, [&](const TenantTurns::Tenant& t) { return waiting[t.id].empty(); });
    }
  }
  for (const auto& [instance, p] : paces)
    if (p.taken > 0) pace_[instance] = p.next_free();
  return out;
}

Result<int> MemoryQueue::record_attempts(const std::string& owner, const std::vector<AttemptResult>& results) {
  std::lock_guard lock(mutex_);
  int lost = 0;
  const TimePoint now = clock_();
  for (const auto& a : results) {
    Row* r = row(a.id);
    if (!r || r->owner != owner || r->message.attempts != a.attempt) {
      ++lost;
      continue;
    }
    Message& m = r->message;
    const bool sending = m.status == MessageStatus::sending;
    r->owner.clear();
    m.provider_instance = a.provider_instance;
    switch (a.decision) {
      case AttemptResult::Decision::sent:
        if (sending) m.status = a.status;
        m.provider_message_id = a.provider_message_id;
        m.sent_at = now;
        events_.push_back({a.id, "sent", a.provider_message_id});
        break;
      case AttemptResult::Decision::retry:
        if (!sending) continue;
        m.status = MessageStatus::queued;
        m.error_code = a.error.code;
        r->next = now + a.retry_in;
        events_.push_back({a.id, "retry_scheduled", a.error.code + " " + a.detail});
        break;
      case AttemptResult::Decision::failed:
        if (!sending) continue;
        m.status = MessageStatus::failed;
        m.error_code = a.error.code;
        events_.push_back({a.id, "failed", a.error.code + " " + a.detail});
        break;
      case AttemptResult::Decision::expired:
        if (!sending) continue;
        m.status = MessageStatus::expired;
        m.attempts = std::max(1, m.attempts) - 1;
        events_.push_back({a.id, "expired", a.detail});
        break;
    }
  }
  return lost;
}

Status MemoryQueue::release(const std::string& owner, const std::vector<MessageId>& ids) {
  std::lock_guard lock(mutex_);
  for (const auto& id : ids) {
    Row* r = row(id);
    if (!r || r->owner != owner || r->message.status != MessageStatus::sending) continue;
    r->message.status = MessageStatus::queued;
    r->message.attempts = std::max(1, r->message.attempts) - 1;
    r->owner.clear();
    r->next = clock_();
  }
  return {};
}

Result<int> MemoryQueue::requeue_expired_leases(int limit, int max_attempts_slack) {
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_();
  int n = 0;
  for (auto& r : rows_) {
    if (n >= limit) break;
    if (r.message.status != MessageStatus::sending || r.lease_end >= now) continue;
    ++n;
    r.owner.clear();
    if (r.message.attempts >= r.message.max_attempts + max_attempts_slack) {
      r.message.status = MessageStatus::failed;
      r.message.error_code = "LEASE-EXPIRED";
      events_.push_back({r.message.id, "failed", "lease expired; giving up"});
    } else {
      r.message.status = MessageStatus::queued;
      r.next = now;
      events_.push_back({r.message.id, "lease_expired", ""});
    }
  }
  return n;
}

}  // namespace barid::core
