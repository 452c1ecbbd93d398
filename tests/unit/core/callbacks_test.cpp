// Callback processing against fakes of DeliveryReports and RecipientStore
// and an in-process provider that answers what the test scripts: reports are
// handed on as they are, STOP and START become opt-outs and opt-ins for the
// tenants the instance serves, and a request the plugin refuses changes
// nothing.

#include "in_process_provider.hpp"

#include <barid/core/callbacks.hpp>

#include <gtest/gtest.h>

#include <set>

namespace barid::core {
namespace {

class ScriptedCallbacks final : public sdk::Provider {
 public:
  explicit ScriptedCallbacks(sdk::CallbackResult* next) : next_(next) {}
  sdk::SendResult send(const sdk::OutboundMessage&) noexcept override { return {}; }
  sdk::StatusResult fetch_status(const std::string&) noexcept override { return {}; }
  sdk::CallbackResult parse_callback(const sdk::CallbackRequest&) noexcept override { return *next_; }
  sdk::HealthReport check_health() noexcept override { return {}; }

 private:
  sdk::CallbackResult* next_;
};

class FakeReports final : public DeliveryReports {
 public:
  Result<std::vector<ReportOutcome>> apply_reports(const std::string& instance,
                                                   const std::vector<sdk::StatusUpdate>& updates,
                                                   const Actor& actor) override {
    calls.push_back({instance, updates, actor});
    std::vector<ReportOutcome> out;
    for (const auto& u : updates) {
      ReportOutcome o;
      o.kind = u.provider_message_id == "unknown" ? ReportOutcome::Kind::unknown_message : ReportOutcome::Kind::applied;
      out.push_back(o);
    }
    return out;
  }
  struct Call {
    std::string instance;
    std::vector<sdk::StatusUpdate> updates;
    Actor actor;
  };
  std::vector<Call> calls;
};

class FakeRecipients final : public RecipientStore {
 public:
  Status add_opt_out(const OptOut& o) override {
    if (fail_opt_outs) return Error::unavailable("the database is down");
    opt_outs.push_back(o);
    return {};
  }
  bool fail_opt_outs = false;
  Result<int> remove_opt_out(const std::vector<TenantId>& tenants, const std::string& phone,
                             const std::string& channel, const std::string& instance,
                             std::optional<TenantId> notify) override {
    std::string names;
    for (auto t : tenants) names += (names.empty() ? "" : ",") + std::to_string(t);
    opt_ins.push_back(names + " " + phone + " " + channel + " " + instance);
    opt_in_notified.push_back(notify);
    return 1;
  }
  std::vector<std::optional<TenantId>> opt_in_notified;
  Result<bool> claim_inbound(const std::string& instance, const std::string& id) override {
    return claimed.insert(instance + "/" + id).second;
  }
  Status finish_inbound(const std::string& instance, const std::string& id, bool done) override {
    if (done) handled.insert(instance + "/" + id);
    else claimed.erase(instance + "/" + id);
    return {};
  }
  std::set<std::string> claimed, handled;
  Result<std::optional<TenantId>> inbound_tenant(const std::string&, const std::string&, const std::string&,
                                                 const InboundAssignment& rule) override {
    assignments.push_back(rule);
    return tenant_of_inbound;
  }
  Result<bool> keep_inbound(const InboundRecord& m) override {
    kept.push_back(m);
    return true;
  }
  Result<std::vector<InboundRecord>> list_inbound(const InboundFilter&) override { return kept; }
  Result<std::optional<TimePoint>> last_inbound_of(TenantId, const std::string&, sdk::Channel) override {
    return std::optional<TimePoint>{};
  }
  Result<std::optional<OpenQuestion>> open_question(TenantId tenant, const std::string& phone,
                                                    const std::string& instance) override {
    questions_asked.push_back(std::to_string(tenant) + " " + phone + " " + instance);
    return question;
  }
  Status record_reply(TenantId tenant, const MessageId& message, const std::string& intent,
                      const Uuid& inbound) override {
    replies.push_back({tenant, message, intent, inbound});
    return {};
  }
  struct Reply {
    TenantId tenant;
    MessageId message;
    std::string intent;
    Uuid inbound;
  };
  std::optional<OpenQuestion> question;
  std::vector<std::string> questions_asked;
  std::vector<Reply> replies;
  std::optional<TenantId> tenant_of_inbound;
  std::vector<InboundAssignment> assignments;
  std::vector<InboundRecord> kept;
  Status put_preferences(TenantId, const RecipientPreferences&) override { return {}; }
  Result<RecipientRecords> find_recipients(TenantId, const std::vector<std::string>&,
                                           const std::vector<std::string>&) override {
    return RecipientRecords{};
  }
  Result<std::vector<RecipientPreferences>> preferences_naming(TenantId, const std::string&) override {
    return std::vector<RecipientPreferences>{};
  }
  std::vector<OptOut> opt_outs;
  std::vector<std::string> opt_ins;
};

class CallbacksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto set = std::make_shared<ProviderSet>();
    ProviderSlot slot;
    slot.instance = in_process_instance("sms-1", std::make_unique<ScriptedCallbacks>(&next_));
    slot.default_tenant = "front-desk";
    set->instances.emplace("sms-1", std::move(slot));
    // sms-1 is the global route's; clinic-7-sms is tenant 7's own; spare-sms
    // serves no route.
    set->routes[sdk::Channel::sms] = Route{"sms-1", {}, 0};
    for (const char* name : {"clinic-7-sms", "spare-sms"}) {
      ProviderSlot own;
      own.instance = in_process_instance(name, std::make_unique<ScriptedCallbacks>(&next_));
      set->instances.emplace(name, std::move(own));
    }
    registry_.replace(set);
    processor_.set_tenant_routes([this] { return routes_; });
  }
  Result<CallbackReply> post(const std::string& instance = "sms-1") {
    sdk::CallbackRequest req;
    req.kind = "status";
    req.method = "POST";
    return processor_.process(instance, req, Actor{"provider:" + instance, "203.0.113.7", "provider"});
  }
  static sdk::StatusUpdate delivered_report() {
    sdk::StatusUpdate u;
    u.provider_message_id = "SM1";
    u.status = MessageStatus::delivered;
    return u;
  }
  sdk::InboundMessage inbound(std::string body) {
    sdk::InboundMessage m;
    m.from = "+966501234567";
    m.to = "+15017122661";
    m.body = std::move(body);
    return m;
  }

