#include <barid/core/content_cipher.hpp>

#include <barid/core/base64.hpp>
#include <barid/sdk/encoding.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

using barid::core::ContentCipher;
using barid::core::sealed_context;

namespace {

std::string key_line(const std::string& id, char fill) {
  return id + ":" + barid::sdk::base64_encode(std::string(32, fill));
}

ContentCipher cipher(const std::string& text) {
  auto c = ContentCipher::from_text(text);
  EXPECT_TRUE(c) << (c ? "" : c.error().message);
  return std::move(*c);
}

}  // namespace

TEST(ContentCipherTest, ASealedValueOpensWithItsContextAndShowsNothingOfTheText) {
  const auto c = cipher(key_line("k1", 'a'));
  const std::string text = "موعدك في عيادة الطب النفسي غداً at 10:00";
  const std::string ctx = sealed_context("messages", "body", "0190-aaaa");
  const std::string sealed = c.seal(text, ctx);
  EXPECT_EQ(sealed.find("10:00"), std::string::npos);
  auto raw = barid::core::base64_decode(sealed);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->size(), 12 + text.size() + 16);  // nonce, ciphertext, tag
  EXPECT_EQ(raw->find("10:00"), std::string::npos);  // nor in the bytes under the base64
  EXPECT_EQ(raw->find(text.substr(0, 8)), std::string::npos);  // "موعد", the first word
  auto opened = c.open("k1", sealed, ctx);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(*opened, text);
}

TEST(ContentCipherTest, EachSealUsesItsOwnNonce) {
  const auto c = cipher(key_line("k1", 'a'));
  EXPECT_NE(c.seal("same", "ctx"), c.seal("same", "ctx"));
}

TEST(ContentCipherTest, AValueCopiedToAnotherRowOrAlteredDoesNotOpen) {
  const auto c = cipher(key_line("k1", 'a'));
  const std::string sealed = c.seal("your results are ready", sealed_context("messages", "body", "row-1"));
  auto other_row = c.open("k1", sealed, sealed_context("messages", "body", "row-2"));
  ASSERT_FALSE(other_row);
  EXPECT_NE(other_row.error().message.find("copied from another row"), std::string::npos);
  EXPECT_FALSE(c.open("k1", sealed, sealed_context("messages", "template_variables", "row-1")));

  auto raw = *barid::core::base64_decode(sealed);
  raw[14] ^= 1;  // one bit of the ciphertext
  EXPECT_FALSE(c.open("k1", barid::sdk::base64_encode(raw), sealed_context("messages", "body", "row-1")));
  EXPECT_FALSE(c.open("k1", "not base64 !", "x"));
  EXPECT_FALSE(c.open("k1", barid::sdk::base64_encode("short"), "x"));
}

TEST(ContentCipherTest, TheFirstKeySealsAndEveryKeyOpens) {
  const auto old_only = cipher(key_line("k1", 'a'));
  const auto rotated = cipher(key_line("k2", 'b') + "\n# the old key, until rotate-key ends\n" + key_line("k1", 'a'));
  EXPECT_EQ(rotated.sealing_key_id(), "k2");
  const std::string old_value = old_only.seal("hello", "ctx");
  auto opened = rotated.open("k1", old_value, "ctx");
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, "hello");
  // Once the old key is removed, what it sealed does not open, and says why.
  const auto new_only = cipher(key_line("k2", 'b'));
  auto missing = new_only.open("k1", old_value, "ctx");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("'k1'"), std::string::npos);
  // A key with another id but the same bytes is still another key.
  EXPECT_FALSE(new_only.open("k2", old_value, "ctx"));
}

TEST(ContentCipherTest, BadKeyTextIsRefusedWithTheLineAndNeverTheKey) {
  const std::string a = barid::sdk::base64_encode(std::string(32, 'a'));
  const std::string b = barid::sdk::base64_encode(std::string(32, 'b'));
  const std::string z = barid::sdk::base64_encode(std::string(16, 'z'));
  // Each text and what its error names: the wrong line, or that there is no key.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "no key"},
      {"# only a comment\n", "no key"},
      {"k1", "line 1"},
      {"k1:" + z, "line 1"},                 // 16 bytes
      {"bad id!:" + a, "line 1"},            // an id that is not allowed
      {"k1:" + a + "\nk1:" + b, "line 2"},   // an id repeated
      {"k1:" + a + "\n\nk2:???", "line 3"},  // not base64; the blank line counts
  };
  for (const auto& [text, names] : cases) {
    auto c = ContentCipher::from_text(text);
    ASSERT_FALSE(c) << text;
    const std::string& message = c.error().message;
    EXPECT_NE(message.find(names), std::string::npos) << message;
    for (const std::string& key : {a, b, z}) EXPECT_EQ(message.find(key), std::string::npos) << message;
  }
}

TEST(ContentCipherTest, AKeyFileReadableByOthersIsRefused) {
  const auto path = std::filesystem::temp_directory_path() / ("barid-keys-" + std::to_string(::getpid()));
  {
    std::ofstream out(path);
    out << key_line("k1", 'a') << "\n";
  }
  ::chmod(path.c_str(), 0644);
  auto open_to_all = ContentCipher::from_file(path.string());
  ASSERT_FALSE(open_to_all);
  EXPECT_NE(open_to_all.error().message.find("chmod 600"), std::string::npos);
  ::chmod(path.c_str(), 0600);
  auto ok = ContentCipher::from_file(path.string());
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->sealing_key_id(), "k1");
  std::filesystem::remove(path);
  EXPECT_FALSE(ContentCipher::from_file(path.string()));
}

TEST(ContentCipherTest, TheIndexKeyHashesNumbersAndNeverSeals) {
  const auto c = cipher(key_line("index", 'i') + "\n" + key_line("k1", 'a'));
  EXPECT_EQ(c.sealing_key_id(), "k1");
  EXPECT_EQ(c.key_ids(), std::vector<std::string>{"k1"});
  ASSERT_TRUE(c.has_index_key());
  const std::string h = c.number_index("+966501234567");
  EXPECT_EQ(h.size(), 23u);
  EXPECT_EQ(h[0], '#');
  EXPECT_EQ(h.find_first_of("+/="), std::string::npos);
  EXPECT_EQ(h, c.number_index("+966501234567"));  // looked up by equality
  EXPECT_NE(h, c.number_index("+966501234568"));
  // Another index key, another hash: without the key a number cannot be
  // confirmed from its hash.
  EXPECT_NE(h, cipher(key_line("index", 'j') + "\n" + key_line("k1", 'a')).number_index("+966501234567"));
  EXPECT_EQ(c.keyed_hash("request").size(), 32u);
  EXPECT_FALSE(ContentCipher::from_text(key_line("index", 'i')));  // a sealing key is still needed
  EXPECT_FALSE(ContentCipher::from_text(key_line("index", 'i') + "\n" + key_line("index", 'j') + "\n" +
                                        key_line("k1", 'a')));
  EXPECT_FALSE(cipher(key_line("k1", 'a')).has_index_key());
}
