// Segment counting, the UTF-8 helpers and the reading of replies on
// arbitrary bytes: counts stay sane, repaired text is valid UTF-8, cut text
// is too; a normalised reply is valid UTF-8 and reads the same when
// normalised again, and an answer is accepted or refused naming a field.
#include <barid/core/recipients.hpp>
#include <barid/core/segments.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace barid::core;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const bool valid = is_valid_utf8(text);
  const std::string repaired = to_valid_utf8(text);
  if (!is_valid_utf8(repaired)) std::abort();
  if (valid && repaired != text) std::abort();
  for (std::size_t max : {std::size_t(0), std::size_t(1), std::size_t(7), size / 2})
    if (!is_valid_utf8(truncate_utf8(repaired, max)) || truncate_utf8(repaired, max).size() > max) std::abort();
  if (valid && !text.empty()) {
    const SegmentCount c = count_segments(text);
    if (c.segments < 1 || c.characters < 0 || c.units < c.characters) std::abort();
  }
  const std::string reply = normalise_reply(text);
  if (!is_valid_utf8(reply) || normalise_reply(reply) != reply) std::abort();
  (void)classify_inbound(text);
  auto answers = check_replies({{text, "confirm"}});
  if (!answers.ok() && answers.error().field.empty()) std::abort();
  if (answers.ok() && (answers->size() != 1 || answers->begin()->first != reply)) std::abort();
  return 0;
}
