// Recipients in the MySQL store against a real MariaDB: preferences and
// opt-outs found together, as the accept path asks for them per batch.

#include "store_fixture.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace barid::core
