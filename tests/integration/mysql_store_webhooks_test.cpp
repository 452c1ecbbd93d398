// The webhook outbox in the MySQL store against a real MariaDB: events are
// written with the change they describe, only for tenants with an endpoint;
// a disabled endpoint or one that does not want the type gets no delivery;
// a message's events are claimed in order per endpoint; an attempt is
// recorded and rescheduled; replay queues the events again.

#include "store_fixture.hpp"

#include <barid/sdk/encoding.hpp>

#include <gtest/gtest.h>

namespace barid::core {
namespace {

using namespace std::chrono_literals;

class WebhookStoreTest : public MySqlStoreTest {
 protected:
  WebhookEndpoint endpoint(TenantId tenant, std::set<std::string> events = {}) {
    WebhookEndpoint w;
    w.id = Uuid::v7();
    w.tenant_id = tenant;
    w.url = "https://clinic.example/hooks";
    w.events = std::move(events);
    w.secret = new_webhook_secret();
    EXPECT_TRUE(store_->add_webhook(w).ok());
    return w;
  }
  // Sends `m` through the dispatcher's path and reports it delivered.
  void sent_and_delivered(const NewMessage& m) {
    auto claimed = claim("node-a", 10, 30s);
    ASSERT_TRUE(claimed.ok());
    AttemptResult r;
    r.id = m.id;
    r.tenant_id = m.tenant_id;
    r.decision = AttemptResult::Decision::sent;
    r.provider_instance = "twilio-sms";
    r.provider_message_id = "SM-" + m.id.str();
    ASSERT_TRUE(store_->record_attempts("node-a", {r}).ok());
    sdk::StatusUpdate u;
    u.provider_message_id = r.provider_message_id;
    u.status = MessageStatus::delivered;
    ASSERT_TRUE(store_->apply_reports("twilio-sms", {u}, Actor{"provider:twilio-sms", "", ""}).ok());
  }
  std::string count(const std::string& table) { return db_->scalar("SELECT COUNT(*) FROM " + table); }
  // An event of no message (unordered) for `w`'s tenant that happened
  // `ago_s` seconds ago, with a delivery to `w` due since then.
  void event_for(const WebhookEndpoint& w, int ago_s) {
    const std::string id = "X'" + sdk::hex_encode(Uuid::v7().raw()) + "'";
    const std::string at = "UTC_TIMESTAMP(6) - INTERVAL " + std::to_string(ago_s) + " SECOND";
    db_->execute("INSERT INTO webhook_events (id, tenant_id, type, phone, channel, occurred_at) VALUES (" + id + ", " +
                 std::to_string(w.tenant_id) + ", 'recipient.opted_in', '+966501239100', 'sms', " + at + ")");
    db_->execute("INSERT INTO webhook_deliveries (event_seq, endpoint_id, tenant_id, status, attempts, next_attempt_at, "
                 "created_at) SELECT seq, X'" + sdk::hex_encode(w.id.raw()) + "', tenant_id, 'pending', 0, " + at +
                 ", " + at + " FROM webhook_events WHERE id = " + id);
  }
  // A message.sent and a message.delivered of a (made up) message for `w`:
  // the sent one due since `sent_due_s` ago (its retry), the delivered one
  // since `delivered_due_s` ago. Returns the message id.
  Uuid sent_then_delivered(const WebhookEndpoint& w, int sent_due_s, int delivered_due_s) {
    const Uuid message = Uuid::v7();
    for (const auto& [type, due] : {std::pair<std::string, int>{"message.sent", sent_due_s}, {"message.delivered", delivered_due_s}}) {
      const std::string id = "X'" + sdk::hex_encode(Uuid::v7().raw()) + "'";
      const std::string at = "UTC_TIMESTAMP(6) - INTERVAL " + std::to_string(due) + " SECOND";
      db_->execute("INSERT INTO webhook_events (id, tenant_id, type, message_id, occurred_at) VALUES (" + id + ", " +
                   std::to_string(w.tenant_id) + ", '" + type + "', X'" + sdk::hex_encode(message.raw()) +
                   "', UTC_TIMESTAMP(6))");
      db_->execute("INSERT INTO webhook_deliveries (event_seq, endpoint_id, tenant_id, message_id, status, attempts, "
                   "next_attempt_at, created_at) SELECT seq, X'" + sdk::hex_encode(w.id.raw()) + "', tenant_id, "
                   "message_id, 'pending', 0, " + at + ", " + at + " FROM webhook_events WHERE id = " + id);
    }
    return message;
  }
  static std::map<Uuid, int> per_endpoint(const std::vector<WebhookDelivery>& ds) {
    std::map<Uuid, int> n;
    for (const auto& d : ds) ++n[d.endpoint.id];
    return n;
  }
  static void delivered(WebhookStore& s, const std::vector<WebhookDelivery>& ds) {
    WebhookAttemptOutcome ok;
    ok.delivered = true;
    ok.status_code = 200;
    for (const auto& d : ds) ASSERT_TRUE(s.finish_webhook_delivery(d, ok).ok());
  }
};

TEST_F(WebhookStoreTest, EventsAreWrittenWithTheirChangeOnlyForTenantsWithAnEndpoint) {
  NewMessage theirs = message("+966501239001");
  theirs.tenant_id = other_tenant_;  // clinic-b has no endpoint
  insert({theirs});
  sent_and_delivered(theirs);
  EXPECT_EQ(count("webhook_events"), "0");

  const WebhookEndpoint all = endpoint(tenant_);
  const WebhookEndpoint delivered_only = endpoint(tenant_, {"message.delivered"});
  WebhookEndpoint off = endpoint(tenant_);
  off.disabled_reason = "test";
  ASSERT_TRUE(store_->update_webhook(off, false).ok());
  NewMessage mine = message("+966501239002");
  insert({mine});
  sent_and_delivered(mine);
  EXPECT_EQ(count("webhook_events"), "2");  // sent, delivered
  // all: both; delivered_only: one; the disabled one: none.
  EXPECT_EQ(count("webhook_deliveries"), "3");
  EXPECT_EQ(db_->scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = X'" +
                        sdk::hex_encode(off.id.raw()) + "'"),
            "0");

