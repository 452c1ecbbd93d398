// End to end, what docs/privacy.md claims: bodies, template variables and
// inbound bodies are sealed at rest (a dump of the database holds none of
// them) while the API shows them; a sealed value copied to another row does
// not open; rotate-key re-seals under load and the old key can go; discard
// after delivery and redact_after_days erase bodies and keep statistics;
// every read of a body is in the audit log with its actor; the operator's
// maximum retention holds. The real binary, the real mock plugin, a real
// MariaDB, and the real mariadb-dump.

#include "gateway_harness.hpp"
#include "send_log.hpp"

#include <barid/core/time.hpp>
#include <barid/sdk/encoding.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace barid::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const char* const kSections = kMockGatewaySections;

std::string jobs(const std::string& retention) {
  return "jobs:\n  poll: 200ms\n  status_refresh: {enabled: false}\n  retry_sweep: {enabled: false}\n"
         "  retention: " + retention + "\n  provider_health: {enabled: false}\n";
}

std::string key_line(const std::string& id, char fill) {
  return id + ":" + sdk::base64_encode(std::string(32, fill));
}

class PrivacyE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    key_file_ = std::filesystem::temp_directory_path() / ("barid-privacy-keys-" + std::to_string(::getpid()) + "-" +
                                                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
    write_keys({key_line("k1", 'a')});
  }
  void TearDown() override { std::filesystem::remove(key_file_); }

  void write_keys(const std::vector<std::string>& lines) {
    {
      std::ofstream out(key_file_);
      for (const auto& l : lines) out << l << "\n";
    }
    ::chmod(key_file_.c_str(), 0600);
  }

  std::string config(const std::string& retention = "{enabled: false}") {
    return std::string(kSections) + jobs(retention) + "privacy:\n  encryption:\n    key_file: \"" +
           key_file_.string() + "\"\n";
  }

  void start(const std::string& sections) {
    gw_ = std::make_unique<GatewayUnderTest>(db_, sections);
    gw_->start();
    if (key_.empty()) {
      key_ = gw_->create_api_key("clinic-a");
      key_id_ = key_.substr(4, key_.find('_', 4) - 4);  // brd_<id>_<secret>
    }
  }

  json call(const std::string& method, const std::string& path, const json& body, long expect) {
    long status = 0;
    auto r = gw_->json(method, path, body, key_, &status);
    EXPECT_EQ(status, expect) << method << " " << path << " -> " << r.dump();
    return r;
  }

  // The whole database as mariadb-dump writes it (the password through the
  // environment, never the command line).
  std::string dump() {
    const auto& o = db_.options();
    const std::string out = (std::filesystem::temp_directory_path() / ("barid-dump-" + db_.name() + ".sql")).string();
    const std::string cmd = "MYSQL_PWD='" + o.password + "' mariadb-dump --skip-extended-insert -h " + o.host +
                            " -P " + std::to_string(o.port) + " -u " + o.user + " " + o.database + " > " + out;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream in(out);
    std::stringstream text;
    text << in.rdbuf();
    std::filesystem::remove(out);
    EXPECT_GT(text.str().size(), 1000u);
    return text.str();
  }

  std::vector<json> audit_of(const std::string& action) {
    std::vector<json> out;
    const json page = call("GET", "/v1/audit?limit=200", nullptr, 200);
    for (const auto& e : page["entries"])
      if (e["action"] == action) out.push_back(e);
    return out;
  }

  TestDatabase db_;
  std::filesystem::path key_file_;
  std::unique_ptr<GatewayUnderTest> gw_;
  std::string key_, key_id_;
};

