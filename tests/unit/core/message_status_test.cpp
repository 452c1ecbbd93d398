// The message state machine, pair by pair, against the diagram in
// core/include/barid/core/message_status.hpp.
#include <barid/core/message_status.hpp>

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

namespace barid::core {
namespace {

using S = MessageStatus;

constexpr S kAll[] = {S::scheduled, S::queued,      S::sending, S::sent,       S::delivered,
                      S::read,      S::undelivered, S::failed,  S::suppressed, S::canceled};

using Edge = std::pair<S, S>;

// Every arrow the diagram draws.
const std::set<Edge> kDiagram = {
    {S::scheduled, S::sending},   {S::queued, S::sending},                                  // claim
    {S::sending, S::queued},                                                                  // retry
    {S::sending, S::sent},        {S::sent, S::delivered},       {S::delivered, S::read},    // the happy path
    {S::sent, S::undelivered},    {S::sent, S::failed},                                      // reports after sent
    {S::sending, S::failed},      {S::sending, S::delivered},   {S::sending, S::read},
    {S::sending, S::undelivered},                                                            // a report that overtakes the send result
    {S::scheduled, S::canceled},  {S::queued, S::canceled},                                  // cancel
    {S::failed, S::queued},       {S::undelivered, S::queued},                               // explicit retry
};

// Arrows the code allows that the diagram does not draw. Each is sound (see
// the reasons), and the diagram should show them: the report proposes the
// comment change.
const std::set<Edge> kAllowedButNotDrawn = {
    // A message that can never be sent (no route for its channel, expired)
    // fails without a provider call.
    {S::scheduled, S::failed},
    {S::queued, S::failed},
    // WhatsApp may report "read" with no "delivered" before it (or the
    // delivered report is lost or late).
    {S::sent, S::read},
};

std::string name(S s) { return std::string(sdk::to_string(s)); }

TEST(MessageStatus, EveryPairMatchesTheDiagram) {
  for (S from : kAll) {
    for (S to : kAll) {
      const bool expected = kDiagram.count({from, to}) > 0 || kAllowedButNotDrawn.count({from, to}) > 0;
      EXPECT_EQ(can_transition(from, to), expected) << name(from) << " -> " << name(to);
    }
  }
}

TEST(MessageStatus, NoStatusTransitionsToItself) {
  for (S s : kAll) EXPECT_FALSE(can_transition(s, s)) << name(s);
}

TEST(MessageStatus, ALateReportNeverMovesAMessageBackwards) {
  // "a late "sent" never overwrites "delivered" or "read"".
  EXPECT_FALSE(can_transition(S::delivered, S::sent));
  EXPECT_FALSE(can_transition(S::read, S::sent));
  EXPECT_FALSE(can_transition(S::read, S::delivered));
  EXPECT_FALSE(can_transition(S::delivered, S::sending));
  EXPECT_FALSE(can_transition(S::sent, S::sending));
  EXPECT_FALSE(can_transition(S::sent, S::queued));
  EXPECT_FALSE(can_transition(S::delivered, S::undelivered));
  EXPECT_FALSE(can_transition(S::delivered, S::failed));
}

TEST(MessageStatus, SuppressedAndScheduledAreOnlyEverInitial) {
  for (S from : kAll) {
    EXPECT_FALSE(can_transition(from, S::suppressed)) << name(from);
    EXPECT_FALSE(can_transition(from, S::scheduled)) << name(from);
  }
}

TEST(MessageStatus, TerminalStatuses) {
  const std::set<S> terminal = {S::read, S::undelivered, S::failed, S::suppressed, S::canceled};
  for (S s : kAll) EXPECT_EQ(is_terminal(s), terminal.count(s) > 0) << name(s);
}

TEST(MessageStatus, TerminalStatusesLeaveOnlyByAnExplicitRetry) {
  for (S from : kAll) {
    if (!is_terminal(from)) continue;
    for (S to : kAll) {
      if (to == S::queued && (from == S::failed || from == S::undelivered)) continue;
      EXPECT_FALSE(can_transition(from, to)) << name(from) << " -> " << name(to);
    }
  }
}

TEST(MessageStatus, FinalOutcomes) {
  const std::set<S> outcome = {S::delivered, S::read, S::undelivered, S::failed};
  for (S s : kAll) EXPECT_EQ(is_final_outcome(s), outcome.count(s) > 0) << name(s);
}

TEST(MessageStatus, PendingStatuses) {
  const std::set<S> pending = {S::scheduled, S::queued, S::sending};
  for (S s : kAll) EXPECT_EQ(is_pending(s), pending.count(s) > 0) << name(s);
}

TEST(MessageStatus, NamesRoundTrip) {
  for (S s : kAll) {
    auto back = sdk::status_from_string(sdk::to_string(s));
    ASSERT_TRUE(back.has_value()) << name(s);
    EXPECT_EQ(*back, s);
  }
  EXPECT_FALSE(sdk::status_from_string("Delivered").has_value());
  EXPECT_FALSE(sdk::status_from_string("").has_value());
  EXPECT_FALSE(sdk::status_from_string("unknown").has_value());
}

}  // namespace
}  // namespace barid::core
