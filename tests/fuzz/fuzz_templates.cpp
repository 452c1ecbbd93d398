// Template bodies and variable values from arbitrary bytes: placeholders
// are found or refused with an error, rendering never crashes.
#include <barid/core/templates.hpp>

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace barid::core;
  std::string input(reinterpret_cast<const char*>(data), size);
  // body \0 value \0 value ...
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= input.size(); ++i)
    if (i == input.size() || input[i] == '\0') {
      parts.push_back(input.substr(start, i - start));
      start = i + 1;
    }
  auto vars = template_variables(parts[0]);
  if (!vars) return 0;
  Template t;
  t.code = "fuzz";
  t.channels = {barid::sdk::Channel::sms};
  t.translations["en"].body = parts[0];
  (void)validate_template(t);
  std::map<std::string, std::string> values;
  for (std::size_t i = 0; i < vars->size(); ++i) values[(*vars)[i]] = i + 1 < parts.size() ? parts[i + 1] : "";
  (void)render_template(t, {"en"}, values);
  (void)preflight(t, std::nullopt);
  return 0;
}