TEST_F(PrivacyE2E, ADumpOfTheDatabaseHoldsNoBodyWhileTheApiShowsThem) {
  start(config());
  const std::vector<std::string> bodies = {"Your HbA1c results are ready at the diabetes clinic",
                                           "موعدك في عيادة الطب النفسي يوم الأحد"};
  std::vector<std::string> ids;
  for (const auto& b : bodies)
    ids.push_back(call("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", b}}, 202)["id"]);
  // Template variables are sealed too (a WhatsApp provider template).
  ids.push_back(call("POST", "/v1/messages",
                     {{"to", "+966501234568"}, {"channel", "whatsapp"}, {"body", "Dear Amal Alharbi, oncology at 9"},
                      {"provider_template", {{"id", "HX123"}, {"variables", {"Amal Alharbi", "oncology"}}}}},
                     202)["id"]);
  for (const auto& id : ids) EXPECT_EQ(gw_->wait_for_status(key_, id, "delivered")["status"], "delivered");
  // An inbound message, from a number the clinic wrote to (once it went out
  // through the instance: that is how the reply finds its clinic).
  auto in = gw_->request("POST", "/webhooks/mock-sms/inbound",
                         json{{"from", "+966501234567"}, {"body", "I cannot come, my chemotherapy is that day"},
                              {"id", "in-1"}}
                             .dump());
  ASSERT_EQ(in.status, 200) << in.body;

  const std::string text = dump();
  for (const std::string& secret : {bodies[0], bodies[1], std::string("Dear Amal Alharbi, oncology at 9"),
                                    std::string("I cannot come, my chemotherapy is that day"),
                                    std::string("Amal Alharbi"), std::string("oncology"), std::string("chemotherapy"),
                                    std::string("HbA1c"), std::string("الطب النفسي")})
    EXPECT_EQ(text.find(secret), std::string::npos) << "the dump holds '" << secret << "'";
  EXPECT_NE(text.find("'k1'"), std::string::npos);  // the key id beside each value

  // Every answer still shows them.
  EXPECT_EQ(call("GET", "/v1/messages/" + ids[0], nullptr, 200)["body"], bodies[0]);
  EXPECT_EQ(call("GET", "/v1/messages/" + ids[1], nullptr, 200)["body"], bodies[1]);
  const json whatsapp = call("GET", "/v1/messages/" + ids[2], nullptr, 200);
  EXPECT_EQ(whatsapp["body"], "Dear Amal Alharbi, oncology at 9");
  EXPECT_EQ(whatsapp["provider_template"]["variables"], (json{"Amal Alharbi", "oncology"}));
  auto listed = call("GET", "/v1/messages?include=body", nullptr, 200)["messages"];
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[2]["body"], bodies[0]);
  auto inbound = call("GET", "/v1/inbound?include=body", nullptr, 200)["inbound"];
  ASSERT_EQ(inbound.size(), 1u);
  EXPECT_EQ(inbound[0]["body"], "I cannot come, my chemotherapy is that day");
}

