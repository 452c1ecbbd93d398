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

}  // namespace barid::core
