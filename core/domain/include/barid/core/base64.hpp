#pragma once
// base64 decoding, standard and URL-safe alphabets alike, padding optional
// (the encoder is the SDK's sdk::base64_encode).

#include <optional>
#include <string>
#include <string_view>

namespace barid::core {

// The bytes `in` encodes, or nullopt when it is not base64.
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace barid::core