TEST_F(PrivacyE2E, AValueCopiedToAnotherMessageFailsToOpenWithAClearError) {
  start(config());
  const std::string a = call("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "psychiatry, room 4"}}, 202)["id"];
  const std::string b = call("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "dermatology, room 9"}}, 202)["id"];
  gw_->wait_for_status(key_, a, "delivered");
  gw_->wait_for_status(key_, b, "delivered");
  auto hex = [](const std::string& id) { return "UNHEX(REPLACE('" + id + "', '-', ''))"; };
  db_.execute("UPDATE messages t JOIN messages s ON s.id = " + hex(a) + " SET t.body = s.body WHERE t.id = " + hex(b));
  auto m = call("GET", "/v1/messages/" + b, nullptr, 200);
  EXPECT_TRUE(m["body"].is_null()) << m.dump();
  EXPECT_NE(m.value("body_error", "").find("copied from another row"), std::string::npos) << m.dump();
  EXPECT_EQ(call("GET", "/v1/messages/" + a, nullptr, 200)["body"], "psychiatry, room 4");
}

// rotate-key while the gateway is busy: 1,000 messages sealed with k1 (700
// scheduled for tomorrow, then 300 due, going out at 10 a second: half a
// minute, so that the backlog outlasts the set-up on a fast machine too) and one
// stored in clear; the gateway restarted with k2 first; then, from other
// threads, new messages sent and old ones read the whole time rotate-key
// runs, while the dispatcher still sends the k1 backlog. Nothing fails,
// every message opens with k2 alone, and each due one reaches the provider
// exactly once.
TEST_F(PrivacyE2E, RotationUnderLoadLosesNothingAndTheOldKeyCanGo) {
  const SendLogFile sends;
  std::string sections = sends.into(config());
  const std::string sms = "  mock-sms:\n    plugin: mock\n";
  sections.insert(sections.find(sms) + sms.size(), "    rate_limit: 10\n");
  start(sections);
  using Clock = std::chrono::system_clock;
  std::map<std::string, std::string> sent;  // id -> body
  std::set<std::string> due;                // the ids that go out now
  std::mutex mutex;
  const std::string tomorrow = core::format_iso8601(core::now_us() + std::chrono::hours(24));
  auto send = [&](int i, bool later) {
    const std::string body = "reminder " + std::to_string(i) + ": cardiology follow-up";
    json request = {{"to", "+96650123" + std::to_string(4000 + i % 1000)}, {"body", body}};
    if (later) request["scheduled_at"] = tomorrow;
    long status = 0;
    auto r = gw_->json("POST", "/v1/messages", request, key_, &status);
    if (status != 202) return false;
    std::lock_guard lock(mutex);
    sent[r["id"]] = body;
    if (!later) due.insert(r["id"]);
    return true;
  };
  {
    std::atomic<int> refused{0};
    std::vector<std::thread> senders;
    for (int t = 0; t < 4; ++t)
      senders.emplace_back([&, t] {
        for (int i = 999 - t; i >= 0; i -= 4)  // the scheduled ones first
          if (!send(i, i >= 300)) ++refused;
      });
    for (auto& t : senders) t.join();
    ASSERT_EQ(refused.load(), 0);
  }
  const std::vector<std::string> old_ids = [&] {
    std::vector<std::string> ids;
    for (const auto& [id, body] : sent) ids.push_back(id);
    return ids;
  }();
  const std::set<std::string> old_due = due;
  // And one stored in clear, as before encryption was turned on.
  const std::string tenant = db_.scalar("SELECT id FROM tenants WHERE name = 'clinic-a'");
  const std::string clear_id = "01a2111c-0000-7000-8000-000000000001";
  db_.execute("INSERT INTO messages (id, tenant_id, channel, recipient, body, status, attempts, max_attempts, "
              "next_attempt_at, segments, encoding, created_at, updated_at) VALUES (UNHEX(REPLACE('" + clear_id +
              "', '-', ''))," + tenant + ", 'sms', '+966501234567', 'written in clear', 'delivered', 1, 3, "
              "UTC_TIMESTAMP(6), 1, 'GSM-7', UTC_TIMESTAMP(6) - INTERVAL 1 DAY, UTC_TIMESTAMP(6))");
  sent[clear_id] = "written in clear";

  // The new key first, the old one still there; the gateway restarted with it.
  write_keys({key_line("k2", 'b'), key_line("k1", 'a')});
  ASSERT_EQ(gw_->terminate(), std::optional<int>(0));
  gw_->start();
  // The k1 backlog is still going out.
  ASSERT_LT(sends.read().lines.size(), old_due.size());

  // The load: two threads send (for tomorrow: the provider's pace is for
  // the backlog), one reads old messages; each notes when every answer came.
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<Clock::time_point> accepted_at, read_at;
  std::vector<std::thread> load;
  struct Joined {  // the load stops however the test leaves this scope
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~Joined() {
      stop = true;
      for (auto& t : threads)
        if (t.joinable()) t.join();
    }
  } joined{stop, load};
  for (int t = 0; t < 2; ++t)
    load.emplace_back([&, t] {
      for (int i = 2000 + t; !stop; i += 2) {
        if (!send(i, true)) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mutex);
        accepted_at.push_back(Clock::now());
      }
    });
  load.emplace_back([&] {
    for (std::size_t i = 0; !stop; i = (i + 7) % old_ids.size()) {
      long status = 0;
      auto m = gw_->json("GET", "/v1/messages/" + old_ids[i], nullptr, key_, &status);
      std::lock_guard lock(mutex);
      if (status != 200 || m["body"] != sent.at(old_ids[i])) {
        ++failures;
        ADD_FAILURE() << "while rotating: " << status << " " << m.dump();
        continue;
      }
      read_at.push_back(Clock::now());
    }
  });
  auto answered = [&](const std::vector<Clock::time_point>& at) {
    std::lock_guard lock(mutex);
    return !at.empty();
  };
  // rotate-key begins once the load is answered and the restarted node is
  // sending the backlog again (five more of it sent).
  const std::size_t sent_at_restart = sends.read().lines.size();
  ASSERT_TRUE(eventually([&] {
    return answered(accepted_at) && answered(read_at) && sends.read().lines.size() >= sent_at_restart + 5;
  }, 20s));
  // The k1 backlog is still there as rotate-key begins (at 10 a second,
  // at least 5 of it go out in any half second of the rotation).
  const long backlog_left = static_cast<long>(old_due.size()) - static_cast<long>(sends.read().lines.size());
  ASSERT_GT(backlog_left, 20) << "the backlog drained before rotate-key began";
  const auto rotation_began = Clock::now();
  auto rotated = gw_->run_command({"rotate-key"});
  const auto rotation_ended = Clock::now();
  stop = true;
  for (auto& t : load) t.join();
  EXPECT_EQ(rotated.status, std::optional<int>(0)) << rotated.out << rotated.err;
  EXPECT_NE(rotated.out.find("the other keys can be removed"), std::string::npos) << rotated.out;
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages WHERE content_key = 'k1' OR content_key IS NULL"), "0");

  // The load was there while rotate-key ran: messages accepted, old ones
  // read, and old ones sent to the provider.
  auto within = [&](const std::vector<Clock::time_point>& at) {
    return std::count_if(at.begin(), at.end(),
                         [&](Clock::time_point t) { return t > rotation_began && t < rotation_ended; });
  };
  const auto in_window = [&](const SendLog::Line& l) {
    const auto us = [](Clock::time_point t) {
      return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
    };
    return l.at_us > us(rotation_began) && l.at_us < us(rotation_ended) && old_due.count(l.id) > 0;
  };
  const SendLog during = sends.read();
  const auto old_sent_during = std::count_if(during.lines.begin(), during.lines.end(), in_window);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(rotation_ended - rotation_began).count();
  EXPECT_GT(within(accepted_at), 0) << "no message accepted during the " << ms << " ms of rotate-key";
  EXPECT_GT(within(read_at), 0) << "no message read during the " << ms << " ms of rotate-key";
  EXPECT_GT(old_sent_during, 0) << "no k1 message sent during the " << ms << " ms of rotate-key";
  std::printf("rotate-key: %lld ms; meanwhile %ld accepted, %ld read, %ld of the k1 backlog (%ld left) sent\n",
              static_cast<long long>(ms), static_cast<long>(within(accepted_at)), static_cast<long>(within(read_at)),
              static_cast<long>(old_sent_during), backlog_left);

  // Every due message went out, each sent to the provider once. (Sent, or
  // delivered: the mock's delivery reports of the sends just before the
  // restart went with its process.)
  const std::string gone_out = std::to_string(due.size() + 1);  // and the one in clear
  ASSERT_TRUE(eventually(
      [&] { return db_.scalar("SELECT COUNT(*) FROM messages WHERE status IN ('sent', 'delivered')") == gone_out; },
      120s))
      << db_.scalar("SELECT GROUP_CONCAT(status, ':', n) FROM (SELECT status, COUNT(*) n FROM messages GROUP BY status) t");
  const SendLog log = sends.read();
  EXPECT_EQ(log.sent_twice(), "");
  std::set<std::string> provider_got;
  for (const auto& l : log.lines) provider_got.insert(l.id);
  EXPECT_EQ(provider_got, due);

  // Only the new key: everything still opens.
  write_keys({key_line("k2", 'b')});
  ASSERT_EQ(gw_->terminate(), std::optional<int>(0));
  gw_->start();
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages"), std::to_string(sent.size()));
  std::string after;
  std::size_t seen = 0;
  for (;;) {
    auto page = call("GET", "/v1/messages?include=body&limit=1000" + (after.empty() ? "" : "&after=" + after), nullptr, 200);
    for (const auto& m : page["messages"]) {
      ++seen;
      ASSERT_EQ(m["body"], sent.at(m["id"].get<std::string>())) << m.dump();
    }
    if (page["next"].is_null()) break;
    after = page["next"];
  }
  EXPECT_EQ(seen, sent.size());
}

// Without encryption, so that the dump would show a body that was kept.
TEST_F(PrivacyE2E, ADiscardedBodyIsGoneOnceDeliveredAndStatisticsStay) {
  start(std::string(kSections) + jobs("{enabled: false}"));
  const std::string kept = call("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "kept: lab at 8"}}, 202)["id"];
  gw_->wait_for_status(key_, kept, "delivered");
  const auto before = call("GET", "/v1/stats?days=1", nullptr, 200);
  const std::string gone = call("POST", "/v1/messages",
                                {{"to", "+966501234567"}, {"body", "discard me: HIV clinic at 10"},
                                 {"content_retention", "discard"}},
                                202)["id"];
  auto m = gw_->wait_for_status(key_, gone, "delivered");
  ASSERT_EQ(m["status"], "delivered");
  EXPECT_TRUE(m["body"].is_null()) << m.dump();
  EXPECT_TRUE(m["body_redacted_at"].is_string()) << m.dump();
  EXPECT_EQ(m["content_retention"], "discard");
  EXPECT_EQ(m["segments"], 1);
  EXPECT_TRUE(m["cost"].is_object()) << m.dump();
  const std::string text = dump();
  EXPECT_EQ(text.find("HIV clinic"), std::string::npos);
  EXPECT_NE(text.find("kept: lab at 8"), std::string::npos);  // the dump does show what is kept
  // Statistics count it like any other delivered message.
  const auto after = call("GET", "/v1/stats?days=1", nullptr, 200);
  EXPECT_EQ(after["by_status"].value("delivered", 0), before["by_status"].value("delivered", 0) + 1) << after.dump();
  EXPECT_EQ(call("GET", "/v1/messages/" + kept, nullptr, 200)["body"], "kept: lab at 8");
  // Lists show it erased too.
  EXPECT_EQ(call("GET", "/v1/messages?include=body", nullptr, 200)["messages"][0]["body"], nullptr);
}

TEST_F(PrivacyE2E, TheTenantDefaultDiscardsAndRedactAfterDaysErasesOldBodies) {
  // The retention job runs once the data is in place (a later start).
  start(std::string(kSections) + jobs("{enabled: false, max_days: 120}"));
  auto settings = call("PUT", "/v1/settings",
                       {{"default_language", "en"}, {"content_retention", "discard"}, {"redact_after_days", 7}}, 200);
  EXPECT_EQ(settings["content_retention"], "discard");
  EXPECT_EQ(settings["redact_after_days"], 7);
  EXPECT_EQ(settings["max_retention_days"], 120);
  // Over the operator's maximum: refused, naming the field.
  auto over = call("PUT", "/v1/settings", {{"default_language", "en"}, {"retention_days", 121}}, 422);
  EXPECT_NE(over.dump().find("retention_days"), std::string::npos);
  // (settings are cached for a moment: wait until a send takes the default)
  std::string id;
  ASSERT_TRUE(eventually(
      [&] {
        id = call("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "default discard"}}, 202)["id"];
        return gw_->wait_for_status(key_, id, "delivered")["content_retention"] == "discard";
      },
      20s));
  EXPECT_TRUE(call("GET", "/v1/messages/" + id, nullptr, 200)["body"].is_null());
  call("PUT", "/v1/settings", {{"default_language", "en"}, {"redact_after_days", 7}}, 200);
  gw_->terminate();

  // Old messages: 5 final ones 8 days old lose their bodies, a queued one
  // and the recent ones keep theirs.
  const std::string tenant = db_.scalar("SELECT id FROM tenants WHERE name = 'clinic-a'");
  int n = 0;
  auto seed = [&](const std::string& status, int days_ago, const std::string& body) {
    char id[40];
    std::snprintf(id, sizeof id, "01a2111c-0000-7000-8000-%012d", ++n);
    db_.execute("INSERT INTO messages (id, tenant_id, channel, recipient, body, status, attempts, max_attempts, "
                "next_attempt_at, segments, encoding, created_at, updated_at) VALUES (UNHEX(REPLACE('" +
                std::string(id) + "', '-', ''))," + tenant + ", 'sms', '+966501234567', '" + body + "', '" + status +
                "', 1, 3, UTC_TIMESTAMP(6) + INTERVAL 1 DAY, 1, 'GSM-7', UTC_TIMESTAMP(6) - INTERVAL " +
                std::to_string(days_ago) + " DAY, UTC_TIMESTAMP(6))");
  };
  for (int i = 0; i < 5; ++i) seed("delivered", 8, "old body");
  seed("scheduled", 8, "still due");
  seed("delivered", 6, "recent body");
  gw_ = std::make_unique<GatewayUnderTest>(db_, std::string(kSections) + jobs("{every: 1h, days: 90, max_days: 120, batch: 2}"));
  gw_->start();
  ASSERT_TRUE(eventually([&] { return db_.scalar("SELECT last_finished_at FROM jobs WHERE name = 'retention'") != ""; }, 30s))
      << gw_->log();
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages WHERE body = 'old body'"), "0");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages WHERE body_redacted_at IS NOT NULL AND body = ''"), "6");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages WHERE body = 'still due'"), "1");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages WHERE body = 'recent body'"), "1");
  EXPECT_NE(db_.scalar("SELECT last_result FROM jobs WHERE name = 'retention'").find("5 bodies erased"), std::string::npos)
      << db_.scalar("SELECT last_result FROM jobs WHERE name = 'retention'");
}