  sdk::CallbackResult next_;
  FakeReports reports_;
  FakeRecipients recipients_;
  ProviderRegistry registry_;
  std::shared_ptr<const TenantRoutes> routes_ = std::make_shared<const TenantRoutes>(
      TenantRoutes{{7, {{sdk::Channel::sms, TenantRoute{"clinic-7-sms", {}, 0}}}}});
  CallbackProcessor processor_{reports_, recipients_, registry_, PhoneNormalizer("SA"), std::chrono::hours(48)};
};

TEST_F(CallbacksTest, ReportsAreHandedOnAsTheyAreAndCounted) {
  next_ = sdk::CallbackResult::accept();
  const sdk::StatusUpdate delivered = delivered_report();
  sdk::StatusUpdate stray = delivered;
  stray.provider_message_id = "unknown";
  next_.status_updates = {delivered, stray};
  next_.response_body = "<Response/>";
  auto r = post();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->applied, 1);
  EXPECT_EQ(r->unknown, 1);
  EXPECT_EQ(r->body, "<Response/>");
  ASSERT_EQ(reports_.calls.size(), 1u);
  EXPECT_EQ(reports_.calls[0].instance, "sms-1");
  EXPECT_EQ(reports_.calls[0].updates.size(), 2u);
  EXPECT_EQ(reports_.calls[0].actor.actor, "provider:sms-1");
}

TEST_F(CallbacksTest, StopAndStartThroughTheGlobalRouteAreForItsTenants) {
  next_ = sdk::CallbackResult::accept();
  next_.inbound_messages = {inbound("STOP"), inbound("إيقاف"), inbound("See you tomorrow")};
  auto r = post();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->inbound, 3);
  EXPECT_EQ(r->opted_out, 2);
  ASSERT_EQ(recipients_.opt_outs.size(), 2u);
  EXPECT_EQ(recipients_.opt_outs[0].tenant_id, 0u);  // the global route's tenants
  EXPECT_EQ(recipients_.opt_outs[0].instance, "sms-1");
  EXPECT_EQ(recipients_.opt_outs[0].phone, "+966501234567");
  EXPECT_EQ(recipients_.opt_outs[0].channel, "sms");
  EXPECT_EQ(recipients_.kept.size(), 3u);  // each one is kept (and keeps the session window)

  next_.inbound_messages = {inbound("START")};
  r = post();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->opted_in, 1);
  EXPECT_EQ(recipients_.opt_ins, std::vector<std::string>{"0 +966501234567 sms sms-1"});
}

