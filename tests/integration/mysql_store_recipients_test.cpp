// Recipients in the MySQL store against a real MariaDB: preferences and
// opt-outs found together, as the accept path asks for them per batch.

#include "store_fixture.hpp"

#include <barid/sdk/encoding.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace barid::core {
namespace {

OptOut opt_out(TenantId tenant, std::string phone, std::string channel) {
  OptOut o;
  o.tenant_id = tenant;
  o.phone = std::move(phone);
  o.channel = std::move(channel);
  o.source = "test";
  return o;
}

TEST_F(MySqlStoreTest, FindsPreferencesAndOptOutsInOneCall) {
  RecipientPreferences by_id;
  by_id.recipient_id = "patient-7";
  by_id.phone = "+966501234567";
  by_id.channels = {sdk::Channel::whatsapp};
  by_id.blocked_categories = {"marketing"};
  by_id.language = "ar";
  ASSERT_TRUE(store_->put_preferences(tenant_, by_id).ok());
  RecipientPreferences by_phone;
  by_phone.phone = "+966501234568";
  by_phone.opted_out = true;
  ASSERT_TRUE(store_->put_preferences(tenant_, by_phone).ok());
  RecipientPreferences theirs = by_phone;
  ASSERT_TRUE(store_->put_preferences(other_tenant_, theirs).ok());

  ASSERT_TRUE(store_->add_opt_out(opt_out(0, "+966501234567", "sms")).ok());            // every tenant
  ASSERT_TRUE(store_->add_opt_out(opt_out(tenant_, "+966501234568", "*")).ok());        // this tenant
  ASSERT_TRUE(store_->add_opt_out(opt_out(other_tenant_, "+966501234569", "*")).ok());  // another tenant

  auto r = store_->find_recipients(tenant_,
                                   {recipient_key_for_id("patient-7"), recipient_key_for_phone("+966501234568"),
                                    recipient_key_for_id("nobody")},
                                   {"+966501234567", "+966501234568", "+966501234569"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->preferences.size(), 2u);
  const auto& p = r->preferences.at(recipient_key_for_id("patient-7"));
  EXPECT_EQ(p.phone, "+966501234567");
  EXPECT_EQ(p.channels, std::set<sdk::Channel>{sdk::Channel::whatsapp});
  EXPECT_EQ(p.blocked_categories, std::set<std::string>{"marketing"});
  EXPECT_EQ(p.language, "ar");
  EXPECT_FALSE(p.opted_out);
  EXPECT_TRUE(r->preferences.at(recipient_key_for_phone("+966501234568")).opted_out);
  ASSERT_EQ(r->opt_outs.size(), 2u);
  std::set<std::pair<TenantId, std::string>> seen;
  for (const auto& o : r->opt_outs) seen.insert({o.tenant_id, o.phone + "/" + o.channel});
  EXPECT_EQ(seen, (std::set<std::pair<TenantId, std::string>>{{0, "+966501234567/sms"}, {tenant_, "+966501234568/*"}}));

  // Either list may be empty.
  auto only_prefs = store_->find_recipients(tenant_, {recipient_key_for_id("patient-7")}, {});
  ASSERT_TRUE(only_prefs.ok());
  EXPECT_EQ(only_prefs->preferences.size(), 1u);
  EXPECT_TRUE(only_prefs->opt_outs.empty());
  auto only_opt_outs = store_->find_recipients(tenant_, {}, {"+966501234567"});
  ASSERT_TRUE(only_opt_outs.ok());
  EXPECT_TRUE(only_opt_outs->preferences.empty());
  EXPECT_EQ(only_opt_outs->opt_outs.size(), 1u);
}

// Opt-outs have a scope: each is kept with the instance it came through, the
// same number can be opted out through several, and a START through one
// instance removes only what came through it for the tenants it serves (and
// what it recorded before opt-outs had a scope), never another instance's
// nor another tenant's.
TEST_F(MySqlStoreTest, AStartRemovesOnlyTheOptOutsRecordedThroughItsInstanceForItsTenants) {
  const std::string phone = "+966501234567";
  auto through = [&](TenantId tenant, const std::string& instance, const std::string& source) {
    OptOut o = opt_out(tenant, phone, "sms");
    o.instance = instance;
    o.source = source;
    return o;
  };
  ASSERT_TRUE(store_->add_opt_out(through(0, "shared-sms", "inbound:shared-sms")).ok());
  ASSERT_TRUE(store_->add_opt_out(through(tenant_, "clinic-a-sms", "inbound:clinic-a-sms")).ok());
  ASSERT_TRUE(store_->add_opt_out(through(tenant_, "clinic-a-old", "inbound:clinic-a-old")).ok());
  ASSERT_TRUE(store_->add_opt_out(through(other_tenant_, "clinic-a-sms", "provider:clinic-a-sms")).ok());
  ASSERT_TRUE(store_->add_opt_out(through(0, "", "inbound:legacy-sms")).ok());  // from before scopes
  auto rows = [&](TenantId tenant) {
    std::set<std::pair<TenantId, std::string>> out;
    auto r = store_->find_recipients(tenant, {}, {phone});
    EXPECT_TRUE(r.ok()) << r.error().message;
    if (r.ok())
      for (const auto& o : r->opt_outs) out.insert({o.tenant_id, o.instance});
    return out;
  };
  using Rows = std::set<std::pair<TenantId, std::string>>;
  EXPECT_EQ(rows(tenant_),
            (Rows{{0, "shared-sms"}, {0, ""}, {tenant_, "clinic-a-sms"}, {tenant_, "clinic-a-old"}}));

  // A START through clinic A's instance: A's opt-out through it goes; the
  // shared instance's, the other instance's, the other tenant's and the one
  // from before stay.
  auto removed = store_->remove_opt_out({tenant_}, phone, "sms", "clinic-a-sms", tenant_);
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(*removed, 1);
  EXPECT_EQ(rows(tenant_), (Rows{{0, "shared-sms"}, {0, ""}, {tenant_, "clinic-a-old"}}));
  EXPECT_EQ(rows(other_tenant_), (Rows{{0, "shared-sms"}, {0, ""}, {other_tenant_, "clinic-a-sms"}}));
  // Another channel's START removes nothing.
  EXPECT_EQ(*store_->remove_opt_out({0}, phone, "whatsapp", "shared-sms"), 0);
  // The shared instance's START removes its own; the one from before goes
  // only with a START through the instance it names.
  EXPECT_EQ(*store_->remove_opt_out({0}, phone, "sms", "shared-sms"), 1);
  EXPECT_EQ(rows(tenant_), (Rows{{0, ""}, {tenant_, "clinic-a-old"}}));
  EXPECT_EQ(*store_->remove_opt_out({}, phone, "sms", "legacy-sms"), 1);
  EXPECT_EQ(rows(tenant_), (Rows{{tenant_, "clinic-a-old"}}));
}

TEST_F(MySqlStoreTest, FindsRecipientsOfABulkSizedListInChunks) {
  std::vector<std::string> keys, phones;
  for (int i = 0; i < 2500; ++i) {
    char phone[32];
    std::snprintf(phone, sizeof phone, "+9665%08d", i);
    keys.push_back(recipient_key_for_phone(phone));
    if (i < 1200) phones.push_back(phone);  // fewer phones than keys: the last round has keys only
  }
  RecipientPreferences late;
  late.phone = "+966500002400";
  late.language = "en";
  ASSERT_TRUE(store_->put_preferences(tenant_, late).ok());
  ASSERT_TRUE(store_->add_opt_out(opt_out(0, "+966500001100", "*")).ok());
  auto r = store_->find_recipients(tenant_, keys, phones);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->preferences.size(), 1u);
  EXPECT_EQ(r->preferences.begin()->first, recipient_key_for_phone("+966500002400"));
  ASSERT_EQ(r->opt_outs.size(), 1u);
  EXPECT_EQ(r->opt_outs[0].phone, "+966500001100");
}

// A message from a number belongs to the tenant that last wrote to it
// through that instance (one that wrote from the number written to wins),
// else to the instance's default tenant, else to none.
TEST_F(MySqlStoreTest, AnInboundMessageBelongsToTheTenantThatLastWroteToTheNumber) {
  const std::string phone = "+966501234567";
  // `accepted`: the provider took it (an id, and sent); else it refused it.
  auto sent = [&](TenantId tenant, const std::string& sender, const std::string& instance, int hours_ago,
                  bool accepted = true) {
    NewMessage m = message(phone);
    m.tenant_id = tenant;
    m.from = sender;
    insert({m});
    db_->execute("UPDATE messages SET provider_instance = '" + instance + "', " +
                 (accepted ? "status = 'sent', provider_message_id = 'SM" + m.id.str() +
                                 "', sent_at = UTC_TIMESTAMP(6), "
                           : std::string("status = 'failed', failed_at = UTC_TIMESTAMP(6), ")) +
                 "created_at = UTC_TIMESTAMP(6) - INTERVAL " + std::to_string(hours_ago) + " HOUR WHERE id = X'" +
                 sdk::hex_encode(m.id.raw()) + "'");
  };
  sent(tenant_, "+15550001", "twilio-sms", 48);
  sent(other_tenant_, "", "twilio-sms", 24);
  // Refused by the provider, the latest of all and from the number written
  // to: it explains nothing.
  sent(other_tenant_, "+15550001", "twilio-sms", 1, false);
  InboundAssignment rule;
  auto tenant_of = [&](const std::string& instance, const std::string& to) {
    auto r = store_->inbound_tenant(phone, instance, to, rule);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : std::nullopt;
  };
  EXPECT_EQ(tenant_of("twilio-sms", ""), other_tenant_);                // the latest
  EXPECT_EQ(tenant_of("twilio-sms", "+15550002"), other_tenant_);       // no message from that sender
  EXPECT_EQ(tenant_of("twilio-sms", "+15550001"), tenant_);             // narrowed by the sender written to
  EXPECT_EQ(tenant_of("unifonic-sms", ""), std::nullopt);               // another instance
  rule.default_tenant = "clinic-a";
  EXPECT_EQ(tenant_of("unifonic-sms", ""), tenant_);                    // its default tenant
  rule.default_tenant = "no-such-clinic";
  EXPECT_EQ(tenant_of("unifonic-sms", ""), std::nullopt);
  rule.window = std::chrono::hours(36);
  EXPECT_EQ(tenant_of("twilio-sms", "+15550001"), other_tenant_);       // A's is outside the window
  rule.window = std::chrono::hours(12);
  EXPECT_EQ(tenant_of("twilio-sms", ""), std::nullopt);
}

// A send that named no sender is stored, once the provider took it, with
// the sender it really went out from (the instance's default): a reply to
// that number finds it, and another clinic's later send from another number
// through the same instance does not take the reply.
TEST_F(MySqlStoreTest, ASendThatNamedNoSenderIsStoredWithTheSenderItWentOutFrom) {
  const std::string phone = "+966501234567";
  NewMessage mine = message(phone);  // no `from`
  NewMessage theirs = message(phone);
  theirs.tenant_id = other_tenant_;
  theirs.from = "+15550009";
  insert({mine});
  insert({theirs});
  auto claimed = claim("node-a", 10, std::chrono::seconds(30));
  ASSERT_TRUE(claimed.ok()) << claimed.error().message;
  ASSERT_EQ(claimed->size(), 2u);
  std::vector<AttemptResult> results;
  for (const auto& m : {mine, theirs}) {
    AttemptResult r;
    r.id = m.id;
    r.tenant_id = m.tenant_id;
    r.decision = AttemptResult::Decision::sent;
    r.provider_instance = "twilio-sms";
    r.provider_message_id = "SM" + m.id.str();
    r.sender = m.from.empty() ? "+15550001" : m.from;
    results.push_back(r);
  }
  ASSERT_TRUE(store_->record_attempts("node-a", results).ok());
  EXPECT_EQ(db_->scalar("SELECT sender FROM messages WHERE id = X'" + sdk::hex_encode(mine.id.raw()) + "'"),
            "+15550001");
  db_->execute("UPDATE messages SET created_at = created_at + INTERVAL 1 SECOND WHERE id = X'" +
               sdk::hex_encode(theirs.id.raw()) + "'");  // theirs is the latest
  auto tenant = store_->inbound_tenant(phone, "twilio-sms", "+15550001", InboundAssignment{});
  ASSERT_TRUE(tenant.ok()) << tenant.error().message;
  EXPECT_EQ(*tenant, tenant_);
}

TEST_F(MySqlStoreTest, InboundMessagesAreKeptOncePerProviderIdAndListedPerTenant) {
  auto inbound = [&](std::optional<TenantId> tenant, std::string from, std::string id, std::string body) {
    InboundRecord m;
    m.id = Uuid::v7();
    m.tenant_id = tenant;
    m.channel = sdk::Channel::whatsapp;
    m.instance = "twilio-whatsapp";
    m.from = std::move(from);
    m.to = "whatsapp:+15550001";
    m.body = std::move(body);
    m.provider_message_id = std::move(id);
    m.received_at = now_us();
    return m;
  };
  auto keep = [&](const InboundRecord& m) {
    auto r = store_->keep_inbound(m);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() && *r;
  };
  EXPECT_TRUE(keep(inbound(tenant_, "+966501234567", "SM1", "نعم، سأحضر")));
  EXPECT_FALSE(keep(inbound(tenant_, "+966501234567", "SM1", "نعم، سأحضر")));  // the provider retried
  EXPECT_TRUE(keep(inbound(tenant_, "+966501234568", "SM2", "2")));
  EXPECT_TRUE(keep(inbound(tenant_, "+966501234568", "", "no id")));
  EXPECT_TRUE(keep(inbound(tenant_, "+966501234568", "", "no id")));  // nothing to tell a retry by
  EXPECT_TRUE(keep(inbound(other_tenant_, "+966501234567", "SM3", "theirs")));
  EXPECT_TRUE(keep(inbound(std::nullopt, "+966501234569", "SM4", "nobody's")));

  InboundFilter f;
  f.tenant = tenant_;
  auto mine = store_->list_inbound(f);
  ASSERT_TRUE(mine.ok()) << mine.error().message;
  ASSERT_EQ(mine->size(), 4u);
  EXPECT_EQ(mine->back().body, "نعم، سأحضر");  // newest first
  EXPECT_EQ(mine->back().provider_message_id, "SM1");
  EXPECT_EQ(mine->back().to, "whatsapp:+15550001");
  EXPECT_EQ(mine->back().channel, sdk::Channel::whatsapp);
  for (const auto& m : *mine) EXPECT_EQ(m.tenant_id, std::optional<TenantId>(tenant_));
  // Pages by cursor.
  f.limit = 3;
  auto first = store_->list_inbound(f);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 3u);
  f.before = first->back().id;
  auto rest = store_->list_inbound(f);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ(rest->front().provider_message_id, "SM1");
  // By phone, and the operator's view of those of no tenant.
  InboundFilter by_phone;
  by_phone.tenant = tenant_;
  by_phone.phone = "+966501234567";
  EXPECT_EQ(store_->list_inbound(by_phone)->size(), 1u);
  InboundFilter nobody;
  nobody.unassigned = true;
  auto unassigned = store_->list_inbound(nobody);
  ASSERT_TRUE(unassigned.ok());
  ASSERT_EQ(unassigned->size(), 1u);
  EXPECT_EQ(unassigned->front().body, "nobody's");
  EXPECT_EQ(store_->list_inbound(InboundFilter{})->size(), 6u);

