// The Markdown table of a plugin's configuration keys (describe-plugins,
// docs/providers.md).

#include "plugin_tables.hpp"

#include <gtest/gtest.h>

namespace barid::gateway {
namespace {

TEST(PluginTables, OneRowAKeyBetweenMarkersThatNameThePlugin) {
  sdk::PluginDescriptor d;
  d.name = "acme-sms";
  d.config_keys = {
      {"api_key", true, true, "", "the account's API key"},
      {"sender", false, false, "ACME", "the sender when a message names none"},
      {"region", false, false, "", "eu|us, or empty\nfor the account's"},
      {"callback", false, false, "<none>", "posts to /webhooks/<instance>/status & more"},
      {"quote", false, false, "a`b", "a default with a backtick"},
  };
  EXPECT_EQ(config_keys_markdown(d),
            "<!-- generated: config keys of acme-sms (scripts/docs-providers regenerates) -->\n"
            "| Key | Required or default | Secret | Description |\n"
            "|---|---|---|---|\n"
            "| `api_key` | required | secret | the account's API key |\n"
            "| `sender` | `ACME` |  | the sender when a message names none |\n"
            "| `region` | — |  | eu\\|us, or empty for the account's |\n"
            "| `callback` | `<none>` |  | posts to /webhooks/&lt;instance&gt;/status &amp; more |\n"
            "| `quote` | `` a`b `` |  | a default with a backtick |\n"
            "<!-- end generated -->\n");
}

TEST(PluginTables, APluginWithoutKeysSaysSo) {
  sdk::PluginDescriptor d;
  d.name = "plain";
  EXPECT_EQ(config_keys_markdown(d),
            "<!-- generated: config keys of plain (scripts/docs-providers regenerates) -->\n"
            "The plugin takes no configuration keys.\n"
            "<!-- end generated -->\n");
}

}  // namespace
}  // namespace barid::gateway