// A clinic's own instance speaks for that clinic alone: its STOP is stored
// for it, and its START removes only what came through it for it.
TEST_F(CallbacksTest, StopAndStartThroughAClinicsOwnInstanceAreForThatClinicAlone) {
  next_ = sdk::CallbackResult::accept();
  recipients_.tenant_of_inbound = 9;  // given to another tenant: it hears nothing of it
  next_.inbound_messages = {inbound("STOP")};
  ASSERT_TRUE(post("clinic-7-sms").ok());
  ASSERT_EQ(recipients_.opt_outs.size(), 1u);
  EXPECT_EQ(recipients_.opt_outs[0].tenant_id, 7u);
  EXPECT_EQ(recipients_.opt_outs[0].instance, "clinic-7-sms");
  EXPECT_EQ(recipients_.opt_outs[0].notify_tenant, std::nullopt);
  recipients_.tenant_of_inbound = 7;
  next_.inbound_messages = {inbound("START")};
  ASSERT_TRUE(post("clinic-7-sms").ok());
  EXPECT_EQ(recipients_.opt_ins, std::vector<std::string>{"7 +966501234567 sms clinic-7-sms"});
  EXPECT_EQ(recipients_.opt_in_notified, std::vector<std::optional<TenantId>>{7});
}

// An instance no route names speaks only for the tenant its message was
// given to, and for nobody when it was given to none.
TEST_F(CallbacksTest, AStopThroughAnInstanceOfNoRouteIsForTheTenantItWasGivenTo) {
  next_ = sdk::CallbackResult::accept();
  next_.inbound_messages = {inbound("STOP")};
  auto r = post("spare-sms");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(recipients_.opt_outs.empty());
  recipients_.tenant_of_inbound = 4;
  ASSERT_TRUE(post("spare-sms").ok());
  ASSERT_EQ(recipients_.opt_outs.size(), 1u);
  EXPECT_EQ(recipients_.opt_outs[0].tenant_id, 4u);
  EXPECT_EQ(recipients_.opt_outs[0].notify_tenant, std::optional<TenantId>(4));
}

TEST(OptOutScope, AnInstanceServesTheTenantsItsRoutesName) {
  ProviderSet set;
  for (const char* name : {"shared", "backup", "clinic-a", "gone"}) set.instances.emplace(name, ProviderSlot{});
  set.instances.erase("gone");
  set.routes[sdk::Channel::sms] = Route{"shared", {"backup"}, 2};
  const TenantRoutes routes{{1, {{sdk::Channel::sms, TenantRoute{"clinic-a", {"shared"}, 1}}}},
                            {2, {{sdk::Channel::whatsapp, TenantRoute{"clinic-a", {}, 0}}}},
                            {3, {{sdk::Channel::sms, TenantRoute{"gone", {}, 0}}}}};
  const auto shared = opt_out_scope(set, routes, "shared", sdk::Channel::sms);
  EXPECT_TRUE(shared.global);
  EXPECT_EQ(shared.tenants, std::set<TenantId>{1});  // its fallback
  EXPECT_EQ(shared.rows(), (std::vector<TenantId>{0, 1}));
  EXPECT_TRUE(shared.serves(2));
  EXPECT_TRUE(shared.serves(3));  // its own route names no instance: the global one serves it
  EXPECT_TRUE(opt_out_scope(set, routes, "backup", sdk::Channel::sms).global);
  const auto own = opt_out_scope(set, routes, "clinic-a", sdk::Channel::sms);
  EXPECT_FALSE(own.global);
  EXPECT_EQ(own.rows(), std::vector<TenantId>{1});
  EXPECT_TRUE(own.serves(1));
  EXPECT_FALSE(own.serves(2));
  const auto backup = opt_out_scope(set, routes, "backup", sdk::Channel::sms);
  EXPECT_FALSE(backup.serves(1));  // routed apart
  EXPECT_EQ(opt_out_scope(set, routes, "clinic-a", sdk::Channel::whatsapp).rows(), std::vector<TenantId>{2});
  EXPECT_TRUE(opt_out_scope(set, routes, "shared", sdk::Channel::whatsapp).empty());
}

