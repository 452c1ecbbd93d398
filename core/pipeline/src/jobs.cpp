#include <barid/core/jobs.hpp>

#include <barid/core/health_monitor.hpp>
#include <barid/core/status_refresher.hpp>

#include <barid/core/log.hpp>

namespace barid::core {

using namespace std::chrono;

TimePoint JobSchedule::next_after(TimePoint now) const {
  if (daily_hour < 0) return now + duration_cast<microseconds>(every);
  auto day = floor<days>(now);
  auto at = time_point_cast<microseconds>(day + hours(daily_hour) + minutes(daily_minute));
  if (at <= now) at += days(1);
  return at;
}

JobScheduler::JobScheduler(JobStore& store, std::string node, std::vector<JobDefinition> jobs, milliseconds poll)
    : store_(store), node_(std::move(node)), jobs_(std::move(jobs)), poll_(poll) {}

JobScheduler::~JobScheduler() { stop(); }

void JobScheduler::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  stop_source_ = std::stop_source();
  thread_ = std::thread([this] { loop(); });
}

void JobScheduler::request_stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_source_.request_stop();
  cv_.notify_all();
}

void JobScheduler::stop() {
  request_stop();
  if (thread_.joinable()) thread_.join();
  if (requested_thread_.joinable()) requested_thread_.join();
}

std::string JobScheduler::execute(const JobDefinition& job) {
  std::lock_guard running(run_mutex_);
  const auto started = steady_clock::now();
  std::string result;
  try {
    result = job.run(stop_source_.get_token());
  } catch (const std::exception& e) {
    result = std::string("failed: ") + e.what();
  }
  const auto ms = duration_cast<milliseconds>(steady_clock::now() - started).count();
  result += " (" + std::to_string(ms) + " ms)";
  log_info("jobs", job.name + ": " + result);
  if (auto st = store_.finish_job_run(job.name, result); !st)
    log_warn("jobs", "cannot record the run of " + job.name + ": " + st.error().message);
  return result;
}

std::optional<Result<Uuid>> JobScheduler::request_run(const std::string& name, const std::string& requested_by) {
  const JobDefinition* job = nullptr;
  for (const auto& j : jobs_)
    if (j.name == name) job = &j;
  if (!job) return std::nullopt;
  JobStore::RequestedRun run;
  run.id = Uuid::v7();
  run.job = name;
  run.node = node_;
  run.requested_by = requested_by;
  if (auto st = store_.record_requested_run(run); !st) return Result<Uuid>(st.error());
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return Result<Uuid>(Error::unavailable("the gateway is stopping"));
    requested_.emplace_back(run.id, job);
    if (!requested_thread_.joinable()) requested_thread_ = std::thread([this] { requested_loop(); });
  }
  cv_.notify_all();
  return Result<Uuid>(run.id);
}

void JobScheduler::requested_loop() {
  for (;;) {
    std::pair<Uuid, const JobDefinition*> next;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !requested_.empty(); });
      if (requested_.empty()) return;
      next = requested_.front();
      requested_.pop_front();
    }
    const auto& [id, job] = next;
    std::string result;
    if (stop_source_.stop_requested()) {
      result = "not run: the gateway was stopping";
    } else {
      // The job's row exists from here on (so that this run is recorded), and
      // if a scheduled run was due, this run is it.
      const TimePoint now = now_us();
      if (auto claimed =
              store_.claim_job_run(job->name, node_, job->schedule.first_run(now), job->schedule.next_after(now));
          !claimed)
        log_warn("jobs", "cannot check job " + job->name + ": " + claimed.error().message);
      result = execute(*job);
    }
    if (auto st = store_.finish_requested_run(id, result); !st)
      log_warn("jobs", "cannot record the result of run " + id.str() + ": " + st.error().message);
  }
}

void JobScheduler::loop() {
  for (;;) {
    for (auto& job : jobs_) {
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
      }
      // The first node to move next_run_at forward runs it; the others see
      // it is not due.
      const TimePoint now = now_us();
      auto claimed = store_.claim_job_run(job.name, node_, job.schedule.first_run(now), job.schedule.next_after(now));
      if (!claimed) {
        log_warn("jobs", "cannot check job " + job.name + ": " + claimed.error().message);
        continue;
      }
      if (!*claimed) continue;
      execute(job);
    }
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, poll_, [&] { return stopping_; })) return;
  }
}

