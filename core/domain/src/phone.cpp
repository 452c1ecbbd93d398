#include <barid/core/phone.hpp>

#include <phonenumbers/phonenumberutil.h>

#include <set>

namespace barid::core {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

PhoneNormalizer::PhoneNormalizer(std::string default_region) : default_region_(std::move(default_region)) {}

bool PhoneNormalizer::is_known_region(std::string_view region) {
  std::set<std::string> regions;
  PhoneNumberUtil::GetInstance()->GetSupportedRegions(&regions);
  return regions.count(std::string(region)) > 0;
}

std::string PhoneNormalizer::region_of(std::string_view e164) {
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  i18n::phonenumbers::PhoneNumber number;
  if (util->Parse(std::string(e164), "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR) return {};
  std::string region;
  util->GetRegionCodeForNumber(number, &region);
  return region == "ZZ" ? std::string() : region;
}

Result<std::string> PhoneNormalizer::to_e164(std::string_view input, std::string_view field) const {
  const std::string f(field);
  if (input.empty()) return Error::invalid(f, "a phone number is required");
  if (input.size() > 64) return Error::invalid(f, "a phone number has at most 64 characters");
  // libphonenumber would dial letters as a vanity number and drop an
  // extension; for a patient's mobile both are more likely a typo. (A tel:
  // URI prefix is fine.)
  std::string_view digits = input;
  if (digits.size() > 4 && (digits.substr(0, 4) == "tel:" || digits.substr(0, 4) == "TEL:")) digits.remove_prefix(4);
  for (char c : digits)
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
      return Error::invalid(f, "a phone number has digits only (and + ( ) - . spaces), no letters");

  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  // "ZZ" is libphonenumber's unknown region: the number must then start with +.
  const std::string region = default_region_.empty() ? "ZZ" : default_region_;
  auto rc = util->Parse(std::string(input), region, &number);
  switch (rc) {
    case PhoneNumberUtil::NO_PARSING_ERROR:
      break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      return Error::invalid(f, default_region_.empty()
                                   ? "the number has no valid country code (use +<country code>...)"
                                   : "the number has no valid country code");
    case PhoneNumberUtil::TOO_SHORT_NSN:
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
      return Error::invalid(f, "the number is too short");
    case PhoneNumberUtil::TOO_LONG_NSN:
      return Error::invalid(f, "the number is too long");
    default:
      return Error::invalid(f, "not a phone number");
  }
  if (!util->IsValidNumber(number)) {
    return Error::invalid(f, "not a valid phone number for its country");
  }
  std::string out;
  util->Format(number, PhoneNumberUtil::E164, &out);
  // libphonenumber calls some long German numbers valid; E.164 itself has
  // at most 15 digits, and providers refuse longer ones.
  if (out.size() > 16) return Error::invalid(f, "the number is too long (E.164 has at most 15 digits)");
  return out;
}

}  // namespace barid::core
