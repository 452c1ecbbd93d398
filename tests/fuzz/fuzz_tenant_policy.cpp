// A tenant's rules as the operator's PUT sends them: any JSON is read or
// refused with a field, and what is read round-trips through its JSON.
#include <barid/core/tenant_policy.hpp>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace barid::core;
  auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  auto p = policy_from_json(j);
  if (!p) return 0;
  auto again = policy_from_json(to_json(*p));
  if (!again || to_json(*again) != to_json(*p)) std::abort();
  NewMessage m;
  m.to = "+966501234567";
  m.provider_template = "HX00";
  (void)apply_policy(*p, m);
  return 0;
}
