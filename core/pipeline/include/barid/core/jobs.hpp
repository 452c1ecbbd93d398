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

// Asks a provider for the status of messages it accepted.
class StatusRefresher {
 public:
  StatusRefresher(JobStore& jobs, DeliveryReports& reports, ProviderRegistry& providers)
      : jobs_(jobs), reports_(reports), providers_(providers) {}

  // One message (POST /v1/messages/{id}/refresh). conflict when the message
  // was never accepted by a provider or its instance cannot be polled; a
  // conflict whose field is kUnknownToProvider when the provider answered
  // that it does not know the message (its status is left as it is);
  // unavailable when the query failed.
  Result<ReportOutcome> refresh(const Message& message, const Actor& actor);
  static constexpr const char* kUnknownToProvider = "provider_message_id";

  struct Counts {
    int checked = 0, changed = 0, failed_queries = 0, cost_checked = 0;
    // Answers that the provider does not know the message: not failures.
    int unknown_to_provider = 0;
    // The failed queries by reason: the provider's error code ("HTTP-503"),
    // or STORE when the answer could not be recorded.
    std::map<std::string, int> failures_by_reason;
    // "3 queries failed (HTTP-503: 2, TIMEOUT: 1)", "0 queries failed".
    std::string failures_text() const;
  };
  // Sent-but-not-final messages accepted since `since`, for every instance
  // that supports polling (the status-refresh job).
  // Returns early, with what it did so far, once `stop` is requested.
  Result<Counts> refresh_recent(TimePoint since, int limit_per_instance, std::stop_token stop = {});

 private:
  JobStore& jobs_;
  DeliveryReports& reports_;
  ProviderRegistry& providers_;

  // refresh(); on a failure, `reason` is set to its reason (see Counts).
  Result<ReportOutcome> refresh(const Message& message, const Actor& actor, std::string& reason);
  // refresh(), counting what failed into `counts`.
  Result<ReportOutcome> refresh(const Message& message, const Actor& actor, Counts& counts);
};

// Calls check_health on every provider instance and records the result.
class HealthMonitor {
 public:
  HealthMonitor(JobStore& store, ProviderRegistry& providers, std::string node)
      : store_(store), providers_(providers), node_(std::move(node)) {}
  // Returns a one-line summary.
  std::string check_all(std::stop_token stop = {});
  // Records what is known of one instance's health (a check, or what a send
  // found out), and logs it when it is not healthy.
  void record(const std::string& instance, const sdk::HealthReport& report);

 private:
  JobStore& store_;
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