TEST_F(CallbacksTest, AReplayedInboundMessageChangesNothing) {
  next_ = sdk::CallbackResult::accept();
  auto stop = inbound("STOP");
  stop.provider_message_id = "SM-stop";
  auto start = inbound("START");
  start.provider_message_id = "SM-start";
  next_.inbound_messages = {stop};
  ASSERT_TRUE(post().ok());
  next_.inbound_messages = {start};
  ASSERT_TRUE(post().ok());
  next_.inbound_messages = {stop};  // the provider retries the STOP webhook
  auto r = post();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->duplicates, 1);
  EXPECT_EQ(r->opted_out, 0);
  EXPECT_EQ(recipients_.opt_outs.size(), 1u);
  EXPECT_EQ(recipients_.opt_ins.size(), 1u);
  EXPECT_EQ(recipients_.handled.count("sms-1/SM-stop"), 1u);  // remembered per instance
  // Without an id there is nothing to tell a retry by: it is handled again.
  next_.inbound_messages = {inbound("STOP")};
  ASSERT_TRUE(post().ok());
  EXPECT_EQ(recipients_.opt_outs.size(), 2u);
}

// A claim is released when handling fails half-way: the provider's retry of
// the message is handled, not taken for a duplicate.
TEST_F(CallbacksTest, AnInboundMessageWhoseHandlingFailedIsHandledOnRetry) {
  next_ = sdk::CallbackResult::accept();
  auto stop = inbound("STOP");
  stop.provider_message_id = "SM-stop";
  next_.inbound_messages = {stop};
  recipients_.fail_opt_outs = true;
  EXPECT_FALSE(post().ok());
  EXPECT_EQ(recipients_.claimed.count("sms-1/SM-stop"), 0u);
  recipients_.fail_opt_outs = false;
  auto r = post();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->duplicates, 0);
  EXPECT_EQ(recipients_.opt_outs.size(), 1u);
  EXPECT_EQ(recipients_.handled.count("sms-1/SM-stop"), 1u);
}

TEST_F(CallbacksTest, AnInboundMessageIsKeptForTheTenantTheStoreAssignsItTo) {
  next_ = sdk::CallbackResult::accept();
  auto reply = inbound("Yes, see you then");
  reply.provider_message_id = "SM-reply";
  next_.inbound_messages = {reply};
  recipients_.tenant_of_inbound = 7;
  auto r = post();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(recipients_.kept.size(), 1u);
  const InboundRecord& kept = recipients_.kept[0];
  EXPECT_EQ(kept.tenant_id, std::optional<TenantId>(7));
  EXPECT_EQ(kept.instance, "sms-1");
  EXPECT_EQ(kept.from, "+966501234567");
  EXPECT_EQ(kept.to, "+15017122661");
  EXPECT_EQ(kept.body, "Yes, see you then");
  EXPECT_EQ(kept.provider_message_id, "SM-reply");
  EXPECT_FALSE(kept.id.is_nil());
  EXPECT_EQ(r->unassigned, 0);
  // The rule carries the instance's default tenant and the window.
  ASSERT_EQ(recipients_.assignments.size(), 1u);
  EXPECT_EQ(recipients_.assignments[0].default_tenant, "front-desk");
  EXPECT_EQ(recipients_.assignments[0].window, std::chrono::hours(48));

  // No tenant: kept all the same, for the operator. A retry is not kept twice.
  recipients_.tenant_of_inbound.reset();
  auto other = inbound("Who is this?");
  other.provider_message_id = "SM-other";
  next_.inbound_messages = {other, reply};
  r = post();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->unassigned, 1);
  EXPECT_EQ(r->duplicates, 1);
  ASSERT_EQ(recipients_.kept.size(), 2u);
  EXPECT_FALSE(recipients_.kept[1].tenant_id.has_value());
}

