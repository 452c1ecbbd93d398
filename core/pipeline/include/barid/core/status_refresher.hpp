#pragma once
// Asking providers that can be polled for the status of the messages they
// accepted: one message (POST /v1/messages/{id}/refresh), or the recent ones
// of every instance (the status-refresh job, jobs.hpp). What a provider
// answers is applied as a delivery report (DeliveryReports::apply_reports).

#include <barid/core/provider_registry.hpp>
#include <barid/core/store.hpp>

#include <map>
#include <stop_token>
#include <string>

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

}  // namespace barid::core