  // When a number last wrote, as one tenant sees it.
  auto last = store_->last_inbound_of(tenant_, "+966501234567", sdk::Channel::whatsapp);
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->has_value());
  EXPECT_FALSE(store_->last_inbound_of(tenant_, "+966501234569", sdk::Channel::whatsapp)->has_value());
  EXPECT_FALSE(store_->last_inbound_of(tenant_, "+966501234567", sdk::Channel::sms)->has_value());

  // Retention: a tenant's old inbound messages go with its old messages.
  db_->execute("UPDATE inbound_messages SET received_at = UTC_TIMESTAMP(6) - INTERVAL 100 DAY");
  auto deleted = store_->delete_messages_before(tenant_, now_us() - std::chrono::hours(24 * 90), 1000);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 4);
  EXPECT_EQ(store_->list_inbound(InboundFilter{})->size(), 2u);
  // Those of no tenant go by the gateway's own period.
  auto unassigned_gone = store_->delete_unassigned_inbound_before(now_us() - std::chrono::hours(24 * 90), 1000);
  ASSERT_TRUE(unassigned_gone.ok());
  EXPECT_EQ(*unassigned_gone, 1);
  EXPECT_EQ(store_->list_inbound(InboundFilter{})->size(), 1u);  // the other tenant's
}