  // The message's events go in order: the later comes with the earlier and
  // after it, a chain that the node sends one after the other.
  auto first = store_->claim_webhook_deliveries("node-a", 10, 30s);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->size(), 3u);  // all: sent, then delivered; delivered_only: delivered
  std::vector<std::string> to_all;
  for (const auto& d : *first) {
    if (d.endpoint.id == all.id) to_all.push_back(d.event.type);
    else EXPECT_EQ(d.event.type, "message.delivered");
    EXPECT_EQ(d.event.message_id, std::optional<Uuid>(mine.id));
    EXPECT_EQ(d.attempts, 1);
    // What the event describes comes with it.
    ASSERT_TRUE(d.message);
    EXPECT_EQ(d.message->id, mine.id);
  }
  EXPECT_EQ(to_all, (std::vector<std::string>{"message.sent", "message.delivered"}));
  EXPECT_TRUE(store_->claim_webhook_deliveries("node-b", 10, 30s)->empty());  // leased
  // A failed attempt: rescheduled (in an hour), recorded, the endpoint
  // failing; the node gives back the event after it, unsent.
  const WebhookDelivery& sent = (*first)[0].endpoint.id == all.id ? (*first)[0] : (*first)[1];
  std::vector<WebhookDeliveryKey> later;
  for (const auto& d : *first) {
    if (d.endpoint.id == all.id && d.event.type == "message.delivered") {
      later.push_back({d.event.seq, d.endpoint.id});
      continue;
    }
    WebhookAttemptOutcome o;
    o.delivered = d.endpoint.id != all.id;
    o.status_code = o.delivered ? 200 : 500;
    o.latency = 12ms;
    if (!o.delivered) {
      o.error = "HTTP 500";
      o.next_attempt_at = now_us() + 1h;
    }
    ASSERT_TRUE(store_->finish_webhook_delivery(d, o).ok());
  }
  ASSERT_TRUE(store_->release_webhook_deliveries("node-b", later).ok());  // not node-b's: nothing
  EXPECT_EQ(db_->scalar("SELECT attempts FROM webhook_deliveries WHERE event_seq = " +
                        std::to_string(later[0].event_seq) + " AND lease_owner = 'node-a'"),
            "1");
  ASSERT_TRUE(store_->release_webhook_deliveries("node-a", later).ok());
  EXPECT_TRUE(store_->find_webhook(tenant_, all.id)->value().failing_since.has_value());
  // The later one is due, but waits while the earlier one backs off.
  EXPECT_TRUE(store_->claim_webhook_deliveries("node-b", 10, 30s)->empty());
  db_->execute("UPDATE webhook_deliveries SET next_attempt_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE event_seq = " +
               std::to_string(sent.event.seq));
  auto again = store_->claim_webhook_deliveries("node-b", 10, 30s);
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ(again->front().event.type, "message.sent");
  EXPECT_EQ(again->front().attempts, 2);
  EXPECT_EQ(again->back().event.type, "message.delivered");
  EXPECT_EQ(again->back().attempts, 1);  // the given-back claim did not count
  // The node renews the leases it holds, and only those.
  std::vector<WebhookDeliveryKey> held;
  for (const auto& d : *again) held.push_back({d.event.seq, d.endpoint.id});
  EXPECT_EQ(*store_->extend_webhook_leases("node-b", held, 60s), 2);
  EXPECT_EQ(*store_->extend_webhook_leases("node-a", held, 60s), 0);
  EXPECT_EQ(db_->scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE lease_expires_at > UTC_TIMESTAMP(6) + "
                        "INTERVAL 45 SECOND"),
            "2");
  WebhookAttemptOutcome ok;
  ok.delivered = true;
  ok.status_code = 204;
  ASSERT_TRUE(store_->finish_webhook_deliveries(*again, {ok, ok}).ok());
  EXPECT_FALSE(store_->find_webhook(tenant_, all.id)->value().failing_since.has_value());

  auto attempts = store_->list_webhook_attempts(tenant_, all.id, 10, std::nullopt);
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 3u);
  EXPECT_EQ(attempts->back().status_code, 500);
  EXPECT_EQ(attempts->back().error, "HTTP 500");
  EXPECT_TRUE(attempts->front().delivered);
  EXPECT_TRUE(store_->list_webhook_attempts(other_tenant_, all.id, 10, std::nullopt)->empty());

  // Replay: everything since then, again, for that endpoint only.
  auto n = store_->replay_webhook_events(tenant_, all.id, now_us() - 1h, 10000);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(n->replayed, 2);
  EXPECT_FALSE(n->next_since.has_value());
  EXPECT_EQ(store_->claim_webhook_deliveries("node-c", 10, 30s)->size(), 2u);  // the chain again
  EXPECT_EQ(store_->replay_webhook_events(tenant_, off.id, now_us() - 1h, 10000)->replayed, 2);  // it never had them

  // Deleting an endpoint takes its deliveries and attempts.
  ASSERT_TRUE(*store_->delete_webhook(tenant_, all.id));
  EXPECT_FALSE(*store_->delete_webhook(other_tenant_, delivered_only.id));  // not theirs
  EXPECT_EQ(db_->scalar("SELECT COUNT(*) FROM webhook_attempts WHERE endpoint_id = X'" + sdk::hex_encode(all.id.raw()) +
                        "'"),
            "0");
}

