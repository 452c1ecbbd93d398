#pragma once
// Periodic work: when each job runs (JobSchedule, JobScheduler) and the
// gateway's jobs (standard_jobs): refreshing delivery status from providers
// that can be polled (StatusRefresher), sweeping retryable failures back into
// the queue, deleting messages past their retention, checking provider health
// (HealthMonitor). When several gateway nodes share the database, exactly one
// runs each scheduled run (Store::claim_job_run).

#include <barid/core/store.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <stop_token>
#include <thread>
#include <vector>

namespace barid::core {

class StatusRefresher;  // status_refresher.hpp
class HealthMonitor;    // health_monitor.hpp

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
  // Returns what it did, for the log and the jobs table. A job that works
  // through batches checks `stop` between them and returns early when asked.
  std::function<std::string(std::stop_token stop)> run;
};

// The jobs section of the configuration.
struct JobConfig {
  bool enabled = true;
  JobSchedule schedule;
};

struct JobsConfig {
  std::chrono::milliseconds poll{5000};  // how often a node looks for a due job
  JobConfig status_refresh{true, JobSchedule::interval(std::chrono::minutes(5))};
  std::chrono::milliseconds refresh_window{std::chrono::hours(24)};
  int refresh_batch = 500;  // per provider instance and run
  JobConfig retry_sweep{true, JobSchedule::interval(std::chrono::hours(1))};
  std::chrono::milliseconds sweep_window{std::chrono::hours(24)};
  int sweep_max_attempts = 3;
  JobConfig retention{true, JobSchedule::daily(2, 0)};
  int retention_days = 90;  // a tenant's retention_days overrides it
  int retention_max_days = 365;  // no tenant keeps anything longer
  // Audit entries are kept at least this long whatever a tenant's own
  // retention_days (a tenant cannot erase its read audit by shortening it).
  int retention_audit_min_days = 365;
  int retention_batch = 1000;
  JobConfig provider_health{true, JobSchedule::interval(std::chrono::minutes(15))};
};

// How long a tenant's messages, inbound messages, outbox and audit are
// kept: its own setting or the gateway's, never over the operator's maximum.
inline int effective_retention_days(std::optional<int> tenant_days, const JobsConfig& j) {
  return std::min(tenant_days.value_or(j.retention_days), j.retention_max_days);
}

// How long a tenant's audit entries are kept: its retention, but never less
// than jobs.retention.audit_min_days (nor more than the operator's maximum).
inline int effective_audit_days(std::optional<int> tenant_days, const JobsConfig& j) {
  return std::min(std::max(effective_retention_days(tenant_days, j), j.retention_audit_min_days),
                  j.retention_max_days);
}

// The gateway's periodic jobs as `config` enables them: status refresh,
// retry sweep (then `requeued` is called, to wake the dispatcher), retention
// and provider health. The references must outlive the jobs.
std::vector<JobDefinition> standard_jobs(const JobsConfig& config, JobStore& store, TenantStore& tenants,
                                         StatusRefresher& refresher,
                                         HealthMonitor& health, std::function<void()> requeued);

class JobScheduler {
 public:
  JobScheduler(JobStore& store, std::string node, std::vector<JobDefinition> jobs,
               std::chrono::milliseconds poll = std::chrono::seconds(5));
  ~JobScheduler();
  void start();
  // Asks a running job to stop after its current batch, and runs no other;
  // does not wait (stop() does).
  void request_stop();
  // Runs the job `name` now for an operator (POST /v1/admin/jobs/{name}/run),
  // on a thread of this scheduler's, after any job this node is running,
  // and returns at once: the run is recorded (JobStore::record_requested_run)
  // under the id returned, and its result when it ends; it also counts as a
  // scheduled run. nullopt when there is no job of that name.
  std::optional<Result<Uuid>> request_run(const std::string& name, const std::string& requested_by);
  void stop();

 private:
  void loop();
  std::string execute(const JobDefinition& job);

  JobStore& store_;
  std::string node_;
  std::vector<JobDefinition> jobs_;
  std::chrono::milliseconds poll_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::stop_source stop_source_;
  std::mutex run_mutex_;  // one job at a time on this node
  std::thread thread_;
  // Runs operators asked for, in order, on their own thread (started with
  // the first).
  void requested_loop();
  std::deque<std::pair<Uuid, const JobDefinition*>> requested_;
  std::thread requested_thread_;
};

}  // namespace barid::core