// A message's replies stay open for its window; the latest open one of the
// tenant to that number through that instance is the question a reply
// answers, and the answer is kept on it with a "replied" event.
// Overlapping deliveries of one inbound message (a provider's retry while
// the first is still being handled): exactly one claim wins; a released
// claim is taken again, a handled one never within the memory, and an
// abandoned one (its node died) after kInboundClaim.
TEST_F(MySqlStoreTest, AnInboundMessageIsClaimedByExactlyOneOfItsOverlappingDeliveries) {
  std::atomic<int> won{0}, lost{0}, failed{0};
  std::vector<std::thread> deliveries;
  for (int i = 0; i < 8; ++i)
    deliveries.emplace_back([&] {
      auto r = store_->claim_inbound("tw-sms", "SM-overlap");
      if (!r) ++failed;
      else if (*r) ++won;
      else ++lost;
    });
  for (auto& t : deliveries) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(lost.load(), 7);
  EXPECT_EQ(failed.load(), 0);

  // Handling failed: released, so the retry handles it.
  ASSERT_TRUE(store_->finish_inbound("tw-sms", "SM-overlap", false).ok());
  EXPECT_TRUE(*store_->claim_inbound("tw-sms", "SM-overlap"));
  ASSERT_TRUE(store_->finish_inbound("tw-sms", "SM-overlap", true).ok());
  EXPECT_FALSE(*store_->claim_inbound("tw-sms", "SM-overlap"));
  EXPECT_TRUE(*store_->claim_inbound("tw-other", "SM-overlap"));  // per instance

  // A claim left unfinished past kInboundClaim is taken again; a handled
  // message of the same age is not.
  EXPECT_TRUE(*store_->claim_inbound("tw-sms", "SM-abandoned"));
  db_->execute("UPDATE inbound_handled SET handled_at = UTC_TIMESTAMP(6) - INTERVAL 6 MINUTE WHERE "
               "provider_message_id IN ('SM-abandoned', 'SM-overlap')");
  EXPECT_TRUE(*store_->claim_inbound("tw-sms", "SM-abandoned"));
  EXPECT_FALSE(*store_->claim_inbound("tw-sms", "SM-overlap"));
}

