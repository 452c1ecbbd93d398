#pragma once
// Versions of the Barid provider SDK.
//
// The ABI version is what the plugin host checks before it touches anything
// else in a plugin: the major must equal the host's and the plugin's minor must
// be lower than or equal to the host's. It moves independently of the product
// version: bump the minor when the boundary grows in a backward-compatible way
// (a new capability flag, a new optional field at the end of a struct that
// only the host reads), the major when any type that crosses the boundary
// changes layout.
//
// ABI 1.0 is not released yet: until Barid's first release its types may
// still change (as StatusUpdate::retryable, StatusResult::retryable,
// StatusResult::message_unknown, OutboundMessage::validity, CreateResult::unauthenticated_callbacks,
// CreateResult::default_sender and
// InboundMessage::button_payload did)
// without a bump. From the first release on, the rule above holds.

#include <cstdint>

#define BARID_SDK_ABI_MAJOR 1
#define BARID_SDK_ABI_MINOR 0

#define BARID_SDK_VERSION_STRING "1.0.0"

namespace barid::sdk {

struct AbiVersion {
  std::uint16_t major;
  std::uint16_t minor;
};

inline constexpr AbiVersion kAbiVersion{BARID_SDK_ABI_MAJOR, BARID_SDK_ABI_MINOR};

// True when a plugin built against `plugin` may be loaded by a host built
// against `host`.
constexpr bool abi_compatible(AbiVersion host, AbiVersion plugin) noexcept {
  return plugin.major == host.major && plugin.minor <= host.minor;
}

}  // namespace barid::sdk