// Clinic A's endpoint has a long backlog, older than anything clinic B has
// due: a claim still takes B's in turn with A's, and never more of one
// endpoint than the room the node has for it.
// A provider that reports delivery before the gateway has recorded the
// send's outcome (a fast provider, a busy node): the clinic still hears
// message.sent, once, before message.delivered.
TEST_F(WebhookStoreTest, ADeliveryReportBeforeTheSendsOutcomeStillComesAfterMessageSent) {
  endpoint(tenant_);
  NewMessage m = message("+966501239003");
  insert({m});
  auto claimed = claim("node-a", 10, 30s);
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  AttemptResult r;
  r.id = m.id;
  r.tenant_id = m.tenant_id;
  r.attempt = 1;
  r.decision = AttemptResult::Decision::sent;
  r.provider_instance = "twilio-sms";
  r.provider_message_id = "SM-" + m.id.str();
  sdk::StatusUpdate u;
  u.message_id = m.id.str();
  u.status = MessageStatus::delivered;
  ASSERT_TRUE(store_->apply_reports("twilio-sms", {u}, Actor{"provider:twilio-sms", "", ""}).ok());
  EXPECT_EQ(get(m.id).status, MessageStatus::delivered);
  auto lost = store_->record_attempts("node-a", {r});
  ASSERT_TRUE(lost.ok()) << lost.error().message;
  EXPECT_EQ(*lost, 0);
  // The outcome is kept (the provider's id, the time sent), the status the
  // report set stays.
  const Message now = get(m.id);
  EXPECT_EQ(now.status, MessageStatus::delivered);
  EXPECT_EQ(now.provider_message_id, r.provider_message_id);
  EXPECT_TRUE(now.sent_at.has_value());
  EXPECT_EQ(db_->scalar("SELECT GROUP_CONCAT(type ORDER BY seq) FROM webhook_events WHERE message_id = X'" +
                        sdk::hex_encode(m.id.raw()) + "'"),
            "message.sent,message.delivered");
  auto first = store_->claim_webhook_deliveries("node-a", 10, 30s);
  ASSERT_TRUE(first.ok()) << first.error().message;
  std::vector<std::string> types;
  for (const auto& d : *first) types.push_back(d.event.type);
  EXPECT_EQ(types, (std::vector<std::string>{"message.sent", "message.delivered"}));
}

