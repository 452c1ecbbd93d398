#include <barid/core/segments.hpp>

#include <algorithm>
#include <array>
#include <vector>

namespace barid::core {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Decodes one code point at `i` and advances it; invalid sequences yield
// U+FFFD and consume one byte.
char32_t decode_one(std::string_view s, std::size_t& i) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int len = 0;
  char32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    ++i;
    return kReplacement;
  }
  if (i + len > s.size()) {
    ++i;
    return kReplacement;
  }
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return kReplacement;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  const bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
  if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return kReplacement;
  }
  i += len;
  return cp;
}

bool in_gsm_basic(char32_t c) noexcept {
  if (c == '\n' || c == '\r') return true;
  if (c >= 0x20 && c <= 0x7E) {
    switch (c) {
      case '`': case '[': case '\\': case ']': case '^': case '{': case '|': case '}': case '~':
        return false;
      default:
        return true;
    }
  }
  static constexpr std::array<char32_t, 39> extra = {
      0x00A1, 0x00A3, 0x00A4, 0x00A5, 0x00A7, 0x00BF, 0x00C4, 0x00C5, 0x00C6, 0x00C7,
      0x00C9, 0x00D1, 0x00D6, 0x00D8, 0x00DC, 0x00DF, 0x00E0, 0x00E4, 0x00E5, 0x00E6,
      0x00E8, 0x00E9, 0x00EC, 0x00F1, 0x00F2, 0x00F6, 0x00F8, 0x00F9, 0x00FC,
      // Greek capitals
      0x0393, 0x0394, 0x0398, 0x039B, 0x039E, 0x03A0, 0x03A3, 0x03A6, 0x03A8, 0x03A9};
  return std::find(extra.begin(), extra.end(), c) != extra.end();
}

bool in_gsm_extension(char32_t c) noexcept {
  switch (c) {
    case 0x000C: case '^': case '{': case '}': case '\\': case '[': case '~': case ']': case '|':
    case 0x20AC:
      return true;
    default:
      return false;
  }
}

// Code points that attach to the character before them and so travel with
// it into the same segment: combining marks (Latin, Arabic harakat),
// variation selectors, emoji modifiers, the keycap, tags, and whatever
// follows a zero-width joiner.
bool extends_previous(char32_t c) noexcept {
  return (c >= 0x0300 && c <= 0x036F) || (c >= 0x0610 && c <= 0x061A) ||
         (c >= 0x064B && c <= 0x065F) || c == 0x0670 || (c >= 0x06D6 && c <= 0x06DC) ||
         (c >= 0x06DF && c <= 0x06E4) || (c >= 0x06E7 && c <= 0x06E8) ||
         (c >= 0x06EA && c <= 0x06ED) || (c >= 0xFE00 && c <= 0xFE0F) || c == 0x200D ||
         c == 0x20E3 || (c >= 0x1F3FB && c <= 0x1F3FF) || (c >= 0xE0020 && c <= 0xE007F);
}

// Packs clusters of `sizes` units into segments of `per_segment` units.
int pack(const std::vector<int>& sizes, int per_segment) {
  int segments = 1, used = 0;
  for (int s : sizes) {
    if (used + s > per_segment && used > 0) {
      ++segments;
      used = 0;
    }
    used += s;
  }
  return segments;
}

}  // namespace

bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t before = i;
    const char32_t cp = decode_one(text, i);
    if (cp == kReplacement) {
      // A literal U+FFFD is three bytes EF BF BD; anything else was invalid.
      if (i - before != 3) return false;
    }
  }
  return true;
}

SegmentCount count_segments(std::string_view text) {
  std::vector<char32_t> cps;
  cps.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) cps.push_back(decode_one(text, i));

  SegmentCount out;
  out.characters = static_cast<int>(cps.size());
  bool gsm = true;
  for (char32_t c : cps) {
    if (!in_gsm_basic(c) && !in_gsm_extension(c)) {
      gsm = false;
      break;
    }
  }

  // Cluster sizes in units of the chosen encoding.
  std::vector<int> clusters;
  clusters.reserve(cps.size());
  bool joined = false;  // the previous code point was a ZWJ
  for (char32_t c : cps) {
    int units = gsm ? (in_gsm_extension(c) ? 2 : 1) : (c > 0xFFFF ? 2 : 1);
    out.units += units;
    if (!gsm && !clusters.empty() && (joined || extends_previous(c)))
      clusters.back() += units;
    else
      clusters.push_back(units);
    joined = !gsm && c == 0x200D;
  }

  out.encoding = gsm ? Encoding::gsm7 : Encoding::ucs2;
  const int single = gsm ? 160 : 70;
  const int multi = gsm ? 153 : 67;
  out.segments = out.units <= single ? 1 : pack(clusters, multi);
  return out;
}

std::string to_valid_utf8(std::string_view s) {
  if (is_valid_utf8(s)) return std::string(s);
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n > 0 && i + n <= s.size() && is_valid_utf8(s.substr(i, n))) {
      out.append(s, i, n);
      i += n;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

std::string truncate_utf8(std::string s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  s.resize(max_bytes);
  while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
  if (!s.empty() && (static_cast<unsigned char>(s.back()) & 0x80)) s.pop_back();
  return s;
}

}  // namespace barid::core
