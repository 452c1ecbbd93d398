#pragma once
// Everything a provider plugin needs, but the entry macro
// (<barid/sdk/plugin_entry.hpp>).

#include <barid/sdk/encoding.hpp>
#include <barid/sdk/http.hpp>
#include <barid/sdk/plugin.hpp>
#include <barid/sdk/provider.hpp>
#include <barid/sdk/types.hpp>
#include <barid/sdk/version.hpp>
