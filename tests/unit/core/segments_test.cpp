// SMS segment counting. The vectors of provider-apis.md E.2 were computed with
// Twilio's sms-segments-calculator; the rest follow the rules of E.1.
#include <barid/core/segments.hpp>

#include <gtest/gtest.h>

#include <string>

namespace barid::core {
namespace {

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

const std::string kEuro = "\xE2\x82\xAC";         // € U+20AC, GSM extension
const std::string kBeh = "\xD8\xA8";              // ب U+0628
const std::string kFatha = "\xD9\x8E";            // U+064E ARABIC FATHA (a haraka)
const std::string kShadda = "\xD9\x91";           // U+0651 ARABIC SHADDA
const std::string kGrin = "\xF0\x9F\x98\x80";     // 😀 U+1F600, a surrogate pair
const std::string kThumbsUp = "\xF0\x9F\x91\x8D"; // 👍 U+1F44D
const std::string kEAcute = "\xC3\xA9";           // é U+00E9, GSM basic
const std::string kCCedilla = "\xC3\xA7";         // ç U+00E7, not GSM
// 👨‍👩‍👧: man, ZWJ, woman, ZWJ, girl = 2+1+2+1+2 = 8 UTF-16 units.
const std::string kFamily = "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7";

struct Vector {
  const char* name;
  std::string text;
  Encoding encoding;
  int segments;
  int units;
};

class ReferenceVectors : public ::testing::TestWithParam<Vector> {};

TEST_P(ReferenceVectors, MatchTwilioCalculator) {
  const Vector& v = GetParam();
  const SegmentCount c = count_segments(v.text);
  EXPECT_EQ(c.encoding, v.encoding) << v.name;
  EXPECT_EQ(c.segments, v.segments) << v.name;
  EXPECT_EQ(c.units, v.units) << v.name;
}

// provider-apis.md E.2, every row.
INSTANTIATE_TEST_SUITE_P(
    ProviderApisE2, ReferenceVectors,
    ::testing::Values(
        Vector{"a_160", repeat("a", 160), Encoding::gsm7, 1, 160},
        Vector{"a_161", repeat("a", 161), Encoding::gsm7, 2, 161},
        Vector{"a_306", repeat("a", 306), Encoding::gsm7, 2, 306},
        Vector{"a_307", repeat("a", 307), Encoding::gsm7, 3, 307},
        Vector{"euro_80", repeat(kEuro, 80), Encoding::gsm7, 1, 160},
        Vector{"euro_81", repeat(kEuro, 81), Encoding::gsm7, 2, 162},
        Vector{"a_159_euro", repeat("a", 159) + kEuro, Encoding::gsm7, 2, 161},
        Vector{"a_152_euro_a_10", repeat("a", 152) + kEuro + repeat("a", 10), Encoding::gsm7, 2, 164},
        Vector{"e_acute_70", repeat(kEAcute, 70), Encoding::gsm7, 1, 70},
        Vector{"c_cedilla_70", repeat(kCCedilla, 70), Encoding::ucs2, 1, 70},
        Vector{"beh_70", repeat(kBeh, 70), Encoding::ucs2, 1, 70},
        Vector{"beh_71", repeat(kBeh, 71), Encoding::ucs2, 2, 71},
        Vector{"beh_134", repeat(kBeh, 134), Encoding::ucs2, 2, 134},
        Vector{"beh_135", repeat(kBeh, 135), Encoding::ucs2, 3, 135},
        Vector{"grin_35", repeat(kGrin, 35), Encoding::ucs2, 1, 70},
        Vector{"grin_36", repeat(kGrin, 36), Encoding::ucs2, 2, 72},
        Vector{"grin_a_68", kGrin + repeat("a", 68), Encoding::ucs2, 1, 70},
        Vector{"grin_a_69", kGrin + repeat("a", 69), Encoding::ucs2, 2, 71},
        Vector{"beh_66_grin_beh_10", repeat(kBeh, 66) + kGrin + repeat(kBeh, 10), Encoding::ucs2, 2, 78},
        Vector{"backtick", "`", Encoding::ucs2, 1, 1},
        Vector{"hello_thumbs_up", "Hello! " + kThumbsUp, Encoding::ucs2, 1, 9}),
    [](const ::testing::TestParamInfo<Vector>& info) { return std::string(info.param.name); });

TEST(Segments, CountsCodePointsAsCharacters) {
  EXPECT_EQ(count_segments(repeat("a", 161)).characters, 161);
  EXPECT_EQ(count_segments(repeat(kEuro, 81)).characters, 81);
  EXPECT_EQ(count_segments(repeat(kGrin, 36)).characters, 36);
  EXPECT_EQ(count_segments("Hello! " + kThumbsUp).characters, 8);
}

TEST(Segments, EmptyTextIsOneGsmSegment) {
  const auto c = count_segments("");
  EXPECT_EQ(c.encoding, Encoding::gsm7);
  EXPECT_EQ(c.segments, 1);
  EXPECT_EQ(c.units, 0);
  EXPECT_EQ(c.characters, 0);
}

TEST(Segments, SingleSegmentBoundaryWithExtensionCharacter) {
  // 158 + 2 septets fit one message; 159 + 2 do not.
  EXPECT_EQ(count_segments(repeat("a", 158) + kEuro).segments, 1);
  EXPECT_EQ(count_segments(repeat("a", 159) + kEuro).segments, 2);
}

// Each character of the GSM 03.38 extension table is sent as ESC + code:
// two septets, still GSM-7.
TEST(Segments, EveryExtensionCharacterCountsTwoSeptets) {
  const std::string extension[] = {"\f", "^", "{", "}", "\\", "[", "~", "]", "|", kEuro};
  for (const auto& ch : extension) {
    SCOPED_TRACE("character: " + ch);
    const auto one = count_segments(ch);
    EXPECT_EQ(one.encoding, Encoding::gsm7);
    EXPECT_EQ(one.units, 2);
    EXPECT_EQ(one.characters, 1);
    EXPECT_EQ(count_segments(repeat(ch, 80)).segments, 1);
    EXPECT_EQ(count_segments(repeat(ch, 81)).segments, 2);
    // 153 septets per concatenated segment: 76 escapes (152 septets) and
    // the 77th does not fit in the one septet left, so it moves on.
    EXPECT_EQ(count_segments(repeat(ch, 153)).segments, 3);
  }
}

TEST(Segments, ExtensionCharacterIsNeverSplitAcrossSegments) {
  // 306 septets would fill exactly two segments if the escape pair could be
  // split; it cannot, so segment 1 holds 152, segment 2 153, segment 3 one.
  const auto c = count_segments(repeat("a", 152) + kEuro + repeat("a", 152));
  EXPECT_EQ(c.encoding, Encoding::gsm7);
  EXPECT_EQ(c.units, 306);
  EXPECT_EQ(c.segments, 3);
  // Shifted by one character the pair sits inside segment 1 and 306 fits two.
  EXPECT_EQ(count_segments(repeat("a", 151) + kEuro + repeat("a", 153)).segments, 2);
}

TEST(Segments, GsmBasicTableCharactersStayGsm7) {
  const std::string basic =
      "@$_!\"#%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz "
      "\xC2\xA1\xC2\xA3\xC2\xA4\xC2\xA5\xC2\xA7\xC2\xBF"                  // ¡ £ ¤ ¥ § ¿
      "\xC3\x84\xC3\x85\xC3\x86\xC3\x87\xC3\x89\xC3\x91\xC3\x96\xC3\x98"  // Ä Å Æ Ç É Ñ Ö Ø
      "\xC3\x9C\xC3\x9F\xC3\xA0\xC3\xA4\xC3\xA5\xC3\xA6\xC3\xA8\xC3\xA9"  // Ü ß à ä å æ è é
      "\xC3\xAC\xC3\xB1\xC3\xB2\xC3\xB6\xC3\xB8\xC3\xB9\xC3\xBC"          // ì ñ ò ö ø ù ü
      "\xCE\x93\xCE\x94\xCE\x98\xCE\x9B\xCE\x9E\xCE\xA0\xCE\xA3\xCE\xA6\xCE\xA8\xCE\xA9";  // Greek
  const auto c = count_segments(basic);
  EXPECT_EQ(c.encoding, Encoding::gsm7);
  EXPECT_EQ(c.units, c.characters);  // every one a single septet
}

TEST(Segments, NonGsmCharactersForceUcs2ForTheWholeMessage) {
  for (const std::string& ch : {std::string("`"), kCCedilla, std::string("\t"),
                                std::string("\xC3\xA1") /* á */, std::string("\xE2\x80\x9C") /* “ */,
                                std::string("\xCE\xB1") /* α: lower-case Greek is not GSM */}) {
    SCOPED_TRACE("character: " + ch);
    const auto c = count_segments("Hello " + ch);
    EXPECT_EQ(c.encoding, Encoding::ucs2);
    EXPECT_EQ(c.units, 7);
  }
  // In UCS-2 an extension character is one code unit, not two septets.
  const auto mixed = count_segments(kEuro + "`");
  EXPECT_EQ(mixed.encoding, Encoding::ucs2);
  EXPECT_EQ(mixed.units, 2);
}

TEST(Segments, CarriageReturnAndLineFeedAreGsmBasic) {
  const auto c = count_segments("line one\r\nline two\n");
  EXPECT_EQ(c.encoding, Encoding::gsm7);
  EXPECT_EQ(c.units, 19);
  EXPECT_EQ(count_segments(repeat("\r\n", 80)).segments, 1);
  EXPECT_EQ(count_segments(repeat("\r\n", 80) + "a").segments, 2);
}

TEST(Segments, ArabicHarakatCountAsCodeUnits) {
  // بَ is two code points and two UTF-16 units.
  const auto c = count_segments(kBeh + kFatha);
  EXPECT_EQ(c.encoding, Encoding::ucs2);
  EXPECT_EQ(c.units, 2);
  EXPECT_EQ(c.characters, 2);
  EXPECT_EQ(count_segments(repeat(kBeh + kFatha, 35)).segments, 1);
  EXPECT_EQ(count_segments(repeat(kBeh + kFatha, 36)).segments, 2);
}

TEST(Segments, ArabicHarakatStayWithTheirLetter) {
  // 66 letters, then بَ across the 67-unit boundary, then 66 letters:
  // 134 units fit two segments only if the haraka may be cut from its
  // letter. It may not: 66 | 2 + 65 | 1.
  const auto c = count_segments(repeat(kBeh, 66) + kBeh + kFatha + repeat(kBeh, 66));
  EXPECT_EQ(c.units, 134);
  EXPECT_EQ(c.segments, 3);
  // Two marks on one letter (shadda + fatha) travel together as well.
  const auto two = count_segments(repeat(kBeh, 65) + kBeh + kShadda + kFatha + repeat(kBeh, 66));
  EXPECT_EQ(two.units, 134);
  EXPECT_EQ(two.segments, 3);
  // When the cluster ends exactly at the boundary nothing moves.
  EXPECT_EQ(count_segments(repeat(kBeh, 65) + kBeh + kFatha + repeat(kBeh, 67)).segments, 2);
}

TEST(Segments, SurrogatePairIsNeverSplit) {
  // 66 + 2 + 66 = 134 units: 66 | 2 + 65 | 1.
  const auto c = count_segments(repeat(kBeh, 66) + kGrin + repeat(kBeh, 66));
  EXPECT_EQ(c.units, 134);
  EXPECT_EQ(c.segments, 3);
  EXPECT_EQ(count_segments(repeat(kBeh, 65) + kGrin + repeat(kBeh, 67)).segments, 2);
}

TEST(Segments, ZwjSequenceCountsEveryUnitAndStaysWhole) {
  const auto family = count_segments(kFamily);
  EXPECT_EQ(family.encoding, Encoding::ucs2);
  EXPECT_EQ(family.units, 8);
  EXPECT_EQ(family.characters, 5);
  // 63 + 8 + 63 = 134 units; the sequence straddles unit 67, so it moves.
  const auto c = count_segments(repeat(kBeh, 63) + kFamily + repeat(kBeh, 63));
  EXPECT_EQ(c.units, 134);
  EXPECT_EQ(c.segments, 3);
}

TEST(Segments, InvalidUtf8CountsAsReplacementCharacters) {
  // Each invalid byte becomes U+FFFD, which is not GSM: the message is UCS-2.
  const auto c = count_segments("abc\xFF");
  EXPECT_EQ(c.encoding, Encoding::ucs2);
  EXPECT_EQ(c.characters, 4);
  EXPECT_EQ(c.units, 4);
  // A truncated € (E2 82) is two invalid bytes.
  const auto t = count_segments("a\xE2\x82");
  EXPECT_EQ(t.encoding, Encoding::ucs2);
  EXPECT_EQ(t.characters, 3);
  // An overlong encoding of 'A' (C1 81) is not read as 'A'.
  EXPECT_EQ(count_segments("\xC1\x81").encoding, Encoding::ucs2);
  // Neither is an encoded surrogate (ED A0 80).
  EXPECT_EQ(count_segments("\xED\xA0\x80").encoding, Encoding::ucs2);
}

TEST(Utf8Validation, AcceptsWellFormedText) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8(std::string_view("nul\0inside", 10)));
  EXPECT_TRUE(is_valid_utf8(kEAcute + kBeh + kFatha + kEuro + kGrin + kFamily));
  EXPECT_TRUE(is_valid_utf8("\xEF\xBF\xBD"));          // a literal U+FFFD
  EXPECT_TRUE(is_valid_utf8("\xC2\x80"));              // U+0080, the smallest 2-byte
  EXPECT_TRUE(is_valid_utf8("\xE0\xA0\x80"));          // U+0800, the smallest 3-byte
  EXPECT_TRUE(is_valid_utf8("\xF0\x90\x80\x80"));      // U+10000, the smallest 4-byte
  EXPECT_TRUE(is_valid_utf8("\xED\x9F\xBF"));          // U+D7FF, just below the surrogates
  EXPECT_TRUE(is_valid_utf8("\xEE\x80\x80"));          // U+E000, just above them
  EXPECT_TRUE(is_valid_utf8("\xF4\x8F\xBF\xBF"));      // U+10FFFF, the last code point
}

