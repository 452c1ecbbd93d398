// classify_inbound: which inbound replies opt a recipient out (STOP) or back
// in (START), in English and Arabic, and which are ordinary replies.
#include <barid/core/recipients.hpp>

#include <gtest/gtest.h>

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
constexpr auto start = InboundKeyword::start;
constexpr auto none = InboundKeyword::none;

TEST(ClassifyInbound, EveryEnglishStopKeyword) {
  expect_all({{"stop", stop},   {"STOPALL", stop}, {"Unsubscribe", stop}, {"cancel", stop},
              {"END", stop},    {"quit", stop},    {"OPTOUT", stop},      {"opt out", stop}});
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
      {"الغاء", stop},           // cancel
      {"إلغاء", stop},           // cancel, usual spelling
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

}  // namespace
}  // namespace barid::core
