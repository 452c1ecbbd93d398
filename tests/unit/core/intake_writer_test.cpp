// The IntakeWriter against a MessageStore that records what it is asked:
// concurrent requests share a commit, a failed commit answers every request
// of its batch, stop() stores what was queued, commits wake the dispatcher.

#include <barid/core/intake.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>

namespace barid::core {
namespace {

using namespace std::chrono;

// Stores nothing; remembers each batch. The first insert can be held until
// the test lets it go, so that the next requests queue behind it.
class RecordingMessageStore final : public MessageStore {
 public:
  Result<std::vector<InsertOutcome>> insert_messages(const std::vector<NewMessage>& batch) override {
    std::unique_lock lock(mutex_);
    batches.push_back(batch.size());
    cv_.notify_all();
    cv_.wait(lock, [&] { return !hold_first_ || batches.size() > 1 || released_; });
    if (fail) return Error::unavailable("the database is down");
    for (const auto& m : batch)
      if (m.to == poison) return Error::internal("insert messages: Incorrect string value (MySQL error 1366)");
    std::vector<InsertOutcome> out;
    for (const auto& m : batch) {
      InsertOutcome o;
      o.id = m.id;
      o.status = m.status;
      if (m.to == over_quota) {
        o.kind = InsertOutcome::Kind::over_quota;
        o.limit_detail = "the daily quota of 1 messages is reached";
        o.retry_after_s = 3600;
      }
      out.push_back(o);
    }
    return out;
  }
  void hold_first() { hold_first_ = true; }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }
  bool wait_for_batches(std::size_t n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, seconds(5), [&] { return batches.size() >= n; });
  }
  std::vector<std::size_t> snapshot() {
    std::lock_guard lock(mutex_);
    return batches;
  }

  std::vector<std::size_t> batches;
  bool fail = false;
  std::string poison;  // a message to this number is refused, and the batch with it
  std::string over_quota;  // a message to this number is over its tenant's quota

  // Not used by the writer.
  Result<std::optional<Message>> find_message(TenantId, const MessageId&) override { return unused(); }
  Result<std::vector<MessageEvent>> list_events(TenantId, const MessageId&) override { return unused(); }
  Result<std::vector<Message>> list_messages(TenantId, const MessageFilter&) override { return unused(); }
  Result<Message> retry_message(TenantId, const MessageId&, const Actor&) override { return unused(); }
  Result<Message> cancel_message(TenantId, const MessageId&, const Actor&) override { return unused(); }
  Status record_event(TenantId, const MessageId&, std::string_view, std::string_view, const Actor&) override {
    return unused();
  }
  Result<BatchInsert> insert_batch(const Batch&, const std::vector<NewMessage>&) override { return unused(); }
  Result<std::optional<Batch>> find_batch(TenantId, const Uuid&) override { return unused(); }
  Result<std::map<std::string, std::int64_t>> batch_status_counts(TenantId, const Uuid&) override { return unused(); }

 private:
  static Error unused() { return Error::internal("not used by the IntakeWriter"); }
  std::mutex mutex_;
  std::condition_variable cv_;
  bool hold_first_ = false;
  bool released_ = false;
};

NewMessage message() {
  NewMessage m;
  m.id = Uuid::v7();
  m.tenant_id = 1;
  m.to = "+966501234567";
  m.body = "Your appointment is tomorrow";
  return m;
}

TEST(IntakeWriterTest, RequestsThatArriveDuringACommitShareTheNextOne) {
  RecordingMessageStore store;
  store.hold_first();
  std::atomic<int> committed{0};
  IntakeWriter writer(store, nullptr, {1, 500, 1000}, [&] { ++committed; });
  std::vector<std::future<Result<InsertOutcome>>> answers;
  auto submit = [&] {
    auto p = std::make_shared<std::promise<Result<InsertOutcome>>>();
    answers.push_back(p->get_future());
    const NewMessage m = message();
    ASSERT_TRUE(writer.submit(m, [p](const Result<InsertOutcome>& r) { p->set_value(r); }));
  };
  submit();
  ASSERT_TRUE(store.wait_for_batches(1));  // the first commit is under way, and held
  for (int i = 0; i < 20; ++i) submit();
  store.release();
  for (auto& a : answers) {
    auto r = a.get();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->kind, InsertOutcome::Kind::inserted);
  }
  EXPECT_EQ(store.snapshot(), (std::vector<std::size_t>{1, 20}));  // one commit for the twenty
  writer.stop();
  EXPECT_EQ(committed.load(), 2);
  EXPECT_EQ(writer.stats().stored, 21u);
  EXPECT_EQ(writer.stats().batches, 2u);
}

