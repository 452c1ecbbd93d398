#include "plugin_tables.hpp"

namespace barid::gateway {

namespace {

// Text for one table cell: a '|' would end the cell, a line break the row;
// in plain text (not code), '<' would open an HTML tag (/webhooks/<instance>).
std::string cell(const std::string& text, bool plain) {
  std::string out;
  for (char c : text) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n' || c == '\r')
      out += ' ';
    else if (plain && c == '<')
      out += "&lt;";
    else if (plain && c == '>')
      out += "&gt;";
    else if (plain && c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

// A value in code style; a backtick inside it needs a longer fence.
std::string code(const std::string& text) {
  if (text.find('`') == std::string::npos) return "`" + cell(text, false) + "`";
  return "`` " + cell(text, false) + " ``";
}

}  // namespace

std::string config_keys_markdown(const sdk::PluginDescriptor& plugin) {
  std::string out = "<!-- generated: config keys of " + plugin.name + " (scripts/docs-providers regenerates) -->\n";
  if (plugin.config_keys.empty()) {
    out += "The plugin takes no configuration keys.\n";
  } else {
    out += "| Key | Required or default | Secret | Description |\n|---|---|---|---|\n";
    for (const auto& k : plugin.config_keys) {
      const std::string presence = k.required ? "required" : k.default_value.empty() ? "—" : code(k.default_value);
      out += "| " + code(k.name) + " | " + presence + " | " + (k.secret ? "secret" : "") + " | " +
             cell(k.description, true) + " |\n";
    }
  }
  out += "<!-- end generated -->\n";
  return out;
}

}  // namespace barid::gateway
