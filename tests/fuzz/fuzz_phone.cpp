// E.164 normalisation of whatever a client sends as a phone number: never a
// crash, and what comes out is E.164 with a region.
#include <barid/core/phone.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const barid::core::PhoneNormalizer sa("SA");
  static const barid::core::PhoneNormalizer none;
  const std::string input(reinterpret_cast<const char*>(data), size);
  for (const auto* n : {&sa, &none}) {
    auto e164 = n->to_e164(input, "to");
    if (!e164) continue;
    if (e164->empty() || (*e164)[0] != '+' || e164->size() > 16) std::abort();
    (void)barid::core::PhoneNormalizer::region_of(*e164);
  }
  return 0;
}
