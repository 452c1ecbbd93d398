#pragma once
// Periodic work: refreshing delivery status from providers that can be
// polled, sweeping retryable failures back into the queue, deleting
// messages past their retention, checking provider health. When several
// gateway nodes share the database, exactly one runs each scheduled run
// (Store::claim_job_run).

#include <barid/core/provider_registry.hpp>
#include <barid/core/store.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace barid::core {

// Asks a provider for the status of messages it accepted.
class StatusRefresher {
 public:
  StatusRefresher(Store& store, ProviderRegistry& providers) : store_(store), providers_(providers) {}

  // One message (POST /v1/messages/{id}/refresh). invalid when the message
  // was never accepted by a provider or its instance cannot be polled.
  Result<ReportOutcome> refresh(const Message& message, const Actor& actor);

  struct Counts {
    int checked = 0, changed = 0, failed_queries = 0, cost_checked = 0;
  };
  // Sent-but-not-final messages accepted since `since`, for every instance
  // that supports polling (the status-refresh job).
  Result<Counts> refresh_recent(TimePoint since, int limit_per_instance);

 private:
  Store& store_;
  ProviderRegistry& providers_;
};

// Calls check_health on every provider instance and records the result.
class HealthMonitor {
 public:
  HealthMonitor(Store& store, ProviderRegistry& providers, std::string node)
      : store_(store), providers_(providers), node_(std::move(node)) {}
  // Returns a one-line summary.
  std::string check_all();
  // Records what is known of one instance's health (a check, or what a send
  // found out), and logs it when it is not healthy.
  void record(const std::string& instance, const sdk::HealthReport& report);

 private:
  Store& store_;
  ProviderRegistry& providers_;
  std::string node_;
};

struct JobSchedule {
  std::chrono::milliseconds every{0};  // every N, or
  int daily_hour = -1;                 // daily at HH:MM UTC
  int daily_minute = 0;

  static JobSchedule interval(std::chrono::milliseconds d) { return {d, -1, 0}; }
  static JobSchedule daily(int hour, int minute) { return {std::chrono::milliseconds(0), hour, minute}; }
  TimePoint next_after(TimePoint now) const;
  // When a job that never ran is first due: at once for an interval job, at
  // the next HH:MM for a daily one (a deployment at noon does not start the
  // nightly retention at noon).
  std::optional<TimePoint> first_run(TimePoint now) const {
    if (daily_hour < 0) return std::nullopt;
    return next_after(now);
  }
};

struct JobDefinition {
  std::string name;
  JobSchedule schedule;
  std::function<std::string()> run;  // returns what it did, for the log and the jobs table
};

class JobScheduler {
 public:
  JobScheduler(Store& store, std::string node, std::vector<JobDefinition> jobs,
               std::chrono::milliseconds poll = std::chrono::seconds(5));
  ~JobScheduler();
  void start();
  void stop();

 private:
  void loop();

  Store& store_;
  std::string node_;
  std::vector<JobDefinition> jobs_;
  std::chrono::milliseconds poll_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace barid::core
