#include <barid/core/templates.hpp>

#include <gtest/gtest.h>

namespace barid::core {
namespace {

Template reminder() {
  Template t;
  t.code = "appointment-reminder";
  t.channels = {sdk::Channel::sms, sdk::Channel::whatsapp};
  t.translations["en"].body = "Hello {{name}}, your appointment is on {{date}} at {{time}}.";
  t.translations["ar"].body = "مرحبا {{name}}، موعدك يوم {{date}} الساعة {{time}}.";
  t.translations["ar"].provider_template = "HXb5b62575e6e4ff6129ad7c8efe1f983e";
  t.translations["ar"].provider_variables = {"date", "name"};
  return t;
}

const std::map<std::string, std::string> kVars{{"name", "Sara"}, {"date", "2 May"}, {"time", "10:00"}};

TEST(RenderTemplate, FillsTheFirstLanguageOfThePreferenceThatExists) {
  auto r = render_template(reminder(), {"fr", "", "ar", "en"}, kVars);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->language, "ar");
  EXPECT_EQ(r->body, "مرحبا Sara، موعدك يوم 2 May الساعة 10:00.");
  EXPECT_EQ(r->provider_template, "HXb5b62575e6e4ff6129ad7c8efe1f983e");
  EXPECT_EQ(r->provider_variables, (std::vector<std::string>{"2 May", "Sara"}));

  auto en = render_template(reminder(), {"de", "en"}, kVars);
  ASSERT_TRUE(en);
  EXPECT_EQ(en->language, "en");
  EXPECT_EQ(en->body, "Hello Sara, your appointment is on 2 May at 10:00.");
  EXPECT_TRUE(en->provider_template.empty());
}

TEST(RenderTemplate, NoLanguageOfThePreferenceIsAnErrorListingWhatThereIs) {
  auto r = render_template(reminder(), {"fr", "de"}, kVars);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "template.language");
  EXPECT_NE(r.error().message.find("fr, de"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("ar, en"), std::string::npos) << r.error().message;
}

TEST(RenderTemplate, AMissingVariableIsNamed) {
  auto r = render_template(reminder(), {"en"}, {{"name", "Sara"}, {"date", "2 May"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "template.variables.time");
}

TEST(RenderTemplate, AVariableNoTranslationUsesIsNamed) {
  auto vars = kVars;
  vars["nmae"] = "Sara";
  auto r = render_template(reminder(), {"en"}, vars);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "template.variables.nmae");
  EXPECT_NE(r.error().message.find("it has date, name, time"), std::string::npos) << r.error().message;
  // One that only another translation uses is fine.
  Template t = reminder();
  t.translations["ar"].provider_variables.push_back("clinic");
  vars = kVars;
  vars["clinic"] = "North";
  EXPECT_TRUE(render_template(t, {"en"}, vars));
}

TEST(RenderTemplate, AVariableOnlyTheProviderTemplateUsesIsRequiredToo) {
  Template t = reminder();
  t.translations["ar"].provider_variables.push_back("clinic");
  auto r = render_template(t, {"ar"}, kVars);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "template.variables.clinic");
}

TEST(RenderTemplate, ValuesAreInsertedAsTheyAreNotScannedAgain) {
  auto r = render_template(reminder(), {"en"}, {{"name", "{{time}}"}, {"date", "x"}, {"time", "y"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "Hello {{time}}, your appointment is on x at y.");
}

TEST(Preflight, CountsTheFixedTextWithoutThePlaceholders) {
  auto p = preflight(reminder(), sdk::Money{7500, "USD"});
  ASSERT_EQ(p.size(), 2u);
  const Preflight& ar = p[0];
  const Preflight& en = p[1];
  ASSERT_EQ(en.language, "en");
  EXPECT_EQ(en.count.encoding, Encoding::gsm7);
  // "Hello , your appointment is on  at ." — the braces ({ and } are GSM-7
  // extension characters, two units each) are not counted.
  EXPECT_EQ(en.count.characters, 36);
  EXPECT_EQ(en.count.units, 36);
  EXPECT_EQ(en.count.segments, 1);
  EXPECT_EQ(en.variables, (std::vector<std::string>{"name", "date", "time"}));
  ASSERT_TRUE(en.estimated_cost);
  EXPECT_EQ(en.estimated_cost->micros, 7500);
  EXPECT_EQ(en.estimated_cost->currency, "USD");

  ASSERT_EQ(ar.language, "ar");
  EXPECT_EQ(ar.count.encoding, Encoding::ucs2);
  EXPECT_EQ(ar.count.characters, 27);  // "مرحبا ، موعدك يوم  الساعة ."
  EXPECT_EQ(ar.count.segments, 1);
}

TEST(Preflight, ALongArabicTextIsPricedPerSegment) {
  Template t;
  t.code = "results-ready";
  t.channels = {sdk::Channel::sms};
  std::string body;
  for (int i = 0; i < 15; ++i) body += "نتائجك جاهزة ";  // 13 characters each: 195 UCS-2 units
  t.translations["ar"].body = body + "{{clinic}}";
  auto p = preflight(t, sdk::Money{50000, "SAR"});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].count.encoding, Encoding::ucs2);
  EXPECT_EQ(p[0].count.units, 195);
  EXPECT_EQ(p[0].count.segments, 3);  // 67 units a segment when concatenated
  ASSERT_TRUE(p[0].estimated_cost);
  EXPECT_EQ(p[0].estimated_cost->micros, 150000);
  EXPECT_FALSE(preflight(t, std::nullopt)[0].estimated_cost);
}

TEST(ValidateTemplate, NamesTheOffendingField) {
  Template t = reminder();
  t.translations["en"].body = "Hello {{na me}}";
  auto st = validate_template(t);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().field, "translations.en.body");

  t = reminder();
  t.translations["english"].body = "x";
  st = validate_template(t);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().field, "translations.english");

  t = reminder();
  t.translations["en"].provider_variables = {"name"};
  st = validate_template(t);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().field, "translations.en.provider_variables");

  EXPECT_TRUE(validate_template(reminder()));
}

}  // namespace
}  // namespace barid::core
