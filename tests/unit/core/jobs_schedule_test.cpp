// When periodic jobs run: JobSchedule, without a database.
#include <barid/core/jobs.hpp>
#include <barid/core/time.hpp>

#include <gtest/gtest.h>

namespace barid::core {
namespace {

using namespace std::chrono;

TimePoint at(const char* iso) {
  auto t = parse_iso8601(iso);
  EXPECT_TRUE(t) << iso;
  return t.value_or(TimePoint{});
}

TEST(JobSchedule, AnIntervalJobRunsEveryPeriodFromNowAndAtOnceTheFirstTime) {
  const auto every5 = JobSchedule::interval(minutes(5));
  EXPECT_EQ(every5.next_after(at("2026-11-30T10:00:00Z")), at("2026-11-30T10:05:00Z"));
  EXPECT_FALSE(every5.first_run(at("2026-11-30T10:00:00Z")));  // due at once
}

TEST(JobSchedule, ADailyJobRunsAtItsTimeTodayOrTomorrow) {
  const auto two_am = JobSchedule::daily(2, 0);
  EXPECT_EQ(two_am.next_after(at("2026-11-30T01:59:59Z")), at("2026-11-30T02:00:00Z"));
  EXPECT_EQ(two_am.next_after(at("2026-11-30T02:00:00Z")), at("2026-12-01T02:00:00Z"));
  EXPECT_EQ(two_am.next_after(at("2026-11-30T14:30:00Z")), at("2026-12-01T02:00:00Z"));
  EXPECT_EQ(two_am.next_after(at("2026-12-31T23:00:00Z")), at("2027-01-01T02:00:00Z"));
  // Deployed at noon: the first run is tonight, not now.
  EXPECT_EQ(two_am.first_run(at("2026-11-30T12:00:00Z")), at("2026-12-01T02:00:00Z"));
  EXPECT_EQ(JobSchedule::daily(23, 45).next_after(at("2026-11-30T23:44:00Z")), at("2026-11-30T23:45:00Z"));
}

}  // namespace
}  // namespace barid::core
