#include <barid/core/recipients.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace barid::core {

std::string RecipientPreferences::key() const {
  return recipient_id.empty() ? recipient_key_for_phone(phone) : recipient_key_for_id(recipient_id);
}

std::optional<std::string> suppression_reason(const NewMessage& m,
                                              const std::vector<const RecipientPreferences*>& preferences,
                                              const std::vector<OptOut>& opt_outs) {
  const std::string channel(sdk::to_string(m.channel));
  for (const auto& o : opt_outs) {
    if (o.phone != m.to) continue;
    if (o.tenant_id != 0 && o.tenant_id != m.tenant_id) continue;
    if (o.channel != "*" && o.channel != channel) continue;
    return "the recipient opted out of " + (o.channel == "*" ? std::string("all channels") : o.channel) + " (" +
           o.source + ")";
  }
  for (const RecipientPreferences* p : preferences) {
    if (!p) continue;
    const std::string who = p->recipient_id.empty() ? "the recipient" : "recipient " + p->recipient_id;
    if (p->opted_out) return who + " opted out of all messages";
    if (!p->channels.empty() && !p->channels.count(m.channel))
      return who + " does not accept " + channel + " messages";
    if (!m.category.empty() && p->blocked_categories.count(m.category))
      return who + " turned off '" + m.category + "' messages";
  }
  return std::nullopt;
}

namespace {

// Lower-cases ASCII, drops Arabic diacritics (harakat) and the tatweel, folds
// the alef variants (أ إ آ) into ا, and trims spaces and punctuation, so that
// "Stop!", " STOP " and "إيقاف" match their keyword.
std::string normalise(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(std::tolower(c)));
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0 && i + 1 < in.size()) {
      const char32_t cp = ((c & 0x1F) << 6) | (static_cast<unsigned char>(in[i + 1]) & 0x3F);
      i += 2;
      if ((cp >= 0x064B && cp <= 0x065F) || cp == 0x0670 || cp == 0x0640) continue;  // harakat, tatweel
      if (cp == 0x0623 || cp == 0x0625 || cp == 0x0622) {                           // أ إ آ -> ا
        out += "ا";
        continue;
      }
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      continue;
    }
    out.push_back(static_cast<char>(c));
    ++i;
  }
  auto is_trim = [](char ch) {
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '.' || ch == '!' || ch == ',' ||
           ch == '?' || ch == '"' || ch == '\'';
  };
  while (!out.empty() && is_trim(out.back())) out.pop_back();
  std::size_t start = 0;
  while (start < out.size() && is_trim(out[start])) ++start;
  out = out.substr(start);
  // Collapse inner runs of spaces.
  std::string collapsed;
  for (char ch : out) {
    if (ch == ' ' && !collapsed.empty() && collapsed.back() == ' ') continue;
    collapsed.push_back(ch);
  }
  return collapsed;
}

}  // namespace

InboundKeyword classify_inbound(std::string_view body) {
  // The English keywords are the ones carriers and Twilio honour. The Arabic
  // ones, compared after normalise() (so إيقاف and ايقاف are one word):
  // stop = ايقاف / توقف / وقف ("stop"), الغاء ("cancel"), الغاء الاشتراك
  // ("unsubscribe"); start = اشتراك ("subscribe"), ابدا ("start"), بدء
  // ("begin"), اعد الاشتراك ("subscribe again").
  static const std::array<std::string_view, 13> stop = {
      "stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "opt out",
      "ايقاف", "توقف", "وقف", "الغاء", "الغاء الاشتراك"};
  static const std::array<std::string_view, 7> start = {"start", "unstop", "yes", "اشتراك",
                                                        "ابدا", "بدء", "اعد الاشتراك"};
  const std::string n = normalise(body);
  if (n.empty()) return InboundKeyword::none;
  if (std::find(stop.begin(), stop.end(), n) != stop.end()) return InboundKeyword::stop;
  if (std::find(start.begin(), start.end(), n) != start.end()) return InboundKeyword::start;
  return InboundKeyword::none;
}

}  // namespace barid::core
