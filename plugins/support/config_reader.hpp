#pragma once
// Typed reads of a provider instance's configuration values, with errors that
// name the key.

#include <barid/sdk/plugin.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace barid::plugins::support {

// true/false, yes/no, on/off, 1/0 (case-insensitive).
std::optional<bool> parse_bool(std::string_view value);

class ConfigReader {
 public:
  explicit ConfigReader(const sdk::ProviderConfig& config) : config_(config) {}

  // The value with surrounding blanks removed ("" when absent).
  std::string text(const std::string& key) const;

  // Reads a boolean; on failure sets error() and returns false.
  bool boolean(const std::string& key, bool& out);

  // Reads an http:// or https:// URL without a trailing slash, query or
  // fragment; on failure sets error() and returns false.
  bool base_url(const std::string& key, std::string& out);

  // Fails with a message about `key` (for checks the caller makes itself).
  bool fail(const std::string& key, const std::string& why);

  const std::string& error() const noexcept { return error_; }

 private:
  const sdk::ProviderConfig& config_;
  std::string error_;
};

}  // namespace barid::plugins::support
