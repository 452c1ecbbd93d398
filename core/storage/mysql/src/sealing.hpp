#pragma once
// Encryption at rest in the MySQL store (privacy.encryption): what is written
// to a sealed column and read back from it, and how phone numbers are kept
// when privacy.encryption.numbers is on (a keyed hash to look them up by, a
// sealed copy to show). These are the only places a sealed column is written
// or read; the cipher is the connection's (DbConnection::cipher()), none when
// the store keeps everything in clear.

#include "connection.hpp"

#include <barid/core/ids.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace barid::core::mysql::sealing {

// What is written to a sealed column of `row`: `plain` sealed when the store
// has a cipher, else `plain` itself. An empty value (an erased body) stays
// empty: there is nothing to hide in it.
std::string seal_column(DbConnection& c, std::string_view table, std::string_view column, const Uuid& row,
                        std::string_view plain);
// What a sealed column holds in clear. `key` is the row's key column (empty:
// stored in clear, `stored` is returned as it is). A value that does not open
// reads as empty, and the first reason is kept in `error`.
std::string open_column(DbConnection& c, const std::string& key, std::string_view table, std::string_view column,
                        const Uuid& row, std::string stored, std::string& error);

// Numbers (privacy.encryption.numbers): a column looked up by number holds
// the number's keyed hash ("#..."), and a sealed copy sits where the number
// must be shown. Rows written before it was turned on hold the number in
// clear until rotate-key converts them, so a lookup matches both forms (an
// opt-out recorded before must still apply after) while any is left, as
// migrate() finds at start.
bool numbers_sealed(DbConnection& c);
// What a column looked up by number holds for `number`: its keyed hash, or
// the number itself when numbers are kept in clear.
std::string number_key(DbConnection& c, const std::string& number);
// Every form a row may hold `number` in: the keyed hash, and the number in
// clear while rows written before privacy.encryption.numbers are left.
std::vector<std::string> number_forms(DbConnection& c, const std::string& number);
// `column` matching `number` in any of its forms, as SQL.
std::string number_match(DbConnection& c, const std::string& column, const std::string& number);
// The sealed copy of a number for `row`, as SQL (NULL when numbers are kept in clear).
std::string sealed_number_sql(DbConnection& c, std::string_view table, std::string_view column, const Uuid& row,
                              const std::string& number);

// The key id a newly sealed row names, as SQL (NULL when stored in clear).
std::string sealing_key_sql(DbConnection& c);

}  // namespace barid::core::mysql::sealing