TEST_F(WebhookStoreTest, ClaimsTakeEndpointsInTurnAndNoMoreOfOneThanItsShare) {
  const WebhookEndpoint a = endpoint(tenant_);
  const WebhookEndpoint b = endpoint(other_tenant_);
  for (int i = 0; i < 40; ++i) event_for(a, 600 - i);
  for (int i = 0; i < 3; ++i) event_for(b, 10 - i);

  WebhookClaim claim;
  claim.limit = 2;
  claim.per_endpoint = 4;
  claim.lease = 30s;
  auto turn = store_->claim_webhook_deliveries("node-a", claim);
  ASSERT_TRUE(turn.ok()) << turn.error().message;
  EXPECT_EQ(per_endpoint(*turn), (std::map<Uuid, int>{{a.id, 1}, {b.id, 1}}));  // one each, not A's two oldest
  delivered(*store_, *turn);

  claim.limit = 16;
  auto most = store_->claim_webhook_deliveries("node-a", claim);
  ASSERT_TRUE(most.ok()) << most.error().message;
  EXPECT_EQ(per_endpoint(*most), (std::map<Uuid, int>{{a.id, 4}, {b.id, 2}}));  // A's share; all of B's

  // The node holds those 4 of A and has no room for more: no more of A,
  // however many wait; room for one more, one.
  claim.room = {{a.id, 0}};
  EXPECT_TRUE(store_->claim_webhook_deliveries("node-a", claim)->empty());
  claim.room = {{a.id, 1}};
  auto one = store_->claim_webhook_deliveries("node-a", claim);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->front().endpoint.id, a.id);
}

// Each message's message.sent was tried and is due again later than its
// message.delivered, which waits behind it: claims still take every one,
// each message's message.sent first (the later one follows once the node
// holds the earlier), and never one whose earlier event backs off.
TEST_F(WebhookStoreTest, ClaimsTakeEveryEventInOrderEvenWhenTheLaterOneIsDueFirst) {
  const WebhookEndpoint a = endpoint(tenant_);
  std::set<Uuid> messages;
  for (int i = 0; i < 40; ++i) messages.insert(sent_then_delivered(a, 1, 60));
  const Uuid waiting = sent_then_delivered(a, -3600, 60);  // its sent one backs off for an hour
  WebhookClaim claim;
  claim.limit = 100;
  claim.per_endpoint = 8;
  claim.lease = 30s;
  std::map<Uuid, std::vector<std::string>> claimed;  // per message, its types in the order claimed
  std::size_t total = 0;
  for (int round = 0; round < 30; ++round) {
    auto got = store_->claim_webhook_deliveries("node-a", claim);
    ASSERT_TRUE(got.ok()) << got.error().message;
    if (round == 0) {
      EXPECT_EQ(got->size(), 8u);  // the oldest due wait: the heads instead
    }
    for (const auto& d : *got) {
      ASSERT_TRUE(d.event.message_id.has_value());
      EXPECT_NE(*d.event.message_id, waiting);
      claimed[*d.event.message_id].push_back(d.event.type);
    }
    total += got->size();
    if (got->empty()) break;
  }
  EXPECT_EQ(total, 80u);
  ASSERT_EQ(claimed.size(), 40u);
  for (const auto& [message, types] : claimed) {
    EXPECT_TRUE(messages.count(message));
    EXPECT_EQ(types, (std::vector<std::string>{"message.sent", "message.delivered"}));
  }
  // Another node holds none of them: it gets nothing of that endpoint.
  EXPECT_TRUE(store_->claim_webhook_deliveries("node-b", claim)->empty());
}