// A reply to the open question resolves to its intent: "٢" is 2, and a
// cancel word that the question expects answers it instead of opting out.
TEST_F(CallbacksTest, AReplyToTheOpenQuestionIsRecordedAsItsIntent) {
  next_ = sdk::CallbackResult::accept();
  recipients_.tenant_of_inbound = 7;
  OpenQuestion q;
  q.message_id = Uuid::v7();
  q.reference = "appt-77";
  q.replies = {{"1", "confirm"}, {"2", "cancel"}, {"الغاء", "cancel"}};
  recipients_.question = q;

  next_.inbound_messages = {inbound("٢")};
  auto r = post();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replied, 1);
  ASSERT_EQ(recipients_.replies.size(), 1u);
  EXPECT_EQ(recipients_.replies[0].tenant, 7u);
  EXPECT_EQ(recipients_.replies[0].message, q.message_id);
  EXPECT_EQ(recipients_.replies[0].intent, "cancel");
  EXPECT_EQ(recipients_.replies[0].inbound, recipients_.kept.back().id);
  EXPECT_EQ(recipients_.kept.back().message_id, std::optional<MessageId>(q.message_id));
  EXPECT_EQ(recipients_.kept.back().intent, "cancel");
  EXPECT_EQ(recipients_.questions_asked, std::vector<std::string>{"7 +966501234567 sms-1"});

  next_.inbound_messages = {inbound("«إلغاء»")};  // a cancel word the question expects
  r = post();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replied, 1);
  EXPECT_EQ(r->opted_out, 0);
  EXPECT_TRUE(recipients_.opt_outs.empty());

  next_.inbound_messages = {inbound("STOP")};  // always an opt-out, never an answer
  recipients_.question->replies["stop"] = "cancel";
  r = post();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replied, 0);
  EXPECT_EQ(r->opted_out, 1);
  EXPECT_FALSE(recipients_.kept.back().message_id.has_value());  // kept as no answer

  next_.inbound_messages = {inbound("maybe")};  // no answer: kept, nothing else
  r = post();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replied, 0);
  EXPECT_FALSE(recipients_.kept.back().message_id.has_value());
  EXPECT_EQ(recipients_.replies.size(), 2u);

  // A quick-reply button answers by its payload.
  auto button = inbound("Yes, I will come");
  button.button_payload = "1";
  next_.inbound_messages = {button};
  r = post();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replied, 1);
  EXPECT_EQ(recipients_.replies.back().intent, "confirm");
}

// Outside a question (or with no tenant to ask one) CANCEL opts out as before.
TEST_F(CallbacksTest, ACancelWordWithNoOpenQuestionOptsOut) {
  next_ = sdk::CallbackResult::accept();
  recipients_.tenant_of_inbound = 7;
  next_.inbound_messages = {inbound("إلغاء")};
  auto r = post();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->opted_out, 1);
  EXPECT_EQ(r->replied, 0);
  recipients_.tenant_of_inbound.reset();
  OpenQuestion q;
  q.message_id = Uuid::v7();
  q.replies = {{"cancel", "cancel"}};
  recipients_.question = q;  // a question, but no tenant asked it of this number
  next_.inbound_messages = {inbound("CANCEL")};
  r = post();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->opted_out, 1);
  EXPECT_EQ(recipients_.questions_asked.size(), 1u);
}

TEST_F(CallbacksTest, ARefusedRequestChangesNothing) {
  next_ = sdk::CallbackResult::forbidden("bad signature");
  next_.inbound_messages = {inbound("STOP")};
  auto r = post();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "signature");
  EXPECT_TRUE(reports_.calls.empty());
  EXPECT_TRUE(recipients_.opt_outs.empty());
  EXPECT_EQ(post("no-such-instance").error().kind, ErrorKind::not_found);
}

TEST_F(CallbacksTest, ARequestWithTooManyReportsIsRefusedWhole) {
  next_ = sdk::CallbackResult::accept();
  const sdk::StatusUpdate delivered = delivered_report();
  next_.status_updates.assign(CallbackProcessor::kMaxItems, delivered);
  next_.inbound_messages = {inbound("STOP")};
  auto r = post();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::invalid);
  EXPECT_EQ(r.error().field, "body");
  EXPECT_TRUE(reports_.calls.empty());
  EXPECT_TRUE(recipients_.opt_outs.empty());

  next_.inbound_messages.clear();  // exactly the limit goes through
  ASSERT_TRUE(post().ok());
  ASSERT_EQ(reports_.calls.size(), 1u);
  EXPECT_EQ(reports_.calls[0].updates.size(), CallbackProcessor::kMaxItems);
}

TEST_F(CallbacksTest, AnInboundSenderThatIsNotAPhoneNumberIsIgnored) {
  next_ = sdk::CallbackResult::accept();
  auto m = inbound("STOP");
  m.from = "whatsapp:not-a-number";
  next_.inbound_messages = {m};
  auto r = post();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(recipients_.opt_outs.empty());
  EXPECT_TRUE(recipients_.kept.empty());
}

}  // namespace
}  // namespace barid::core