TEST(IntakeWriterTest, AFailedCommitAnswersEveryRequestOfItsBatchWithTheError) {
  RecordingMessageStore store;
  store.fail = true;
  std::atomic<int> committed{0};
  IntakeWriter writer(store, nullptr, {1, 500, 1000}, [&] { ++committed; });
  std::promise<Result<InsertOutcome>> answer;
  ASSERT_TRUE(writer.submit(message(), [&](const Result<InsertOutcome>& r) { answer.set_value(r); }));
  auto r = answer.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::unavailable);
  writer.stop();
  EXPECT_EQ(committed.load(), 0);
  EXPECT_EQ(writer.stats().failed, 1u);
  EXPECT_EQ(writer.stats().stored, 0u);
}

TEST(IntakeWriterTest, ABatchWithARowTheDatabaseRefusesFailsThatRequestAlone) {
  RecordingMessageStore store;
  store.hold_first();
  store.poison = "+966509999999";
  IntakeWriter writer(store, nullptr, {1, 500, 1000}, [] {});
  std::vector<std::future<Result<InsertOutcome>>> answers;
  auto submit = [&](std::string to) {
    auto p = std::make_shared<std::promise<Result<InsertOutcome>>>();
    answers.push_back(p->get_future());
    NewMessage m = message();
    m.to = std::move(to);
    ASSERT_TRUE(writer.submit(m, [p](const Result<InsertOutcome>& r) { p->set_value(r); }));
  };
  submit("+966501234567");
  ASSERT_TRUE(store.wait_for_batches(1));
  submit("+966501234568");  // another tenant's, say
  submit(store.poison);
  submit("+966501234569");
  store.release();
  EXPECT_TRUE(answers[0].get().ok());
  EXPECT_TRUE(answers[1].get().ok());
  auto refused = answers[2].get();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::internal);
  EXPECT_TRUE(answers[3].get().ok());
  // The batch of three failed once, then went one by one.
  EXPECT_EQ(store.snapshot(), (std::vector<std::size_t>{1, 3, 1, 1, 1}));
  writer.stop();
  EXPECT_EQ(writer.stats().stored, 3u);
  EXPECT_EQ(writer.stats().failed, 1u);
}

TEST(IntakeWriterTest, AMessageOverItsTenantsQuotaIsAnsweredWithTheLimitAndWhenToRetry) {
  RecordingMessageStore store;
  store.over_quota = "+966509999998";
  IntakeWriter writer(store, nullptr, {1, 500, 1000}, [] {});
  std::promise<Result<InsertOutcome>> refused, stored;
  NewMessage over = message();
  over.to = store.over_quota;
  ASSERT_TRUE(writer.submit(over, [&](const Result<InsertOutcome>& r) { refused.set_value(r); }));
  ASSERT_TRUE(writer.submit(message(), [&](const Result<InsertOutcome>& r) { stored.set_value(r); }));
  auto r = refused.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::quota);
  EXPECT_EQ(r.error().retry_after_s, 3600);
  EXPECT_EQ(r.error().message, "the daily quota of 1 messages is reached");
  EXPECT_TRUE(stored.get_future().get().ok());
  writer.stop();
  EXPECT_EQ(writer.stats().refused, 1u);
  EXPECT_EQ(writer.stats().stored, 1u);
}

TEST(IntakeWriterTest, StopStoresWhatWasQueuedAndAFullQueueSaysSo) {
  RecordingMessageStore store;
  store.hold_first();
  IntakeWriter writer(store, nullptr, {1, 500, 3}, [] {});
  std::atomic<int> answered{0};
  auto done = [&](const Result<InsertOutcome>& r) {
    EXPECT_TRUE(r.ok());
    ++answered;
  };
  ASSERT_TRUE(writer.submit(message(), done));
  ASSERT_TRUE(store.wait_for_batches(1));
  ASSERT_TRUE(writer.submit(message(), done));
  ASSERT_TRUE(writer.submit(message(), done));
  ASSERT_TRUE(writer.submit(message(), done));
  EXPECT_FALSE(writer.submit(message(), done));  // max_pending 3: the caller answers 503
  std::thread stopper([&] { writer.stop(); });
  store.release();
  stopper.join();
  EXPECT_EQ(answered.load(), 4);
  EXPECT_EQ(writer.stats().stored, 4u);
}

}  // namespace
}  // namespace barid::core
