// API keys against a real MariaDB: the directory of live key ids that every
// node keeps, and the budget for looking up ids outside it.

#include "store_fixture.hpp"

#include <barid/core/api_keys.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

namespace barid::core {
namespace {

using namespace std::chrono_literals;

class ApiKeysTest : public MySqlStoreTest {
 protected:
  std::string made_up(int i) {
    char key[64];
    std::snprintf(key, sizeof key, "brd_%016x_%040d", i, i);
    return key;
  }
};

TEST_F(ApiKeysTest, MadeUpIdsPastTheBudgetAreAnsweredWithoutTheDatabase) {
  ApiKeys keys(*store_, 60s);
  auto real = keys.create("clinic-a", "app");
  ASSERT_TRUE(real.ok());
  keys.watch(1h);  // loads the directory; no poll during the test
  ASSERT_TRUE(keys.has_directory());

  // The real key is known from the directory and checked against the database once.
  auto first = keys.authenticate(real->key);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->tenant_id, tenant_);

  int granted = 0, not_found = 0, unavailable = 0;
  for (int i = 0; i < 2000; ++i) {
    auto r = keys.authenticate_cached(made_up(i));
    if (!r) {
      ++granted;
      auto looked_up = keys.authenticate(made_up(i));  // the lookup the grant allows, charged once
      ASSERT_FALSE(looked_up.ok());
      EXPECT_EQ(looked_up.error().kind, ErrorKind::not_found);
    } else if (!r->ok() && r->error().kind == ErrorKind::unavailable) {
      ++unavailable;
    } else if (!r->ok() && r->error().kind == ErrorKind::not_found) {
      ++not_found;
    }
  }
  // The loop takes far less than a second: about one second's budget, no more.
  EXPECT_GE(granted, ApiKeys::kLookupsPerSecond - 1);
  EXPECT_LE(granted, 2 * ApiKeys::kLookupsPerSecond);
  EXPECT_EQ(granted + unavailable, 2000);
  EXPECT_EQ(keys.lookups_refused(), static_cast<std::uint64_t>(unavailable));
  // An id the database said it did not know is refused from memory.
  auto again = keys.authenticate_cached(made_up(0));
  ASSERT_TRUE(again && !again->ok());
  EXPECT_EQ(again->error().kind, ErrorKind::not_found);
  // And the real key still works while the budget is spent.
  EXPECT_TRUE(keys.authenticate(real->key).ok());
}

TEST_F(ApiKeysTest, AKeyCreatedOnAnotherNodeJoinsTheDirectoryWithTheNextPoll) {
  ApiKeys here(*store_, 60s);
  MySqlStore other_store(db_->options());
  ApiKeys there(other_store, 60s);
  here.watch(100ms);
  ASSERT_TRUE(here.has_directory());

  // Spend this node's budget with made-up ids.
  for (int i = 0; i < 10 * ApiKeys::kLookupsPerSecond; ++i) (void)here.authenticate_cached(made_up(i));
  auto created = there.create("clinic-b", "app");
  ASSERT_TRUE(created.ok());
  // Within a poll it is in the directory, and so checked without the budget.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  Result<Principal> r = Error::not_found("not yet");
  while (std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 10 * ApiKeys::kLookupsPerSecond; ++i) (void)here.authenticate_cached(made_up(100000 + i));
    r = here.authenticate(created->key);
    if (r.ok()) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->tenant_id, other_tenant_);

  // Revoked there, it is refused here after a poll.
  ASSERT_TRUE(other_store.revoke_api_key(created->key_id).ok());
  const auto revoked_by = std::chrono::steady_clock::now() + 5s;
  while (here.authenticate(created->key).ok() && std::chrono::steady_clock::now() < revoked_by)
    std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(here.authenticate(created->key).ok());
}

TEST_F(ApiKeysTest, WithoutADirectoryEveryUnknownIdIsLookedUp) {
  ApiKeys keys(*store_, 60s);  // never watched: a command-line run
  EXPECT_FALSE(keys.has_directory());
  for (int i = 0; i < 3 * ApiKeys::kLookupsPerSecond; ++i) {
    EXPECT_FALSE(keys.authenticate_cached(made_up(i)).has_value());
    auto r = keys.authenticate(made_up(i));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::not_found);
  }
  EXPECT_EQ(keys.lookups_refused(), 0u);
}

}  // namespace
}  // namespace barid::core
