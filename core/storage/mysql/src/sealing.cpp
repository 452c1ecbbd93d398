// Encryption at rest in the MySQL store (see sealing.hpp).

#include "sealing.hpp"

#include <barid/core/content_cipher.hpp>

#include <utility>

namespace barid::core::mysql::sealing {

std::string seal_column(DbConnection& c, std::string_view table, std::string_view column, const Uuid& row,
                        std::string_view plain) {
  const ContentCipher* cipher = c.cipher();
  if (!cipher || plain.empty()) return std::string(plain);
  return cipher->seal(plain, sealed_context(table, column, row.str()));
}

std::string open_column(DbConnection& c, const std::string& key, std::string_view table, std::string_view column,
                        const Uuid& row, std::string stored, std::string& error) {
  if (key.empty() || stored.empty()) return stored;
  const ContentCipher* cipher = c.cipher();
  if (!cipher) {
    if (error.empty())
      error = "sealed with key '" + key + "', but no encryption key is configured (privacy.encryption)";
    return {};
  }
  auto plain = cipher->open(key, stored, sealed_context(table, column, row.str()));
  if (!plain) {
    if (error.empty()) error = std::string(column) + ": " + plain.error().message;
    return {};
  }
  return std::move(*plain);
}

bool numbers_sealed(DbConnection& c) { return c.cipher() && c.cipher()->seals_numbers(); }

std::string number_key(DbConnection& c, const std::string& number) {
  return numbers_sealed(c) && !number.empty() ? c.cipher()->number_index(number) : number;
}

std::vector<std::string> number_forms(DbConnection& c, const std::string& number) {
  if (!numbers_sealed(c) || number.empty()) return {number};
  if (!c.numbers_in_clear()) return {c.cipher()->number_index(number)};
  return {c.cipher()->number_index(number), number};
}

std::string number_match(DbConnection& c, const std::string& column, const std::string& number) {
  if (!numbers_sealed(c)) return column + " = " + c.quote(number);
  if (!c.numbers_in_clear()) return column + " = " + c.quote(number_key(c, number));
  return column + " IN (" + c.quote(number_key(c, number)) + "," + c.quote(number) + ")";
}

std::string sealed_number_sql(DbConnection& c, std::string_view table, std::string_view column, const Uuid& row,
                              const std::string& number) {
  if (!numbers_sealed(c) || number.empty()) return "NULL";
  return c.quote(seal_column(c, table, column, row, number));
}

std::string sealing_key_sql(DbConnection& c) {
  return c.cipher() ? "'" + c.cipher()->sealing_key_id() + "'" : std::string("NULL");
}

}  // namespace barid::core::mysql::sealing
