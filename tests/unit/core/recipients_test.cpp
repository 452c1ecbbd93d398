// classify_inbound: which inbound replies opt a recipient out (STOP) or back
// in (START), in English and Arabic, and which are ordinary replies.
#include <barid/core/recipients.hpp>
#include <barid/core/segments.hpp>

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace barid::core {
namespace {

struct Case {
  std::string body;
  InboundKeyword expected;
};

std::string name_of(InboundKeyword k) {
  switch (k) {
    case InboundKeyword::stop: return "stop";
    case InboundKeyword::cancel: return "cancel";
    case InboundKeyword::start: return "start";
    case InboundKeyword::none: return "none";
  }
  return "?";
}

void expect_all(const std::vector<Case>& cases) {
  for (const auto& c : cases)
    EXPECT_EQ(name_of(classify_inbound(c.body)), name_of(c.expected)) << "body: '" << c.body << "'";
}

constexpr auto stop = InboundKeyword::stop;
constexpr auto cancel = InboundKeyword::cancel;
constexpr auto start = InboundKeyword::start;
constexpr auto none = InboundKeyword::none;

TEST(ClassifyInbound, EveryEnglishStopKeyword) {
  expect_all({{"stop", stop}, {"STOPALL", stop}, {"Unsubscribe", stop}, {"OPTOUT", stop}, {"opt out", stop}});
}

// These opt out too, unless they answer the question the sender was asked.
TEST(ClassifyInbound, EveryCancelKeyword) {
  expect_all({{"cancel", cancel}, {"END", cancel}, {"quit", cancel}, {"الغاء", cancel}, {"إلغاء", cancel}});
}

TEST(ClassifyInbound, EveryEnglishStartKeyword) {
  expect_all({{"start", start}, {"UNSTOP", start}, {"Yes", start}});
}

// Written as people type them: hamza on the alif, harakat, tatweel; all
// compare equal to the plain spelling.
TEST(ClassifyInbound, EveryArabicStopKeyword) {
  expect_all({
      {"ايقاف", stop},           // stop
      {"إيقاف", stop},           // with hamza below the alif
      {"إيـــقاف", stop},         // with tatweel
      {"توقف", stop},            // stop
      {"تَوَقَّف", stop},           // with harakat
      {"وقف", stop},             // stop
      {"الغاء الاشتراك", stop},  // unsubscribe
      {"إلغاء  الاشتراك", stop}, // two spaces between the words
  });
}

TEST(ClassifyInbound, EveryArabicStartKeyword) {
  expect_all({
      {"اشتراك", start},         // subscribe
      {"ابدا", start},           // start
      {"ابدأ", start},           // start, with hamza on the alif
      {"بدء", start},            // begin
      {"اعد الاشتراك", start},   // subscribe again
      {"أعد الاشتراك", start},   // with hamza above the alif
  });
}

TEST(ClassifyInbound, CaseSpacesAndPunctuationAroundAKeywordDoNotMatter) {
  expect_all({{"  Stop. ", stop},
              {"STOP!", stop},
              {"\"stop\"", stop},
              {"stop\r\n", stop},
              {"Opt  Out", stop},
              {"start?", start},
              {" ايقاف ", stop},
              {"اشتراك!", start}});
}

TEST(ClassifyInbound, OrdinaryRepliesAreNeither) {
  expect_all({{"", none},
              {"   ", none},
              {"?!", none},
              {"please stop", none},
              {"stop it", none},
              {"stopp", none},
              {"yes please", none},
              {"I will come at 10", none},
              {"starting", none},
              {"شكرا", none},             // thank you
              {"الاشتراك", none},         // "the subscription": not a request
              {"نعم", none},              // yes: not an opt-in keyword
              {"موعدي غدا", none}});
}

TEST(NormaliseReply, ReadsRepliesAsPeopleTypeThem) {
  EXPECT_EQ(normalise_reply("  Cancel! "), "cancel");
  EXPECT_EQ(normalise_reply("CONFIRM."), "confirm");
  EXPECT_EQ(normalise_reply("٢"), "2");               // Arabic-Indic digit
  EXPECT_EQ(normalise_reply("۲"), "2");               // Persian digit
  EXPECT_EQ(normalise_reply("١٢"), "12");
  EXPECT_EQ(normalise_reply("«إلغاء»"), "الغاء");      // guillemets, hamza below
  EXPECT_EQ(normalise_reply("إِلْغَاء"), "الغاء");      // harakat
  EXPECT_EQ(normalise_reply("نـــعم"), "نعم");          // tatweel
  EXPECT_EQ(normalise_reply("نعم؟"), "نعم");           // Arabic question mark
  EXPECT_EQ(normalise_reply("نعم، "), "نعم");          // Arabic comma
  EXPECT_EQ(normalise_reply("yes 👍"), "yes");
  EXPECT_EQ(normalise_reply("\u00a0yes\u2003please\u200f"), "yes please");  // no-break, em and direction marks
  EXPECT_EQ(normalise_reply("see  you\tthen"), "see you then");
  EXPECT_EQ(normalise_reply("?!"), "");
  EXPECT_EQ(normalise_reply(std::string("\xff\xfe" "1")), "\xef\xbf\xbd\xef\xbf\xbd" "1");  // not UTF-8: kept apart
  // Past U+10FFFF, overlong and surrogate forms read as U+FFFD byte by byte;
  // what comes out is valid UTF-8 and reads the same normalised again.
  for (const std::string& bad : {std::string("\xf4\xb4\xb4\xb4" "x"), std::string("\xc0\xaf"),
                                std::string("\xed\xa0\x80"), std::string("\xef\xbf\xbd" "1")}) {
    const std::string once = normalise_reply(bad);
    EXPECT_TRUE(is_valid_utf8(once));
    EXPECT_EQ(normalise_reply(once), once);
  }
  EXPECT_EQ(normalise_reply("\xef\xbf\xbd"), "\xef\xbf\xbd");  // a real U+FFFD stays one
}

TEST(CheckReplies, KeysAreNormalisedAndIntentsChecked) {
  auto r = check_replies({{"1", "confirm"}, {"2", "cancel"}, {"نعم", "confirm"}, {"إلغاء", "cancel"}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (std::map<std::string, std::string>{{"1", "confirm"}, {"2", "cancel"}, {"نعم", "confirm"},
                                                     {"الغاء", "cancel"}}));
  // Two answers that read the same must mean the same.
  EXPECT_TRUE(check_replies({{"Yes", "confirm"}, {"yes!", "confirm"}}).ok());
  auto clash = check_replies({{"Yes", "confirm"}, {"yes!", "cancel"}});
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().field.rfind("replies.", 0), 0u);
  EXPECT_EQ(check_replies({{"?!", "confirm"}}).error().field, "replies.?!");
  EXPECT_EQ(check_replies({{"1", "con firm"}}).error().field, "replies.1");
  EXPECT_EQ(check_replies({{"1", ""}}).error().field, "replies.1");
  EXPECT_EQ(check_replies({{"1", std::string(65, 'x')}}).error().field, "replies.1");
  EXPECT_TRUE(check_replies({{std::string(64, 'y'), "confirm"}}).ok());
  EXPECT_FALSE(check_replies({{std::string(65, 'y'), "confirm"}}).ok());
  std::map<std::string, std::string> many;
  for (int i = 0; i < 21; ++i) many[std::to_string(i)] = "x";
  EXPECT_EQ(check_replies(many).error().field, "replies");
  EXPECT_EQ(check_replies({{"1", "ok"}}, "translations.ar.replies").ok(), true);
  EXPECT_EQ(check_replies({{"", "ok"}}, "translations.ar.replies").error().field, "translations.ar.replies.");
}

}  // namespace
}  // namespace barid::core
