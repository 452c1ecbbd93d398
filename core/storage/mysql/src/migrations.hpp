#pragma once
// Versioned schema migrations, applied at start-up and recorded in
// schema_migrations.

#include <string>
#include <vector>

namespace barid::core::mysql {

struct Migration {
  int version;
  std::string name;
  std::vector<std::string> statements;
};

const std::vector<Migration>& migrations();

}  // namespace barid::core::mysql