TEST_F(PrivacyE2E, RetentionRemovesTheAuditOfNumbersButKeepsTheEvidenceOfOptOuts) {
  start(std::string(kSections) + jobs("{enabled: false}"));
  call("PUT", "/v1/recipients/+966501111111/preferences", {{"opted_out", true}}, 200);
  call("PUT", "/v1/recipients/+966502222222/preferences", {{"language", "ar"}}, 200);
  gw_->terminate();
  // Both entries are made old; the new one stays.
  db_.execute("UPDATE audit_log SET at = UTC_TIMESTAMP(6) - INTERVAL 31 DAY");
  const std::string tenant = db_.scalar("SELECT id FROM tenants WHERE name = 'clinic-a'");
  db_.execute("INSERT INTO audit_log (tenant_id, at, action, subject) VALUES (" + tenant +
              ", UTC_TIMESTAMP(6), 'preferences.updated', 'phone:+966503333333')");
  gw_ = std::make_unique<GatewayUnderTest>(db_, std::string(kSections) + jobs("{every: 1h, days: 30, audit_min_days: 30, batch: 1000}"));
  gw_->start();
  ASSERT_TRUE(eventually([&] { return db_.scalar("SELECT last_finished_at FROM jobs WHERE name = 'retention'") != ""; }, 30s))
      << gw_->log();
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM audit_log WHERE subject = 'phone:+966502222222'"), "0");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM audit_log WHERE subject = 'phone:+966501111111'"), "1");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM audit_log WHERE subject = 'phone:+966503333333'"), "1");
}

