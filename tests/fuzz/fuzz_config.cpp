// The configuration loader on arbitrary YAML: read or refused with a
// message naming the key, never a crash.
#include "config.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "BARID_DB_PASSWORD") return std::string("pw");
    return std::nullopt;
  };
  (void)barid::gateway::parse_config(yaml, "/nonexistent", env);
  return 0;
}
