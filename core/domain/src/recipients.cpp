#include <barid/core/recipients.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include <barid/core/segments.hpp>

namespace barid::core {

std::string RecipientPreferences::key() const {
  return recipient_id.empty() ? recipient_key_for_phone(phone) : recipient_key_for_id(recipient_id);
}

std::optional<std::string> suppression_reason(const NewMessage& m,
                                              const std::vector<const RecipientPreferences*>& preferences,
                                              const std::vector<OptOut>& opt_outs, bool routed_apart) {
  const std::string channel(sdk::to_string(m.channel));
  for (const auto& o : opt_outs) {
    if (o.phone != m.to) continue;
    if (o.tenant_id != 0 && o.tenant_id != m.tenant_id) continue;
    if (o.tenant_id == 0 && !o.instance.empty() && routed_apart) continue;  // the global route's tenants only
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

constexpr char32_t kBadSequence = 0xFFFFFFFF;

char32_t decode_one(std::string_view in, std::size_t& i) {
  const auto c = static_cast<unsigned char>(in[i]);
  auto cont = [&](std::size_t k) { return i + k < in.size() && (static_cast<unsigned char>(in[i + k]) & 0xC0) == 0x80; };
  if (c < 0x80) {
    ++i;
    return c;
  }
  if ((c & 0xE0) == 0xC0 && cont(1)) {
    const char32_t cp = ((c & 0x1F) << 6) | (static_cast<unsigned char>(in[i + 1]) & 0x3F);
    i += 2;
    return cp;
  }
  if ((c & 0xF0) == 0xE0 && cont(1) && cont(2)) {
    const char32_t cp = ((c & 0x0F) << 12) | ((static_cast<unsigned char>(in[i + 1]) & 0x3F) << 6) |
                        (static_cast<unsigned char>(in[i + 2]) & 0x3F);
    i += 3;
    return cp;
  }
  if ((c & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
    const char32_t cp = ((c & 0x07) << 18) | ((static_cast<unsigned char>(in[i + 1]) & 0x3F) << 12) |
                        ((static_cast<unsigned char>(in[i + 2]) & 0x3F) << 6) |
                        (static_cast<unsigned char>(in[i + 3]) & 0x3F);
    i += 4;
    return cp;
  }
  ++i;
  return kBadSequence;
}

// Decodes one UTF-8 sequence at `i` (advancing it). A byte that starts no
// valid sequence (a stray continuation, an overlong form, a surrogate, past
// U+10FFFF) reads as U+FFFD, which matches no reply.
char32_t next_code_point(std::string_view in, std::size_t& i) {
  const std::size_t at = i;
  const char32_t cp = decode_one(in, i);
  const std::size_t len = i - at;
  const bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
  if (cp == kBadSequence || overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    i = at + 1;
    return 0xFFFD;
  }
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool is_space(char32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == '\v' || cp == '\f' || cp == 0x00A0 ||
         (cp >= 0x2000 && cp <= 0x200B) || cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0x200E ||
         cp == 0x200F || cp == 0xFEFF;
}

// Trimmed around a reply: ASCII punctuation, Arabic punctuation (، ؛ ؟ ۔ ٪ ٫ ٬),
// quotation marks and dashes, the ellipsis, and emoji-range symbols.
bool is_punctuation(char32_t cp) {
  if (cp < 0x80) return std::ispunct(static_cast<int>(cp)) != 0;
  return cp == 0x060C || cp == 0x061B || cp == 0x061F || cp == 0x06D4 || cp == 0x066A || cp == 0x066B ||
         cp == 0x066C || cp == 0x00AB || cp == 0x00BB || cp == 0x00A1 || cp == 0x00BF ||
         (cp >= 0x2010 && cp <= 0x2027) || (cp >= 0x2030 && cp <= 0x205E) || cp == 0xFE0F ||
         (cp >= 0x2600 && cp <= 0x27BF) || (cp >= 0x1F000 && cp <= 0x1FAFF);
}

bool is_intent_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.';
  });
}

}  // namespace

std::string normalise_reply(std::string_view in) {
  std::vector<char32_t> cps;
  cps.reserve(in.size());
  for (std::size_t i = 0; i < in.size();) {
    char32_t cp = next_code_point(in, i);
    if ((cp >= 0x064B && cp <= 0x065F) || cp == 0x0670 || cp == 0x0640 || (cp >= 0x06D6 && cp <= 0x06ED))
      continue;                                                    // harakat, Quranic marks, tatweel
    if (cp >= 'A' && cp <= 'Z') cp = cp - 'A' + 'a';
    else if (cp >= 0x0660 && cp <= 0x0669) cp = '0' + (cp - 0x0660);  // Arabic-Indic digits
    else if (cp >= 0x06F0 && cp <= 0x06F9) cp = '0' + (cp - 0x06F0);  // Persian digits
    else if (cp == 0x0623 || cp == 0x0625 || cp == 0x0622 || cp == 0x0671) cp = 0x0627;  // أ إ آ ٱ -> ا
    cps.push_back(cp);
  }
  std::size_t b = 0, e = cps.size();
  while (b < e && (is_space(cps[b]) || is_punctuation(cps[b]))) ++b;
  while (e > b && (is_space(cps[e - 1]) || is_punctuation(cps[e - 1]))) --e;
  std::string out;
  bool space = false;
  for (std::size_t k = b; k < e; ++k) {
    if (is_space(cps[k])) {
      space = true;
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    append_utf8(out, cps[k]);
  }
  return out;
}

InboundKeyword classify_inbound(std::string_view body) {
  // The English keywords are the ones carriers and Twilio honour. The Arabic
  // ones, compared after normalise_reply() (so إيقاف and ايقاف are one word):
  // stop = ايقاف / توقف / وقف ("stop"), الغاء الاشتراك ("unsubscribe");
  // cancel = الغاء ("cancel"); start = اشتراك ("subscribe"), ابدا ("start"),
  // بدء ("begin"), اعد الاشتراك ("subscribe again").
  static const std::array<std::string_view, 9> stop = {"stop", "stopall", "unsubscribe", "optout", "opt out",
                                                       "ايقاف", "توقف", "وقف", "الغاء الاشتراك"};
  static const std::array<std::string_view, 4> cancel = {"cancel", "end", "quit", "الغاء"};
  static const std::array<std::string_view, 7> start = {"start", "unstop", "yes", "اشتراك",
                                                        "ابدا", "بدء", "اعد الاشتراك"};
  const std::string n = normalise_reply(body);
  if (n.empty()) return InboundKeyword::none;
  if (std::find(stop.begin(), stop.end(), n) != stop.end()) return InboundKeyword::stop;
  if (std::find(cancel.begin(), cancel.end(), n) != cancel.end()) return InboundKeyword::cancel;
  if (std::find(start.begin(), start.end(), n) != start.end()) return InboundKeyword::start;
  return InboundKeyword::none;
}

Result<std::map<std::string, std::string>> check_replies(const std::map<std::string, std::string>& replies,
                                                          const std::string& field) {
  if (replies.size() > kMaxReplies)
    return Error::invalid(field, "at most " + std::to_string(kMaxReplies) + " answers");
  std::map<std::string, std::string> out;
  for (const auto& [answer, intent] : replies) {
    const std::string where = field + "." + answer;
    if (!is_valid_utf8(answer)) return Error::invalid(field, "an answer is not valid UTF-8");
    const std::string key = normalise_reply(answer);
    const auto chars = std::count_if(key.begin(), key.end(), [](char ch) { return (ch & 0xC0) != 0x80; });
    if (key.empty() || chars > 64)
      return Error::invalid(where, "an answer has 1 to 64 characters besides spaces and punctuation");
    if (!is_intent_name(intent))
      return Error::invalid(where, "an intent has 1 to 64 letters, digits, '_', '-' or '.'");
    auto [it, added] = out.emplace(key, intent);
    if (!added && it->second != intent)
      return Error::invalid(where, "reads as the same answer as another one with another intent");
  }
  return out;
}

}  // namespace barid::core