// A replay queues at most its limit, the earliest first, and says where the
// rest begin; a second one is refused while the first one's events are
// pending.
TEST_F(WebhookStoreTest, AReplayQueuesAtMostItsLimitAndASecondWaitsForTheFirst) {
  const WebhookEndpoint a = endpoint(tenant_);
  for (int i = 0; i < 5; ++i) event_for(a, 100 - 10 * i);
  delivered(*store_, *store_->claim_webhook_deliveries("node-a", 10, 30s));
  ASSERT_EQ(count("webhook_deliveries WHERE status = 'pending'"), "0");

  auto first = store_->replay_webhook_events(tenant_, a.id, now_us() - 1h, 3);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->replayed, 3);
  ASSERT_TRUE(first->next_since.has_value());
  EXPECT_NEAR(std::chrono::duration<double>(now_us() - *first->next_since).count(), 70.0, 5.0);  // the fourth
  EXPECT_EQ(count("webhook_deliveries WHERE status = 'pending'"), "3");

  auto busy = store_->replay_webhook_events(tenant_, a.id, *first->next_since, 3);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().kind, ErrorKind::conflict);
  EXPECT_EQ(count("webhook_deliveries WHERE status = 'pending'"), "3");

  auto replayed = store_->claim_webhook_deliveries("node-a", 10, 30s);
  ASSERT_EQ(replayed->size(), 3u);
  delivered(*store_, *replayed);
  auto rest = store_->replay_webhook_events(tenant_, a.id, *first->next_since, 3);
  ASSERT_TRUE(rest.ok()) << rest.error().message;
  EXPECT_EQ(rest->replayed, 2);
  EXPECT_FALSE(rest->next_since.has_value());
}

// A node that starts again under its configured id takes back what its
// previous run held when it died: due at once, attempts still counted;
// another node's leases stay.
TEST_F(WebhookStoreTest, ANodeStartedAgainUnderItsIdTakesBackItsLeasesAndNoOtherNodes) {
  const WebhookEndpoint w = endpoint(tenant_);
  for (int i = 0; i < 3; ++i) event_for(w, 10 + i);
  auto mine = store_->claim_webhook_deliveries("node-a", 2, 60s);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 2u);
  auto theirs = store_->claim_webhook_deliveries("node-b", 10, 60s);
  ASSERT_EQ(theirs->size(), 1u);
  EXPECT_TRUE(store_->claim_webhook_deliveries("node-c", 10, 60s)->empty());  // all leased for a minute

  auto ended = store_->end_webhook_leases_of("node-a");
  ASSERT_TRUE(ended.ok()) << ended.error().message;
  EXPECT_EQ(*ended, 2);
  auto again = store_->claim_webhook_deliveries("node-c", 10, 60s);
  ASSERT_EQ(again->size(), 2u);  // node-a's, at once; node-b's still leased
  for (const auto& d : *again) {
    EXPECT_NE(d.event.seq, theirs->front().event.seq);
    EXPECT_EQ(d.attempts, 2) << "the dead run's attempt stays counted (it may have been sent)";
  }
  EXPECT_EQ(*store_->end_webhook_leases_of("node-a"), 0);
}

// A 410 whose record comes after the endpoint was changed (enabled again by
// its tenant, say) answered for the endpoint as it was: it disables nothing.
// The same answer with no change since disables it.
TEST_F(WebhookStoreTest, AGoneAnswerRecordedAfterTheEndpointChangedDoesNotDisableIt) {
  WebhookEndpoint w = endpoint(tenant_);
  event_for(w, 10);
  event_for(w, 11);
  auto claimed = store_->claim_webhook_deliveries("node-a", 10, 60s);
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 2u);
  WebhookAttemptOutcome gone;
  gone.status_code = 410;
  gone.error = "HTTP 410";
  gone.disable_reason = "the endpoint answered 410 Gone";
  gone.next_attempt_at = now_us() + 1h;
  // Changed meanwhile (its tenant saved it again).
  ASSERT_TRUE(store_->update_webhook(w, std::nullopt).ok());
  ASSERT_TRUE(store_->finish_webhook_delivery((*claimed)[0], gone).ok());
  EXPECT_FALSE(store_->find_webhook(tenant_, w.id)->value().disabled_at.has_value());
  // Claimed after the change: the answer disables it.
  db_->execute("UPDATE webhook_deliveries SET next_attempt_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND, lease_owner = NULL, "
               "lease_expires_at = NULL WHERE status = 'pending'");
  auto again = store_->claim_webhook_deliveries("node-a", 10, 60s);
  ASSERT_FALSE(again->empty());
  ASSERT_TRUE(store_->finish_webhook_delivery(again->front(), gone).ok());
  EXPECT_TRUE(store_->find_webhook(tenant_, w.id)->value().disabled_at.has_value());
}

}  // namespace
}  // namespace barid::core