TEST_F(PrivacyE2E, EveryReadOfABodyIsInTheAuditWithItsActorAndListsShowNoneUnlessAsked) {
  start(config());
  const std::string a = call("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "read me"}}, 202)["id"];
  const std::string b = call("POST", "/v1/messages", {{"to", "+966501234568"}, {"body", "and me"}}, 202)["id"];
  EXPECT_TRUE(audit_of("message.body_read").empty());

  // Routine polling: no body, nothing recorded.
  auto plain = call("GET", "/v1/messages", nullptr, 200)["messages"];
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_FALSE(plain[0].contains("body")) << plain[0].dump();
  EXPECT_TRUE(audit_of("message.body_read").empty());
  auto bad = call("GET", "/v1/messages?include=everything", nullptr, 422);
  EXPECT_NE(bad.dump().find("include"), std::string::npos);

  sdk::HttpHeaders ua{{"User-Agent", "clinic-portal/2.1"}};
  long status = 0;
  auto one = gw_->json("GET", "/v1/messages/" + a, nullptr, key_, &status, ua);
  ASSERT_EQ(status, 200);
  EXPECT_EQ(one["body"], "read me");
  auto reads = audit_of("message.body_read");
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0]["subject"], a);
  EXPECT_EQ(reads[0]["detail"], a);
  EXPECT_EQ(reads[0]["actor"], "key:" + key_id_) << reads[0].dump();
  EXPECT_EQ(reads[0]["ip"], "127.0.0.1");
  EXPECT_EQ(reads[0]["user_agent"], "clinic-portal/2.1");

  auto listed = call("GET", "/v1/messages?include=body", nullptr, 200)["messages"];
  EXPECT_EQ(listed[0]["body"], "and me");
  reads = audit_of("message.body_read");
  ASSERT_EQ(reads.size(), 2u);
  EXPECT_EQ(reads[0]["detail"], b + "," + a) << reads[0].dump();

  gw_->wait_for_status(key_, a, "delivered");  // the reply then finds its clinic
  gw_->request("POST", "/webhooks/mock-sms/inbound", json{{"from", "+966501234567"}, {"body", "yes"}, {"id", "i-1"}}.dump());
  ASSERT_TRUE(eventually([&] { return call("GET", "/v1/inbound", nullptr, 200)["inbound"].size() == 1; }, 10s));
  EXPECT_TRUE(audit_of("inbound.body_read").empty());
  auto inbound = call("GET", "/v1/inbound?include=body", nullptr, 200)["inbound"];
  EXPECT_EQ(inbound[0]["body"], "yes");
  auto inbound_reads = audit_of("inbound.body_read");
  ASSERT_EQ(inbound_reads.size(), 1u);
  EXPECT_EQ(inbound_reads[0]["detail"], inbound[0]["id"]);

  // The operator's reads go to the operator's own audit (tenant 0).
  const std::string op = gw_->create_operator_key();
  long op_status = 0;
  auto all = gw_->json("GET", "/v1/admin/inbound?include=body", nullptr, op, &op_status);
  ASSERT_EQ(op_status, 200) << all.dump();
  EXPECT_EQ(all["inbound"][0]["body"], "yes");
  EXPECT_EQ(db_.scalar("SELECT CONCAT(actor, ' ', detail) FROM audit_log WHERE tenant_id = 0 AND action = "
                       "'inbound.body_read'"),
            "operator:" + op.substr(4, op.find('_', 4) - 4) + " " + inbound[0]["id"].get<std::string>());
  EXPECT_EQ(audit_of("inbound.body_read").size(), 1u);  // not in the clinic's
}

