#pragma once
// The one entry macro of a provider plugin. Include this header in exactly one
// source file of the plugin.
//
// This is the only SDK header that includes anything outside the standard
// library: the export goes through Boost.DLL's BOOST_DLL_ALIAS (header-only),
// which is what the host's loader reads with shared_library::get_alias. The
// BaridSDK CMake package finds the Boost headers for you.
//
//   const barid::sdk::PluginDescriptor& descriptor();
//   barid::sdk::CreateResult create(const barid::sdk::ProviderConfig&,
//                                   barid::sdk::HostContext&);
//   BARID_PROVIDER_PLUGIN(descriptor, create)
//
// The macro also exports the SDK ABI version the plugin was compiled against,
// which the host checks before it reads anything else.

#include <barid/sdk/plugin.hpp>
#include <barid/sdk/version.hpp>

#include <boost/dll/alias.hpp>

namespace barid::sdk::entry {
inline AbiVersion compiled_abi_version() { return kAbiVersion; }
}  // namespace barid::sdk::entry

#define BARID_PROVIDER_PLUGIN(DescriptorFunction, CreateFunction)                        \
  BOOST_DLL_ALIAS(::barid::sdk::entry::compiled_abi_version, barid_plugin_abi)           \
  BOOST_DLL_ALIAS(DescriptorFunction, barid_plugin_descriptor)                           \
  BOOST_DLL_ALIAS(CreateFunction, barid_plugin_create)
