#pragma once
// The configuration keys a plugin publishes (its descriptor), as Markdown:
// what `barid-gateway describe-plugins` prints and docs/providers.md carries.

#include <barid/sdk/plugin.hpp>

#include <string>

namespace barid::gateway {

// One block per plugin, between marker lines that name it, e.g.
//   <!-- generated: config keys of mock (scripts/docs-providers regenerates) -->
//   | Key | Required or default | Secret | Description |
//   ...
//   <!-- end generated -->
// scripts/docs-providers puts each block in place of the one with the same
// first line in docs/providers.md.
std::string config_keys_markdown(const sdk::PluginDescriptor& plugin);

}  // namespace barid::gateway