// A read whose audit entry cannot be written (the database refuses it: a
// trigger here) is answered 503 and shows nothing, for a tenant and for the
// operator; answers that show no body need no entry and still work; once
// the entry can be written again, the read is answered and recorded.
TEST_F(PrivacyE2E, AReadWhoseAuditEntryCannotBeWrittenIsRefusedAndShowsNothing) {
  start(config());
  const std::string id =
      call("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "oncology, room 12"}}, 202)["id"];
  gw_->wait_for_status(key_, id, "delivered");  // the reply then finds its clinic
  ASSERT_EQ(gw_->request("POST", "/webhooks/mock-sms/inbound",
                         json{{"from", "+966501234567"}, {"body", "see you at oncology"}, {"id", "in-1"}}.dump())
                .status,
            200);
  ASSERT_TRUE(eventually([&] { return call("GET", "/v1/inbound", nullptr, 200)["inbound"].size() == 1; }, 10s));
  const std::string op = gw_->create_operator_key();
  const std::string entries = db_.scalar("SELECT COUNT(*) FROM audit_log");
  const std::size_t reads_before = audit_of("message.body_read").size();  // waiting for delivery read it

  db_.execute("CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log FOR EACH ROW "
              "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log refuses writes'");
  const std::vector<std::pair<std::string, std::string>> reads = {{"/v1/messages/" + id, key_},
                                                                  {"/v1/messages?include=body", key_},
                                                                  {"/v1/inbound?include=body", key_},
                                                                  {"/v1/admin/inbound?include=body", op}};
  for (const auto& [path, key] : reads) {
    auto r = gw_->request("GET", path, {}, key);
    SCOPED_TRACE(path + ": " + std::to_string(r.status) + " " + r.body);
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.body.find("oncology"), std::string::npos);
    EXPECT_EQ(json::parse(r.body, nullptr, false).value("type", ""), "urn:barid:problem:unavailable");
    EXPECT_EQ(r.header("Retry-After"), "1");
  }
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM audit_log"), entries);
  EXPECT_NE(gw_->log().find("cannot record 'message.body_read', the read is refused"), std::string::npos);
  EXPECT_NE(gw_->log().find("cannot record 'inbound.body_read', the read is refused"), std::string::npos);
  // Without bodies, nothing to record.
  EXPECT_EQ(call("GET", "/v1/messages", nullptr, 200)["messages"].size(), 1u);
  EXPECT_EQ(call("GET", "/v1/inbound", nullptr, 200)["inbound"].size(), 1u);

  db_.execute("DROP TRIGGER audit_refused");
  EXPECT_EQ(call("GET", "/v1/messages/" + id, nullptr, 200)["body"], "oncology, room 12");
  auto recorded = audit_of("message.body_read");
  ASSERT_EQ(recorded.size(), reads_before + 1);
  EXPECT_EQ(recorded[0]["detail"], id);  // newest first
}

