// What delivery reports and send outcomes do to a message, decided without a
// database (message_transitions.hpp), edge by edge of the status graph in
// message_status.hpp and docs/api.md ("A status never moves backwards").
#include <barid/core/message_transitions.hpp>
#include <barid/core/time.hpp>

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

namespace barid::core {
namespace {

using S = MessageStatus;
using Kind = ReportDecision::Kind;

constexpr S kAll[] = {S::scheduled, S::queued,   S::sending,    S::sent,     S::delivered, S::read,
                      S::undelivered, S::failed, S::suppressed, S::canceled, S::expired};

std::string name(S s) { return std::string(sdk::to_string(s)); }

sdk::StatusUpdate report(S status, std::string code = {}, std::string message = {}, bool retryable = false) {
  sdk::StatusUpdate u;
  u.provider_message_id = "MK1";
  u.status = status;
  u.error = {std::move(code), std::move(message)};
  u.retryable = retryable;
  return u;
}

// The edges a provider's report moves a message along: every arrow of the
// graph into a status a provider reports (sent, delivered, read,
// undelivered, failed). The last two are the graph's "no provider can take
// it" arrows: a failure report for a message back in the queue (retry
// scheduled) fails it.
const std::set<std::pair<S, S>> kReportEdges = {
    {S::sending, S::sent},        {S::sending, S::delivered}, {S::sending, S::read},
    {S::sending, S::undelivered}, {S::sending, S::failed},    {S::sent, S::delivered},
    {S::sent, S::read},           {S::sent, S::undelivered},  {S::sent, S::failed},
    {S::delivered, S::read},      {S::scheduled, S::failed},  {S::queued, S::failed},
};

TEST(DecideReport, EveryPairIsAppliedARepeatOrIgnored) {
  for (S from : kAll) {
    for (S to : kAll) {
      const ReportDecision d = decide_report(from, report(to), "mock-sms");
      const Kind expected = from == to ? Kind::repeat : kReportEdges.count({from, to}) ? Kind::applied : Kind::ignored;
      EXPECT_EQ(d.kind, expected) << name(from) << " -> " << name(to);
      EXPECT_EQ(d.status, expected == Kind::applied ? to : from) << name(from) << " -> " << name(to);
    }
  }
}

TEST(DecideReport, AnAppliedReportIsAuditedWithBothStatuses) {
  const ReportDecision d = decide_report(S::sent, report(S::delivered), "mock-sms");
  ASSERT_TRUE(d.event.has_value());
  EXPECT_EQ(d.event->type, "delivered");
  EXPECT_EQ(d.event->status, S::delivered);
  EXPECT_EQ(d.event->detail, "report from mock-sms: sent -> delivered");
  EXPECT_EQ(d.event->webhook_event, "message.delivered");
}

// A report that finds the message still `sending` came before the send's
// outcome was recorded: the clinic hears message.sent first, then the
// report's event. Only then.
TEST(DecideReport, AReportBeforeTheSendsOutcomeAnnouncesTheSendFirst) {
  for (S from : kAll) {
    for (S to : kAll) {
      const ReportDecision d = decide_report(from, report(to), "mock-sms");
      const bool first = d.kind == Kind::applied && from == S::sending && to != S::sent;
      EXPECT_EQ(d.webhook_event_first, first ? "message.sent" : "") << name(from) << " -> " << name(to);
    }
  }
  const ReportDecision d = decide_report(S::sending, report(S::delivered), "mock-sms");
  ASSERT_TRUE(d.event.has_value());
  EXPECT_EQ(d.event->webhook_event, "message.delivered");
}

TEST(DecideReport, EachTargetSetsItsTimestamps) {
  struct Case {
    S from, to;
    bool delivered_at, read_at, failed_at, next_attempt_now;
  };
  const Case cases[] = {
      {S::sending, S::sent, false, false, false, false},
      {S::sent, S::delivered, true, false, false, false},
      {S::sending, S::delivered, true, false, false, false},
      {S::sent, S::read, true, true, false, false},  // WhatsApp's read may come first
      {S::delivered, S::read, true, true, false, false},
      {S::sent, S::undelivered, false, false, true, true},
      {S::sent, S::failed, false, false, true, true},
      {S::sending, S::failed, false, false, true, true},
      {S::queued, S::failed, false, false, true, true},
  };
  for (const Case& c : cases) {
    const ReportDecision d = decide_report(c.from, report(c.to), "mock-sms");
    const std::string edge = name(c.from) + " -> " + name(c.to);
    ASSERT_EQ(d.kind, Kind::applied) << edge;
    auto stamp = [](bool moves) { return moves ? Stamp::now_unless_set : Stamp::unchanged; };
    EXPECT_EQ(d.timestamps.sent_at, Stamp::unchanged) << edge;
    EXPECT_EQ(d.timestamps.delivered_at, stamp(c.delivered_at)) << edge;
    EXPECT_EQ(d.timestamps.read_at, stamp(c.read_at)) << edge;
    EXPECT_EQ(d.timestamps.failed_at, stamp(c.failed_at)) << edge;
    EXPECT_EQ(d.timestamps.next_attempt_in.has_value(), c.next_attempt_now) << edge;
    if (c.next_attempt_now) {
      EXPECT_EQ(d.timestamps.next_attempt_in->count(), 0) << edge;
    }
    // The error fields move with a failure only.
    EXPECT_EQ(d.error.has_value(), c.failed_at) << edge;
    // What a message that asked to discard its content loses it on.
    EXPECT_EQ(d.discard_content, c.to != S::sent) << edge;
    EXPECT_EQ(d.event->webhook_event, "message." + name(c.to)) << edge;
  }
}

TEST(DecideReport, AFailureRecordsTheErrorWithNumbersMasked) {
  const ReportDecision d =
      decide_report(S::sent, report(S::undelivered, "30003", "Unreachable handset +966501234567", true), "twilio-sa");
  ASSERT_EQ(d.kind, Kind::applied);
  ASSERT_TRUE(d.error.has_value());
  EXPECT_EQ(d.error->code, "30003");
  EXPECT_EQ(d.error->message, "Unreachable handset +9665******67");
  EXPECT_TRUE(d.retryable);
  EXPECT_EQ(d.event->detail, "report from twilio-sa: sent -> undelivered (30003: Unreachable handset +9665******67)");
  EXPECT_EQ(d.event->detail.find("966501234567"), std::string::npos);

  EXPECT_FALSE(decide_report(S::sent, report(S::failed, "1"), "p").retryable);
}

TEST(DecideReport, TheEventNamesWhateverPartOfTheErrorThereIs) {
  EXPECT_EQ(decide_report(S::sent, report(S::failed, "21610"), "p").event->detail, "report from p: sent -> failed (21610)");
  EXPECT_EQ(decide_report(S::sent, report(S::failed, "", "blocked"), "p").event->detail,
            "report from p: sent -> failed (: blocked)");
  EXPECT_EQ(decide_report(S::sent, report(S::failed), "p").event->detail, "report from p: sent -> failed");
  // An error on a success is still told.
  EXPECT_EQ(decide_report(S::sent, report(S::delivered, "0", "ok"), "p").event->detail,
            "report from p: sent -> delivered (0: ok)");
  EXPECT_FALSE(decide_report(S::sent, report(S::delivered, "0", "ok"), "p").error.has_value());
}

TEST(DecideReport, ErrorFieldsAreCutToTheirColumns) {
  const std::string code(40, 'C');
  const std::string message = "number +966501234567 " + std::string(600, 'x');
  const ReportDecision d = decide_report(S::sent, report(S::failed, code, message), "p");
  ASSERT_TRUE(d.error.has_value());
  EXPECT_EQ(d.error->code, std::string(32, 'C'));
  EXPECT_EQ(d.error->message.size(), 512u);
  EXPECT_EQ(d.error->message.rfind("number +9665******67 xxx", 0), 0u);
  // The audit trail's detail keeps the whole (masked) text; the store cuts
  // it to its column.
  EXPECT_NE(d.event->detail.find(std::string(600, 'x')), std::string::npos);
}

TEST(DecideReport, ALateReportIsRecordedAndIgnored) {
  const std::pair<S, S> late[] = {{S::delivered, S::sent},   {S::read, S::sent},      {S::read, S::delivered},
                                  {S::failed, S::delivered}, {S::undelivered, S::sent}, {S::delivered, S::failed},
                                  {S::canceled, S::sent},    {S::expired, S::delivered}, {S::suppressed, S::failed}};
  for (auto [from, to] : late) {
    const ReportDecision d = decide_report(from, report(to, "E1", "late +966501234567"), "mock-sms");
    const std::string edge = name(from) + " -> " + name(to);
    EXPECT_EQ(d.kind, Kind::ignored) << edge;
    EXPECT_EQ(d.status, from) << edge;
    EXPECT_FALSE(d.error.has_value()) << edge;
    EXPECT_EQ(d.timestamps.delivered_at, Stamp::unchanged) << edge;
    EXPECT_EQ(d.timestamps.read_at, Stamp::unchanged) << edge;
    EXPECT_EQ(d.timestamps.failed_at, Stamp::unchanged) << edge;
    EXPECT_FALSE(d.timestamps.next_attempt_in.has_value()) << edge;
    EXPECT_FALSE(d.discard_content) << edge;
    ASSERT_TRUE(d.event.has_value()) << edge;
    EXPECT_EQ(d.event->type, "report_ignored") << edge;
    EXPECT_FALSE(d.event->status.has_value()) << edge;
    EXPECT_EQ(d.event->webhook_event, "") << edge;
    EXPECT_EQ(d.event->detail, "report from mock-sms of '" + name(to) + "' ignored: the message is " + name(from))
        << edge;
  }
}

TEST(DecideReport, AStatusNoProviderReportsIsIgnored) {
  // Edges of the graph that are the gateway's own (claim, retry, cancel,
  // expiry): a report naming their target does not take them.
  const std::pair<S, S> own[] = {{S::sending, S::queued},  {S::queued, S::sending},   {S::scheduled, S::sending},
                                 {S::queued, S::canceled}, {S::scheduled, S::canceled}, {S::queued, S::expired},
                                 {S::failed, S::queued},   {S::undelivered, S::queued}};
  for (auto [from, to] : own) {
    const std::string edge = name(from) + " -> " + name(to);
    ASSERT_TRUE(can_transition(from, to)) << edge;
    const ReportDecision d = decide_report(from, report(to), "p");
    EXPECT_EQ(d.kind, Kind::ignored) << edge;
    EXPECT_EQ(d.status, from) << edge;
    ASSERT_TRUE(d.event.has_value()) << edge;
    EXPECT_EQ(d.event->type, "report_ignored") << edge;
  }
}

TEST(DecideReport, ARepeatRecordsNothing) {
  for (S s : kAll) {
    const ReportDecision d = decide_report(s, report(s, "E", "again"), "p");
    EXPECT_EQ(d.kind, Kind::repeat) << name(s);
    EXPECT_FALSE(d.event.has_value()) << name(s);
    EXPECT_FALSE(d.error.has_value()) << name(s);
    EXPECT_FALSE(d.discard_content) << name(s);
  }
}

AttemptResult attempt(AttemptResult::Decision decision) {
  AttemptResult a;
  a.decision = decision;
  a.attempt = 2;
  a.provider_instance = "mock-sms";
  return a;
}

using Decision = AttemptResult::Decision;
using Guard = AttemptDecision::Guard;

void expect_event(const EventToWrite& e, const std::string& type, S status, const std::string& detail,
                  const std::string& webhook_event) {
  EXPECT_EQ(e.type, type);
  EXPECT_EQ(e.status, status);
  EXPECT_EQ(e.detail, detail);
  EXPECT_EQ(e.webhook_event, webhook_event);
}

TEST(DecideAttempt, AcceptedBySendingToSent) {
  AttemptResult a = attempt(Decision::sent);
  a.provider_message_id = "MKd0a4a763-1";
  a.sender = "Clinic";
  a.segments = 2;
  a.cost = sdk::Money{12500, "SAR"};
  const AttemptDecision d = decide_attempt(a, false);
  EXPECT_EQ(d.status, S::sent);
  EXPECT_EQ(d.guard, Guard::status_moves_from_sending);
  EXPECT_TRUE(d.records_instance);
  EXPECT_EQ(d.timestamps.sent_at, Stamp::now_unless_set);
  EXPECT_EQ(d.timestamps.delivered_at, Stamp::unchanged);
  EXPECT_EQ(d.timestamps.read_at, Stamp::unchanged);
  EXPECT_EQ(d.timestamps.failed_at, Stamp::unchanged);
  ASSERT_TRUE(d.timestamps.next_attempt_in.has_value());
  EXPECT_EQ(d.timestamps.next_attempt_in->count(), 0);
  // A success clears the error of an earlier attempt.
  ASSERT_TRUE(d.error.has_value());
  EXPECT_EQ(d.error->code, "");
  EXPECT_EQ(d.error->message, "");
  EXPECT_FALSE(d.retryable.has_value());
  EXPECT_EQ(d.provider_message_id, "MKd0a4a763-1");
  EXPECT_EQ(d.sender, "Clinic");
  EXPECT_EQ(d.segments, 2);
  ASSERT_TRUE(d.cost.has_value());
  EXPECT_EQ(d.cost->micros, 12500);
  expect_event(d.event, "sent", S::sent,
               "attempt 2 via mock-sms: accepted as MKd0a4a763-1, cost 0.012500 SAR", "message.sent");
  EXPECT_FALSE(d.discard_content);
}

TEST(DecideAttempt, ASendThatIsAlreadyDeliveredOrRead) {
  AttemptResult a = attempt(Decision::sent);
  a.status = S::delivered;
  AttemptDecision d = decide_attempt(a, false);
  EXPECT_EQ(d.status, S::delivered);
  EXPECT_EQ(d.timestamps.delivered_at, Stamp::now_unless_set);
  EXPECT_EQ(d.timestamps.read_at, Stamp::unchanged);
  EXPECT_TRUE(d.discard_content);
  EXPECT_EQ(d.event.webhook_event, "message.delivered");
  EXPECT_EQ(d.event.detail, "attempt 2 via mock-sms: accepted as (no id)");

  a.status = S::read;
  d = decide_attempt(a, false);
  EXPECT_EQ(d.timestamps.delivered_at, Stamp::now_unless_set);
  EXPECT_EQ(d.timestamps.read_at, Stamp::now_unless_set);
  EXPECT_EQ(d.event.status, S::read);
}

TEST(DecideAttempt, WhatCannotBeStoredIsLeftOutAndSaid) {
  AttemptResult a = attempt(Decision::sent);
  a.provider_message_id = std::string(kProviderIdMaxBytes + 1, 'i');
  a.cost = sdk::Money{1, "sar"};
  a.segments = kSegmentsMax + 10;
  AttemptDecision d = decide_attempt(a, false);
  EXPECT_EQ(d.provider_message_id, "");
  EXPECT_FALSE(d.cost.has_value());
  EXPECT_EQ(d.segments, kSegmentsMax);
  EXPECT_EQ(d.event.detail,
            "attempt 2 via mock-sms: accepted as (no id); the provider's id (129 bytes) could not be stored; the "
            "provider's cost currency is not an ISO 4217 code");

  a.provider_message_id = "bad\xff";
  EXPECT_EQ(decide_attempt(a, false).provider_message_id, "");

  // The fallback keeps the decision alone.
  a.provider_message_id = "MK1";
  a.cost = sdk::Money{1, "SAR"};
  d = decide_attempt(a, true);
  EXPECT_EQ(d.provider_message_id, "");
  EXPECT_FALSE(d.cost.has_value());
  EXPECT_EQ(d.event.detail, "attempt 2 via mock-sms: accepted as (no id)");
}

TEST(DecideAttempt, ARetryPutsTheMessageBackInTheQueue) {
  AttemptResult a = attempt(Decision::retry);
  a.retry_in = std::chrono::milliseconds(30000);
  a.error = {"503", "busy for +966501234567"};
  a.detail = "transient";
  const AttemptDecision d = decide_attempt(a, false);
  EXPECT_EQ(d.status, S::queued);
  EXPECT_EQ(d.guard, Guard::requires_sending);
  EXPECT_TRUE(d.records_instance);
  ASSERT_TRUE(d.timestamps.next_attempt_in.has_value());
  EXPECT_EQ(d.timestamps.next_attempt_in->count(), 30000);
  EXPECT_EQ(d.timestamps.failed_at, Stamp::unchanged);
  EXPECT_EQ(d.timestamps.sent_at, Stamp::unchanged);
  ASSERT_TRUE(d.error.has_value());
  EXPECT_EQ(d.error->code, "503");
  EXPECT_EQ(d.error->message, "busy for +9665******67");
  EXPECT_FALSE(d.retryable.has_value());
  expect_event(d.event, "retry_scheduled", S::queued,
               "attempt 2 via mock-sms: 503: busy for +9665******67; next attempt in 30000 ms (transient)", "");
  EXPECT_FALSE(d.discard_content);
}

TEST(DecideAttempt, AFailureEndsTheMessage) {
  AttemptResult a = attempt(Decision::failed);
  a.error = {"", "rejected " + std::string(600, 'r')};
  a.retryable = true;
  AttemptDecision d = decide_attempt(a, false);
  EXPECT_EQ(d.status, S::failed);
  EXPECT_EQ(d.guard, Guard::requires_sending);
  EXPECT_EQ(d.timestamps.failed_at, Stamp::now);
  ASSERT_TRUE(d.timestamps.next_attempt_in.has_value());
  EXPECT_EQ(d.retryable, std::optional<bool>(true));
  ASSERT_TRUE(d.error.has_value());
  EXPECT_EQ(d.error->code, "");
  EXPECT_EQ(d.error->message.size(), 512u);
  EXPECT_EQ(d.event.type, "failed");
  EXPECT_EQ(d.event.detail, "attempt 2 via mock-sms: " + d.error->message);
  EXPECT_EQ(d.event.webhook_event, "message.failed");
  EXPECT_TRUE(d.discard_content);

  // The fallback keeps the code only.
  a.error = {"E42", "no +966501234567"};
  d = decide_attempt(a, true);
  EXPECT_EQ(d.error->code, "E42");
  EXPECT_EQ(d.error->message, "");
  EXPECT_EQ(d.event.detail, "attempt 2 via mock-sms: E42: ");
}

TEST(DecideAttempt, AnExpiryGivesTheAttemptBack) {
  AttemptResult a = attempt(Decision::expired);
  a.detail = "expires_at passed";
  const AttemptDecision d = decide_attempt(a, false);
  EXPECT_EQ(d.status, S::expired);
  EXPECT_EQ(d.guard, Guard::requires_sending);
  EXPECT_FALSE(d.records_instance);
  EXPECT_TRUE(d.give_back_attempt);
  EXPECT_EQ(d.status_reason, "validity ended before it was sent");
  EXPECT_FALSE(d.error.has_value());
  EXPECT_EQ(d.timestamps.failed_at, Stamp::unchanged);
  EXPECT_EQ(d.event.type, "expired");
  EXPECT_EQ(d.event.detail, "validity ended before the send could start (expires_at passed)");
  EXPECT_EQ(d.event.webhook_event, "message.expired");
  EXPECT_TRUE(d.discard_content);
}

TEST(CancelRefusal, OnlyAQueuedOrScheduledMessageIsCanceled) {
  for (S s : kAll) {
    const std::string expected =
        s == S::queued || s == S::scheduled ? ""
        : s == S::sending ? "the message is being sent and can no longer be canceled"
                          : "only a queued or scheduled message can be canceled; this one is " + name(s);
    EXPECT_EQ(cancel_refusal(s), expected) << name(s);
  }
}

TEST(RetryRefusal, AFailedOrUndeliveredMessageWithAttemptsLeft) {
  const TimePoint now = now_us();
  Message m;
  m.attempts = 1;
  m.max_attempts = 3;
  for (S s : kAll) {
    m.status = s;
    const std::string expected = s == S::failed || s == S::undelivered
                                     ? ""
                                     : "only a failed or undelivered message can be retried; this one is " + name(s);
    EXPECT_EQ(retry_refusal(m, now), expected) << name(s);
  }
  m.status = S::failed;
  m.attempts = 3;
  EXPECT_EQ(retry_refusal(m, now), "no attempt left: it used 3 of 3 attempts");
  m.attempts = 1;
  m.expires_at = now;
  EXPECT_EQ(retry_refusal(m, now), "its validity ended at " + format_iso8601(now));
  m.expires_at = now + std::chrono::hours(1);
  EXPECT_EQ(retry_refusal(m, now), "");
  m.body_redacted_at = now;
  EXPECT_EQ(retry_refusal(m, now), "its body was erased at " + format_iso8601(now) + " (content_retention)");
  m.body_redacted_at.reset();
  m.content_error = "no key";
  EXPECT_EQ(retry_refusal(m, now), "its body cannot be opened: no key");
}

TEST(MessageTransitions, ContentEndsWithDeliveryAndEveryTerminalStatus) {
  const std::set<S> ends = {S::delivered, S::read, S::undelivered, S::failed, S::suppressed, S::canceled, S::expired};
  for (S s : kAll) EXPECT_EQ(ends_content(s), ends.count(s) > 0) << name(s);
}

TEST(MessageTransitions, ProvidersReportFiveStatuses) {
  const std::set<S> reportable = {S::sent, S::delivered, S::read, S::undelivered, S::failed};
  for (S s : kAll) EXPECT_EQ(provider_reportable(s), reportable.count(s) > 0) << name(s);
}

}  // namespace
}  // namespace barid::core
