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

  // The message's events go in order: the later waits for the earlier.
  auto first = store_->claim_webhook_deliveries("node-a", 10, 30s);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->size(), 2u);  // all/sent and delivered_only/delivered
  for (const auto& d : *first) {
    if (d.endpoint.id == all.id) EXPECT_EQ(d.event.type, "message.sent");
    else EXPECT_EQ(d.event.type, "message.delivered");
    EXPECT_EQ(d.event.message_id, std::optional<Uuid>(mine.id));
    EXPECT_EQ(d.attempts, 1);
  }
  EXPECT_TRUE(store_->claim_webhook_deliveries("node-b", 10, 30s)->empty());  // leased, or waiting
  // A failed attempt: rescheduled, recorded, the endpoint failing.
  for (const auto& d : *first) {
    WebhookAttemptOutcome o;
    o.delivered = d.endpoint.id != all.id;
    o.status_code = o.delivered ? 200 : 500;
    o.latency = 12ms;
    if (!o.delivered) {
      o.error = "HTTP 500";
      o.next_attempt_at = now_us() - 1s;  // due again at once
    }
    ASSERT_TRUE(store_->finish_webhook_delivery(d, o).ok());
  }
  EXPECT_TRUE(store_->find_webhook(tenant_, all.id)->value().failing_since.has_value());
  auto again = store_->claim_webhook_deliveries("node-b", 10, 30s);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ(again->front().event.type, "message.sent");
  EXPECT_EQ(again->front().attempts, 2);
  WebhookAttemptOutcome ok;
  ok.delivered = true;
  ok.status_code = 204;
  ASSERT_TRUE(store_->finish_webhook_delivery(again->front(), ok).ok());
  EXPECT_FALSE(store_->find_webhook(tenant_, all.id)->value().failing_since.has_value());
  auto next = store_->claim_webhook_deliveries("node-b", 10, 30s);
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ(next->front().event.type, "message.delivered");
  ASSERT_TRUE(store_->finish_webhook_delivery(next->front(), ok).ok());

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
  EXPECT_EQ(store_->claim_webhook_deliveries("node-c", 10, 30s)->size(), 1u);  // in order again
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
// endpoint than its share less what the node has under way to it.
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

  // The node has those 4 of A under way: no more of A, however many wait.
  claim.in_flight = {{a.id, 4}};
  EXPECT_TRUE(store_->claim_webhook_deliveries("node-a", claim)->empty());
  claim.in_flight = {{a.id, 3}};
  auto one = store_->claim_webhook_deliveries("node-a", claim);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->front().endpoint.id, a.id);
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

}  // namespace
}  // namespace barid::core
