#include <barid/core/content_cipher.hpp>

#include <barid/core/base64.hpp>
#include <barid/sdk/encoding.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace barid::core {

namespace {

constexpr std::size_t kNonce = 12;
constexpr std::size_t kTag = 16;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

bool valid_key_id(std::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (char ch : id)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
          ch == '_' || ch == '.'))
      return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<ContentCipher> ContentCipher::from_text(std::string_view text) {
  ContentCipher c;
  int line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    const std::string where = "line " + std::to_string(line_no);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos)
      return Error::invalid("encryption key", where + ": expected id:base64-of-32-bytes");
    const std::string_view id = line.substr(0, colon);
    if (!valid_key_id(id))
      return Error::invalid("encryption key", where + ": the id must be 1 to 32 of A-Z a-z 0-9 . _ -");
    if (c.find(id) || (id == "index" && c.has_index_))
      return Error::invalid("encryption key", where + ": the id " + std::string(id) + " is repeated");
    auto bytes = base64_decode(trim(line.substr(colon + 1)));
    if (!bytes || bytes->size() != 32)
      return Error::invalid("encryption key", where + ": the key must be the base64 of exactly 32 bytes");
    if (id == "index") {
      std::copy(bytes->begin(), bytes->end(), c.index_.begin());
      OPENSSL_cleanse(bytes->data(), bytes->size());
      c.has_index_ = true;
      continue;
    }
    Key k;
    k.id = std::string(id);
    std::copy(bytes->begin(), bytes->end(), k.bytes.begin());
    OPENSSL_cleanse(bytes->data(), bytes->size());
    c.keys_.push_back(std::move(k));
  }
  if (c.keys_.empty()) return Error::invalid("encryption key", "no key: expected lines of id:base64-of-32-bytes");
  return c;
}

Result<ContentCipher> ContentCipher::from_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Error::invalid("key_file", path + ": cannot be read");
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    return Error::invalid("key_file", path + ": readable by group or others; chmod 600 it");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::invalid("key_file", path + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  auto c = from_text(s);
  OPENSSL_cleanse(s.data(), s.size());
  if (!c) return Error::invalid("key_file", path + ": " + c.error().message);
  return c;
}

std::vector<std::string> ContentCipher::key_ids() const {
  std::vector<std::string> out;
  for (const auto& k : keys_) out.push_back(k.id);
  return out;
}

const ContentCipher::Key* ContentCipher::find(std::string_view id) const noexcept {
  for (const auto& k : keys_)
    if (k.id == id) return &k;
  return nullptr;
}

bool ContentCipher::has_key(std::string_view id) const noexcept { return find(id) != nullptr; }

std::string ContentCipher::seal(std::string_view plaintext, std::string_view associated) const {
  const Key& k = keys_.front();
  std::string out(kNonce + plaintext.size() + kTag, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  auto* body = nonce + kNonce;
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0;
  int total = 0;
  const bool ok =
      ctx && RAND_bytes(nonce, static_cast<int>(kNonce)) == 1 &&
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, k.bytes.data(), nonce) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(associated.data()),
                        static_cast<int>(associated.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), body, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) == 1 &&
      (total = len, EVP_EncryptFinal_ex(ctx.get(), body + total, &len) == 1) &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTag), body + plaintext.size()) == 1;
  // Nothing may be stored in clear when sealing was asked for: a failure of
  // OpenSSL itself (out of memory, no entropy) stops the caller.
  if (!ok) throw std::runtime_error("AES-256-GCM sealing failed");
  return sdk::base64_encode(out);
}

Result<std::string> ContentCipher::open(std::string_view key_id, std::string_view sealed,
                                        std::string_view associated) const {
  const Key* k = find(key_id);
  if (!k)
    return Error::internal("sealed with key '" + std::string(key_id) +
                           "', which is not among the configured keys (privacy.encryption)");
  auto raw = base64_decode(sealed);
  if (!raw || raw->size() < kNonce + kTag)
    return Error::internal("the stored value is not one sealed by Barid (key '" + std::string(key_id) + "')");
  const auto* nonce = reinterpret_cast<const unsigned char*>(raw->data());
  const std::size_t n = raw->size() - kNonce - kTag;
  const auto* body = nonce + kNonce;
  std::string out(n, '\0');
  std::string tag(raw->data() + kNonce + n, kTag);
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0;
  const bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, k->bytes.data(), nonce) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(associated.data()),
                        static_cast<int>(associated.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, body,
                        static_cast<int>(n)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTag), tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return Error::internal("the stored value does not open with key '" + std::string(key_id) +
                           "': it was altered, or copied from another row");
  }
  return out;
}

std::string ContentCipher::keyed_hash(std::string_view data) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!has_index_ || !HMAC(EVP_sha256(), index_.data(), static_cast<int>(index_.size()),
                           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len))
    throw std::runtime_error("HMAC-SHA256 failed (is there an index key?)");
  return std::string(reinterpret_cast<const char*>(mac), len);
}

std::string ContentCipher::number_index(std::string_view number) const {
  std::string b64 = sdk::base64_encode(keyed_hash(number));
  for (char& ch : b64) {
    if (ch == '+') ch = '-';
    else if (ch == '/') ch = '_';
  }
  return "#" + b64.substr(0, 22);
}

std::string sealed_context(std::string_view table, std::string_view column, std::string_view row_id_hex) {
  std::string s;
  s.reserve(table.size() + column.size() + row_id_hex.size() + 2);
  s.append(table).append("/").append(column).append("/").append(row_id_hex);
  return s;
}

}  // namespace barid::core
