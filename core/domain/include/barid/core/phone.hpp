#pragma once
// Phone numbers to E.164 with libphonenumber. A number without a country
// code is read in the default region (config `messaging.default_region`), so
// 0501234567 with region SA becomes +966501234567.

#include <barid/core/result.hpp>

#include <string>
#include <string_view>

namespace barid::core {

class PhoneNormalizer {
 public:
  // `default_region` is an ISO 3166-1 alpha-2 code ("SA"); empty means every
  // number must carry its country code.
  explicit PhoneNormalizer(std::string default_region = {});

  // The E.164 form of `input`, or an invalid-input error on `field` that says
  // what is wrong with it.
  Result<std::string> to_e164(std::string_view input, std::string_view field = "to") const;

  // True for a region libphonenumber knows.
  static bool is_known_region(std::string_view region);
  // The region ("SA") of a number in E.164; empty when it has none.
  static std::string region_of(std::string_view e164);

  const std::string& default_region() const noexcept { return default_region_; }

 private:
  std::string default_region_;
};

}  // namespace barid::core
