#pragma once
// Encryption at rest of what a message says (bodies, template variables,
// inbound bodies): AES-256-GCM through OpenSSL's EVP interface.
//
// Keys come as text, one a line, "id:base64-of-32-bytes" (blank lines and
// lines starting with '#' are skipped). The first key seals; every key
// opens, so a rotation adds a new first line, re-seals (rotate-key) and then
// drops the old line. A sealed value is base64(nonce(12) | ciphertext |
// tag(16)), a fresh random nonce each time; the id of the key that sealed it
// is stored beside it. The associated data binds a value to its row (the
// message id and the column): a value copied to another row or column fails
// its tag and does not open.

#include <barid/core/result.hpp>

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace barid::core {

class ContentCipher {
 public:
  // Parses the key text; the error says which line is wrong (never what it
  // holds).
  static Result<ContentCipher> from_text(std::string_view text);
  // Reads the key file: it must not be readable or writable by group or
  // others (mode 600 or stricter), as ssh insists for its keys.
  static Result<ContentCipher> from_file(const std::string& path);

  const std::string& sealing_key_id() const noexcept { return keys_.front().id; }

  // Numbers (privacy.encryption.numbers): the line "index:<base64 of 32
  // bytes>" is the key of the keyed hash that stands for a phone number in
  // every column looked up by number. It never seals and is not rotated
  // (every stored hash would change).
  bool has_index_key() const noexcept { return has_index_; }
  void set_seal_numbers(bool on) noexcept { seal_numbers_ = on && has_index_; }
  bool seals_numbers() const noexcept { return seal_numbers_; }
  // "#" and 22 base64url characters (132 bits) of HMAC-SHA256(index key,
  // number): what a number is stored and looked up as.
  std::string number_index(std::string_view number) const;
  // HMAC-SHA256(index key, data), 32 raw bytes (idempotency request hashes).
  std::string keyed_hash(std::string_view data) const;
  std::vector<std::string> key_ids() const;
  bool has_key(std::string_view id) const noexcept;

  std::string seal(std::string_view plaintext, std::string_view associated) const;
  // The plaintext, or an error naming the key and what went wrong: a key
  // that is not configured, a value that is not one this cipher wrote, a tag
  // that does not match (altered, or copied from another row).
  Result<std::string> open(std::string_view key_id, std::string_view sealed, std::string_view associated) const;

 private:
  struct Key {
    std::string id;
    std::array<unsigned char, 32> bytes{};
  };
  const Key* find(std::string_view id) const noexcept;
  std::vector<Key> keys_;
  std::array<unsigned char, 32> index_{};
  bool has_index_ = false;
  bool seal_numbers_ = false;
};

// The associated data of one sealed column of one row: "<table>/<column>/<row id hex>".
std::string sealed_context(std::string_view table, std::string_view column, std::string_view row_id_hex);

}  // namespace barid::core