// Keys from the environment (key_env); a body altered in the database is
// never sent; one sealed with a key no node has waits, within its attempts.
// What reached the provider is read from the mock's send log: the readable
// message once, the other two never.
TEST_F(PrivacyE2E, AMessageWhoseBodyDoesNotOpenIsNeverSent) {
  ::setenv("BARID_TEST_CONTENT_KEYS", key_line("env1", 'e').c_str(), 1);
  const SendLogFile sends;
  start(sends.into(kSections) + jobs("{enabled: false}") +
        "privacy:\n  encryption:\n    key_env: BARID_TEST_CONTENT_KEYS\n");
  const std::string soon = core::format_iso8601(core::now_us() + std::chrono::seconds(3));
  const std::string altered =
      call("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "altered later"}, {"scheduled_at", soon}}, 202)["id"];
  const std::string unknown_key =
      call("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "under a lost key"}, {"scheduled_at", soon}},
           202)["id"];
  const std::string fine = call("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "sent as it is"}}, 202)["id"];
  EXPECT_EQ(gw_->wait_for_status(key_, fine, "delivered")["body"], "sent as it is");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages WHERE content_key = 'env1'"), "3");
  auto hex = [](const std::string& id) { return "UNHEX(REPLACE('" + id + "', '-', ''))"; };
  db_.execute("UPDATE messages t JOIN messages s ON s.id = " + hex(fine) + " SET t.body = s.body WHERE t.id = " +
              hex(altered));
  db_.execute("UPDATE messages SET content_key = 'lost' WHERE id = " + hex(unknown_key));

  auto a = gw_->wait_for_status(key_, altered, "failed");
  ASSERT_EQ(a["status"], "failed") << a.dump();
  EXPECT_EQ(a["error"]["code"], "content_unreadable");
  EXPECT_TRUE(a["body"].is_null());
  EXPECT_NE(a.value("body_error", "").find("copied from another row"), std::string::npos);
  EXPECT_EQ(a["attempts"], 1);
  auto retry = call("POST", "/v1/messages/" + altered + "/retry", nullptr, 409);
  EXPECT_NE(retry.dump().find("cannot be opened"), std::string::npos) << retry.dump();

  auto u = gw_->wait_for_status(key_, unknown_key, "failed");
  ASSERT_EQ(u["status"], "failed") << u.dump();
  EXPECT_EQ(u["error"]["code"], "content_key_missing");
  EXPECT_EQ(u["attempts"], 3);  // tried again, in case another node had the key
  EXPECT_NE(u.value("body_error", "").find("'lost'"), std::string::npos) << u.dump();
  // The provider was asked once, for the message that opened.
  const SendLog log = sends.read();
  ASSERT_NE(log.find(fine), nullptr);
  EXPECT_EQ(log.find(altered), nullptr) << "the altered message reached the provider";
  EXPECT_EQ(log.find(unknown_key), nullptr) << "the message under a lost key reached the provider";
  EXPECT_EQ(log.lines.size(), 1u);
  ::unsetenv("BARID_TEST_CONTENT_KEYS");
}

// A discarded message that failed has nothing left to send: no retry.
TEST_F(PrivacyE2E, ADiscardedFailureCannotBeRetried) {
  start(R"yaml(
providers:
  mock-sms:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, fail_numbers: "+966501110000"}
routing:
  sms: {provider: mock-sms}
retry: {max_attempts: 2, initial_backoff: 50ms, max_backoff: 100ms, jitter: 0}
dispatch: {poll_interval: 50ms, lease: 30s}
messaging: {default_region: SA}
)yaml" + jobs("{enabled: false}"));
  const std::string id =
      call("POST", "/v1/messages",
           {{"to", "+966501110000"}, {"body", "discard on failure"}, {"content_retention", "discard"}}, 202)["id"];
  auto m = gw_->wait_for_status(key_, id, "failed");
  ASSERT_EQ(m["status"], "failed") << m.dump();
  EXPECT_TRUE(m["body"].is_null());
  EXPECT_TRUE(m["body_redacted_at"].is_string());
  auto retry = call("POST", "/v1/messages/" + id + "/retry", nullptr, 409);
  EXPECT_NE(retry.dump().find("erased"), std::string::npos) << retry.dump();
}

// privacy.encryption.numbers, turned on over data written without it: an
// opt-out and a preference recorded in clear still apply; rotate-key turns
// every number into its keyed hash; then a dump holds no number the test
// used, while the API shows them and every lookup by number still works.
TEST_F(PrivacyE2E, NumbersAreKeptAsKeyedHashesAndOptOutsStillApply) {
  write_keys({key_line("k1", 'a'), key_line("index", 'i')});
  start(config());
  const std::string kept = "+966501230001", stopped = "+966501230002", prefers_not = "+966501230003",
                    writes = "+966501230004";
  const json repeated = {{"to", kept}, {"body", "before"}};
  const sdk::HttpHeaders repeat_key = {{"Idempotency-Key", "appt-before-switch"}};
  long status = 0;
  gw_->json("POST", "/v1/messages", repeated, key_, &status, repeat_key);
  ASSERT_EQ(status, 202);
  const std::string to_stopped = call("POST", "/v1/messages", {{"to", stopped}, {"body", "before"}}, 202)["id"];
  gw_->wait_for_status(key_, to_stopped, "delivered");
  ASSERT_EQ(gw_->request("POST", "/webhooks/mock-sms/inbound",
                         json{{"from", stopped}, {"body", "STOP"}, {"id", "stop-1"}}.dump()).status, 200);
  call("PUT", "/v1/recipients/" + prefers_not + "/preferences", {{"opted_out", true}}, 200);
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM opt_outs WHERE phone = '" + stopped + "'"), "1");  // in clear

  ASSERT_EQ(gw_->terminate(), std::optional<int>(0));
  gw_ = std::make_unique<GatewayUnderTest>(db_, config() + "    numbers: true\n");
  gw_->start();
  EXPECT_NE(gw_->log().find("still stored in clear"), std::string::npos);
  // Before any conversion: the clear opt-out and preference still apply.
  EXPECT_EQ(call("POST", "/v1/messages", {{"to", stopped}, {"body", "after"}}, 202)["status"], "suppressed");
  EXPECT_EQ(call("POST", "/v1/messages", {{"to", prefers_not}, {"body", "after"}}, 202)["status"], "suppressed");
  const std::string to_writes = call("POST", "/v1/messages", {{"to", writes}, {"body", "after"}}, 202)["id"];
  EXPECT_EQ(gw_->wait_for_status(key_, to_writes, "delivered")["to"], writes);
  EXPECT_EQ(db_.scalar("SELECT LEFT(recipient, 1) FROM messages WHERE recipient_sealed IS NOT NULL LIMIT 1"), "#");
  // The same request with its Idempotency-Key, across the switch: compared by
  // another hash, it is a mismatch (422), and nothing is stored twice.
  auto again = gw_->json("POST", "/v1/messages", repeated, key_, &status, repeat_key);
  EXPECT_EQ(status, 422) << again.dump();
  EXPECT_EQ(again["type"], "urn:barid:problem:idempotency-key-reused");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages WHERE idempotency_key IS NOT NULL"), "1");
  ASSERT_EQ(gw_->request("POST", "/webhooks/mock-sms/inbound",
                         json{{"from", writes}, {"body", "thank you"}, {"id", "in-9"}}.dump()).status, 200);

  auto rotated = gw_->run_command({"rotate-key"});
  EXPECT_EQ(rotated.status, std::optional<int>(0)) << rotated.out << rotated.err;

  const std::string text = dump();
  for (const std::string& n : {kept, stopped, prefers_not, writes})
    for (const std::string& form : {n, n.substr(1)})
      EXPECT_EQ(text.find(form), std::string::npos) << "the dump holds " << form;
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM opt_outs WHERE phone LIKE '#%'"), "1");

  // Restarted, it knows nothing is left in clear and looks up hashes only.
  ASSERT_EQ(gw_->terminate(), std::optional<int>(0));
  gw_->start();
  EXPECT_EQ(gw_->log().find("still stored in clear"), std::string::npos);
  // Every answer still shows the numbers, and every lookup by number works.
  auto listed = call("GET", "/v1/messages?to=" + writes, nullptr, 200)["messages"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["to"], writes);
  auto inbound = call("GET", "/v1/inbound?include=body&phone=" + writes, nullptr, 200)["inbound"];
  ASSERT_EQ(inbound.size(), 1u);  // found its clinic through the hashed recipient
  EXPECT_EQ(inbound[0]["from"], writes);
  auto prefs = call("GET", "/v1/recipients/" + stopped + "/preferences", nullptr, 200);
  ASSERT_EQ(prefs["opt_outs"].size(), 1u) << prefs.dump();
  EXPECT_EQ(call("POST", "/v1/messages", {{"to", stopped}, {"body", "again"}}, 202)["status"], "suppressed");
  EXPECT_EQ(call("POST", "/v1/messages", {{"to", prefers_not}, {"body", "again"}}, 202)["status"], "suppressed");
  // START lifts the hashed opt-out.
  ASSERT_EQ(gw_->request("POST", "/webhooks/mock-sms/inbound",
                         json{{"from", stopped}, {"body", "START"}, {"id", "start-1"}}.dump()).status, 200);
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM opt_outs"), "0");
}

}  // namespace
}  // namespace barid::testing
