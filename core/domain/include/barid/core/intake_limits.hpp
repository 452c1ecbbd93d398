#pragma once

#include <chrono>
#include <cstddef>

namespace barid::core {

// Limits of a send's fields that the configuration does not set (those it
// sets are IntakeLimits below, and the bulk size). docs/openapi.json states
// each next to its field; tests/unit/gateway/openapi_limits_test.cpp holds
// the two together.
inline constexpr std::size_t kMaxReferenceBytes = 128;         // reference, recipient_id
inline constexpr std::size_t kMaxCategoryLength = 32;          // category: [a-z0-9_-]
inline constexpr std::size_t kMaxTemplateVariables = 100;      // template.variables
inline constexpr std::size_t kMaxTemplateValueBytes = 2048;    // each of them
inline constexpr std::size_t kMaxProviderTemplateBytes = 128;  // provider_template.id
inline constexpr std::size_t kMaxProviderVariables = 50;       // provider_template.variables
inline constexpr std::size_t kMaxProviderVariableBytes = 1024; // each of them

struct IntakeLimits {
  std::size_t max_sms_characters = 1600;  // Twilio's limit for one message
  std::size_t max_whatsapp_characters = 4096;
  int max_attempts_cap = 10;
  std::chrono::hours max_schedule_ahead{24 * 365};
};

}  // namespace barid::core