TEST_F(MySqlStoreTest, TheLatestOpenQuestionTakesTheAnswer) {
  const std::string phone = "+966501234567";
  auto asked = [&](TenantId tenant, std::map<std::string, std::string> replies, std::chrono::seconds window,
                   const std::string& reference) {
    NewMessage m = message(phone);
    m.tenant_id = tenant;
    m.reference = reference;
    m.replies = std::move(replies);
    m.reply_window = window;
    insert({m});
    db_->execute("UPDATE messages SET provider_instance = 'twilio-sms', status = 'delivered' WHERE id = X'" +
                 sdk::hex_encode(m.id.raw()) + "'");
    return m.id;
  };
  auto question = [&](TenantId tenant, const std::string& instance = "twilio-sms") {
    auto r = store_->open_question(tenant, phone, instance);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : std::nullopt;
  };
  EXPECT_FALSE(question(tenant_).has_value());
  const MessageId first = asked(tenant_, {{"1", "confirm"}, {"2", "cancel"}}, std::chrono::hours(72), "appt-1");
  asked(tenant_, {}, std::chrono::hours(72), "no-question");  // later, but asks nothing
  auto q = question(tenant_);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->message_id, first);
  EXPECT_EQ(q->reference, "appt-1");
  EXPECT_EQ(q->replies, (std::map<std::string, std::string>{{"1", "confirm"}, {"2", "cancel"}}));
  EXPECT_FALSE(question(other_tenant_).has_value());          // another tenant asked nothing
  EXPECT_FALSE(question(tenant_, "unifonic-sms").has_value());  // not through that instance
  db_->execute("UPDATE messages SET created_at = created_at - INTERVAL 1 SECOND WHERE id = X'" +
               sdk::hex_encode(first.raw()) + "'");
  const MessageId second = asked(tenant_, {{"yes", "confirm"}}, std::chrono::hours(1), "appt-2");
  EXPECT_EQ(question(tenant_)->message_id, second);  // the latest wins
  db_->execute("UPDATE messages SET replies_until = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE id = X'" +
               sdk::hex_encode(second.raw()) + "'");
  EXPECT_EQ(question(tenant_)->message_id, first);  // the later one's window closed
  const MessageId failed = asked(tenant_, {{"1", "confirm"}}, std::chrono::hours(72), "appt-3");
  db_->execute("UPDATE messages SET status = 'failed' WHERE id = X'" + sdk::hex_encode(failed.raw()) + "'");
  EXPECT_EQ(question(tenant_)->message_id, first);  // one that never went out asked nothing

  const Uuid inbound = Uuid::v7();
  ASSERT_TRUE(store_->record_reply(tenant_, first, "cancel", inbound).ok());
  const Message m = get(first);
  EXPECT_EQ(m.reply_intent, "cancel");
  EXPECT_TRUE(m.replied_at.has_value());
  ASSERT_TRUE(m.replies_until.has_value());
  EXPECT_GT(*m.replies_until, now_us() + std::chrono::hours(71));
  EXPECT_EQ(m.replies.size(), 2u);
  EXPECT_EQ(event_types(first).back(), "replied");
  auto events = store_->list_events(tenant_, first);
  ASSERT_TRUE(events.ok());
  EXPECT_NE(events->back().detail.find(inbound.str()), std::string::npos);
  // Another tenant cannot answer it.
  ASSERT_TRUE(store_->record_reply(other_tenant_, second, "confirm", inbound).ok());
  EXPECT_EQ(get(second).reply_intent, "");
}

}  // namespace
}  // namespace barid::core