std::vector<JobDefinition> standard_jobs(const JobsConfig& j, JobStore& store, TenantStore& tenants,
                                         StatusRefresher& refresher,
                                         HealthMonitor& health, std::function<void()> requeued) {
  std::vector<JobDefinition> jobs;
  if (j.status_refresh.enabled)
    jobs.push_back({"status-refresh", j.status_refresh.schedule, [&j, &refresher](std::stop_token stop) {
                      auto since = now_us() - duration_cast<microseconds>(j.refresh_window);
                      auto r = refresher.refresh_recent(since, j.refresh_batch, stop);
                      if (!r) return "failed: " + r.error().message;
                      return std::to_string(r->checked) + " checked, " + std::to_string(r->changed) + " changed, " +
                             std::to_string(r->cost_checked) + " polled for cost, " + r->failures_text() + ", " +
                             std::to_string(r->unknown_to_provider) + " unknown to the provider";
                    }});
  if (j.retry_sweep.enabled)
    jobs.push_back({"retry-sweep", j.retry_sweep.schedule, [&j, &store, requeued](std::stop_token stop) {
                      auto since = now_us() - duration_cast<microseconds>(j.sweep_window);
                      int total = 0;
                      while (!stop.stop_requested()) {
                        auto n = store.requeue_retryable_failures(since, j.sweep_max_attempts, 1000);
                        if (!n) return "failed after " + std::to_string(total) + " requeued: " + n.error().message;
                        total += *n;
                        if (*n < 1000) break;
                      }
                      if (total > 0 && requeued) requeued();
                      return std::to_string(total) + " failed messages back in the queue" +
                             (stop.stop_requested() ? " (stopped early)" : "");
                    }});
  if (j.retention.enabled)
    jobs.push_back({"retention", j.retention.schedule, [&j, &store, &tenants](std::stop_token stop) {
                      auto all = tenants.list_tenants();
                      if (!all) return "failed: " + all.error().message;
                      long long deleted = 0, redacted = 0;
                      int batches = 0;
                      // Runs batches until one comes back short, adding them to
                      // `count`; the error, if any.
                      auto drain = [&](long long& count, auto&& one_batch) -> std::string {
                        while (!stop.stop_requested()) {
                          auto n = one_batch();
                          if (!n) return n.error().message;
                          count += *n;
                          ++batches;
                          if (*n < j.retention_batch) break;
                        }
                        return {};
                      };
                      for (const auto& t : *all) {
                        const auto cutoff = now_us() - hours(24LL * effective_retention_days(t.retention_days, j));
                        if (auto e = drain(deleted, [&] { return store.delete_messages_before(t.id, cutoff, j.retention_batch); });
                            !e.empty())
                          return "failed after deleting " + std::to_string(deleted) + ": " + e;
                      }
                      // The bodies of what is kept longer than a tenant wants them.
                      for (const auto& t : *all) {
                        if (!t.redact_after_days) continue;
                        const auto cutoff = now_us() - hours(24LL * *t.redact_after_days);
                        if (auto e = drain(redacted, [&] { return store.redact_messages_before(t.id, cutoff, j.retention_batch); });
                            !e.empty())
                          return "failed after erasing " + std::to_string(redacted) + " bodies: " + e;
                      }
                      // What patients wrote that no tenant's message explains: the
                      // gateway's own retention.
                      const auto cutoff = now_us() - hours(24LL * j.retention_days);
                      if (auto e = drain(deleted, [&] { return store.delete_unassigned_inbound_before(cutoff, j.retention_batch); });
                          !e.empty())
                        return "failed after deleting " + std::to_string(deleted) + ": " + e;
                      // Audit entries: each tenant's by the longer of its period
                      // and audit_min_days; the operator's (tenant 0) by the
                      // gateway's period and the same minimum.
                      long long audit = 0;
                      std::vector<std::pair<TenantId, std::optional<int>>> logs{{0, std::nullopt}};
                      for (const auto& t : *all) logs.emplace_back(t.id, t.retention_days);
                      for (const auto& log : logs) {
                        const TenantId tenant = log.first;  // a plain name: lambdas capture it
                        const auto audit_cutoff = now_us() - hours(24LL * effective_audit_days(log.second, j));
                        if (auto e = drain(audit, [&] { return store.delete_audit_before(tenant, audit_cutoff, j.retention_batch); });
                            !e.empty())
                          return "failed after deleting " + std::to_string(audit) + " audit entries: " + e;
                      }
                      // Daily usage counters: quotas read today's only.
                      long long usage = 0;
                      const auto usage_cutoff = now_us() - hours(24LL * 7);
                      if (auto e = drain(usage, [&] { return store.delete_usage_days_before(usage_cutoff, j.retention_batch); });
                          !e.empty())
                        return "failed after deleting " + std::to_string(usage) + " usage days: " + e;
                      return std::to_string(deleted) + " messages (and their events) and inbound messages deleted, " +
                             std::to_string(redacted) + " bodies erased, " + std::to_string(audit) +
                             " audit entries and " + std::to_string(usage) + " daily usage counters deleted, in " +
                             std::to_string(batches) + " batches" + (stop.stop_requested() ? " (stopped early)" : "");
                    }});
  if (j.provider_health.enabled)
    jobs.push_back({"provider-health", j.provider_health.schedule,
                    [&health](std::stop_token stop) { return health.check_all(stop); }});
  return jobs;
}

}  // namespace barid::core