TEST(Utf8Validation, RejectsOverlongEncodings) {
  EXPECT_FALSE(is_valid_utf8("\xC0\x80"));              // NUL in two bytes
  EXPECT_FALSE(is_valid_utf8("\xC1\xBF"));
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));          // '/' in three bytes
  EXPECT_FALSE(is_valid_utf8("\xE0\x9F\xBF"));
  EXPECT_FALSE(is_valid_utf8("\xF0\x80\x80\xAF"));      // '/' in four bytes
  EXPECT_FALSE(is_valid_utf8("\xF0\x8F\xBF\xBF"));
}

TEST(Utf8Validation, RejectsSurrogatesAndOutOfRange) {
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));          // U+D800
  EXPECT_FALSE(is_valid_utf8("\xED\xBF\xBF"));          // U+DFFF
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\xBD\xED\xB8\x80"));  // a CESU-8 surrogate pair
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));      // U+110000
  EXPECT_FALSE(is_valid_utf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xF8\x88\x80\x80\x80"));  // a 5-byte form
  EXPECT_FALSE(is_valid_utf8("\xFE"));
  EXPECT_FALSE(is_valid_utf8("\xFF"));
}

TEST(Utf8Validation, RejectsTruncatedAndStraySequences) {
  EXPECT_FALSE(is_valid_utf8("\xC3"));                  // lead byte at the end
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));              // € cut short
  EXPECT_FALSE(is_valid_utf8("\xF0\x9F\x98"));          // 😀 cut short
  EXPECT_FALSE(is_valid_utf8("a\xE2\x82z"));            // cut short, then more text
  EXPECT_FALSE(is_valid_utf8("\x80"));                  // a lone continuation byte
  EXPECT_FALSE(is_valid_utf8("ok\xBF"));
  EXPECT_FALSE(is_valid_utf8("\xC3\xC3\xA9"));          // lead byte without its continuation
}

}  // namespace
}  // namespace barid::core
