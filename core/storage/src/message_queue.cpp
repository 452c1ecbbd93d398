#include <barid/core/message_queue.hpp>

#include <algorithm>
#include <cmath>

namespace barid::core {

using namespace std::chrono;

namespace {
microseconds seconds_to_us(double s) { return microseconds(static_cast<std::int64_t>(std::ceil(s * 1e6))); }
}  // namespace

PaceSlots PaceSlots::open(std::optional<TimePoint> next_free, TimePoint now, double rate, double burst) {
  PaceSlots p;
  p.rate = rate;
  const TimePoint earliest = now - seconds_to_us((std::max(1.0, burst) - 1) / rate);
  p.first = next_free ? std::max(earliest, *next_free) : earliest;
  return p;
}

TimePoint PaceSlots::slot(int k) const { return first + seconds_to_us(k / rate); }

int PaceSlots::allowance(TimePoint now, milliseconds horizon, int limit, microseconds& room_in) const {
  room_in = microseconds(0);
  const TimePoint start = next_free();
  const double window = duration<double>(now + horizon - start).count();
  const int fits = window > 0 ? static_cast<int>(std::ceil(window * rate - 1e-9)) : 0;
  const int step = std::min(limit, std::max(1, static_cast<int>(rate * static_cast<double>(horizon.count()) / 4000.0)));
  if (fits >= step) return std::min(limit, fits);
  // A step's worth is free once the first free slot is step / rate inside
  // the horizon.
  room_in = std::max(microseconds(1000),
                     duration_cast<microseconds>(start - now - horizon) + seconds_to_us((step - 1) / rate) +
                         microseconds(1));
  return 0;
}

std::vector<TenantId> TenantTurns::deal(const std::vector<Tenant>& tenants, int n, Cursor& cursor) {
  std::vector<TenantId> out;
  if (tenants.empty() || n <= 0) return out;
  out.reserve(static_cast<std::size_t>(n));
  // The first tenant from the cursor's on; the cursor's own keeps what it used.
  auto it = std::lower_bound(tenants.begin(), tenants.end(), cursor.tenant,
                             [](const Tenant& t, TenantId id) { return t.id < id; });
  std::size_t i = it == tenants.end() ? 0 : static_cast<std::size_t>(it - tenants.begin());
  int used = it != tenants.end() && it->id == cursor.tenant ? cursor.used : 0;
  while (static_cast<int>(out.size()) < n) {
    if (used >= std::max(1, tenants[i].share)) {
      i = (i + 1) % tenants.size();
      used = 0;
      continue;
    }
    out.push_back(tenants[i].id);
    ++used;
  }
  cursor = {tenants[i].id, used};
  return out;
}

}  // namespace barid::core
