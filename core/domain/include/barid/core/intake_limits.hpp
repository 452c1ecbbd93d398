#pragma once

#include <chrono>
#include <cstddef>

namespace barid::core {

struct IntakeLimits {
  std::size_t max_sms_characters = 1600;  // Twilio's limit for one message
  std::size_t max_whatsapp_characters = 4096;
  int max_attempts_cap = 10;
  std::chrono::hours max_schedule_ahead{24 * 365};
};

}  // namespace barid::core
