// Docs that run: every shell example of README.md and docs/*.md that talks
// to the gateway is either run here, word by word, against the real gateway
// started as the README starts it, or marked as an illustration with the
// reason it cannot run here.
//
// Marking. The line before a ```sh block (blank lines aside) is an HTML
// comment, invisible on GitHub:
//   <!-- example: run -->                       run it and compare its answers
//   <!-- example: run, shape -->                the same, comparing only the
//                                               answers' fields and types (for
//                                               figures of a busy tenant)
//   <!-- example: illustration: <reason> -->    not run; the reason is required
// An unmarked ```sh block that calls curl or barid-gateway fails
// DocsExamples.EveryGatewayExampleIsMarked.
//
// Running. One bash process per document, in a folder that looks like the
// repository to the reader (build/, config/, and scripts/db, whose `env`
// prints the test database's settings): the runnable blocks of the document
// in document order, so that variables set in one block (KEY=...) hold in
// the next. GW, KEY (of tenant docs-clinic) and OP (an operator key) are set
// first, as the documents' "Examples assume" blocks say. The gateway is
// barid-gateway --config config/gateway.yaml with BARID_PORT set to a free
// port and BARID_DB_* to a fresh test database; the documents'
// http://127.0.0.1:8080 is rewritten to that port, and the webhook URLs of
// the examples (https://platform.example/barid/events, and the quick-start
// receiver http://127.0.0.1:9000) to a local receiver on a free port, which
// BARID_WEBHOOK_PORT lets config/gateway.yaml's webhooks.allow_hosts take.
// Each block is cut into steps: a command and the `#` comment lines right
// after it. curl's answer (body and status) is what a step's answer is
// compared with.
//
// What is compared:
//  - `# HTTP 202`: the status of the step's last curl.
//  - `# {...}` or `# [...]` (one or more comment lines), and for the block's
//    last step the ```json block after it, when only prose lies between
//    them (no other fenced block, no heading): the body. A JSON block that
//    answers nothing goes after another block or under a heading of its own. Objects have
//    exactly the fields shown, with the same JSON types; `…` (or `...`) in an
//    object or array means "more may follow", as a value "anything"; `…`
//    inside a string means "any text". `# … "status": "delivered", …`
//    (starting with the ellipsis) is part of an object.
//  - Any other `# ...` comment is prose for the reader and not compared;
//    a call whose answer is not shown (or shown as prose) must get a 2xx.
//  - Generated values are patterns: a UUID, a 16-hex key id, a time or a
//    date matches any value of that form; `brd_`/`whsec_` keys, IPv4
//    addresses, curl/<version> and the mock's MK...-n ids likewise; numbers named `id` or `*_id`,
//    and request_id, node, latency_ms, sequence, by type only. A generated
//    id or key id shown in an answer stands for the real one from then on:
//    later commands and answers that show it literally get the real one
//    (a command with a UUID no answer showed before fails).
//  - With `run, shape`, an object named by_... (by_channel, by_status,
//    by_provider) is keyed by data: each of its values has the type of one
//    shown, whatever the keys, so a figure the run has no key for, or one
//    it has that the document does not show, does not fail it.
//  - A step that only reads (no -X POST/PUT/PATCH/DELETE) is asked again
//    until it matches or 10 s pass: the mock providers deliver within a
//    second, and the documents show the answer once that has happened.
// A mismatch names the document, the line, the command, what the document
// shows and what came back.

#include "gateway_harness.hpp"
#include "log_scan.hpp"

#include "../fakes/common/fake_server.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace barid::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

const fs::path kSource = BARID_DOCS_SOURCE_DIR;
const fs::path kBuild = BARID_DOCS_BUILD_DIR;
const std::string kEllipsis = "\xE2\x80\xA6";  // …

// ---------------------------------------------------------------- documents

struct Line {
  int number;
  std::string text;
};

struct Block {
  std::string doc;  // README.md, docs/api.md
  int line = 0;     // of the opening fence
  std::string lang;
  std::vector<Line> lines;  // inside the fences, indentation of the fence removed
  enum class Mark { none, run, illustration } mark = Mark::none;
  bool shape = false;
  std::string mark_error;  // a malformed marker
  int json_after = -1;     // index of the ```json block that answers it
};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The fenced blocks of a document's text.
std::vector<Block> blocks_in(const std::string& doc, const std::string& content) {
  std::vector<std::string> text;
  {
    std::istringstream in(content);
    for (std::string l; std::getline(in, l);) text.push_back(l);
  }
  std::vector<Block> out;
  int last_close = -100;  // line index of the last closing fence
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::string t = trim(text[i]);
    if (t.rfind("```", 0) != 0 || t.size() == 3) continue;
    Block b;
    b.doc = doc;
    b.line = static_cast<int>(i) + 1;
    b.lang = t.substr(3);
    const std::size_t indent = text[i].find('`');
    // The marker: the nearest line before it that is not blank.
    for (std::size_t j = i; j-- > 0;) {
      const std::string p = trim(text[j]);
      if (p.empty()) continue;
      if (p.rfind("<!-- example:", 0) == 0) {
        static const std::regex run(R"(<!-- example: run(, shape)? -->)");
        static const std::regex ill(R"(<!-- example: illustration: \S.* -->)");
        std::smatch m;
        if (std::regex_match(p, m, run)) {
          b.mark = Block::Mark::run;
          b.shape = m[1].matched;
        } else if (std::regex_match(p, ill)) {
          b.mark = Block::Mark::illustration;
        } else {
          b.mark_error = "a marker is `<!-- example: run -->`, `<!-- example: run, shape -->` or "
                         "`<!-- example: illustration: <reason> -->`, not `" + p + "`";
        }
      }
      break;
    }
    std::size_t k = i + 1;
    for (; k < text.size(); ++k) {
      if (trim(text[k]) == "```") break;
      std::string l = text[k];
      l = l.substr(std::min(indent, l.find_first_not_of(' ') == std::string::npos ? l.size() : l.find_first_not_of(' ')));
      b.lines.push_back({static_cast<int>(k) + 1, l});
    }
    // A ```json block answers the ```sh block before it when only prose
    // lies between them: no other fenced block (out.back() is that one) and
    // no heading (a new section shows something else).
    bool same_section = last_close >= 0;
    static const std::regex heading(R"(^#{1,6}\s)");
    for (int j = std::max(last_close + 1, 0); j < static_cast<int>(i); ++j)
      if (std::regex_search(trim(text[static_cast<std::size_t>(j)]), heading)) same_section = false;
    if (b.lang == "json" && same_section && !out.empty() && out.back().lang == "sh")
      out.back().json_after = static_cast<int>(out.size());
    out.push_back(std::move(b));
    last_close = static_cast<int>(k);
    i = k;
  }
  return out;
}

std::vector<Block> blocks_of(const std::string& doc) { return blocks_in(doc, read_file(kSource / doc)); }

std::vector<std::string> documents() {
  std::vector<std::string> docs = {"README.md"};
  std::vector<std::string> more;
  for (const auto& e : fs::directory_iterator(kSource / "docs"))
    if (e.path().extension() == ".md") more.push_back("docs/" + e.path().filename().string());
  std::sort(more.begin(), more.end());
  docs.insert(docs.end(), more.begin(), more.end());
  return docs;
}

bool talks_to_gateway(const Block& b) {
  static const std::regex calls(R"((^|[\s;|&($`/])(curl|barid-gateway)(\s|$))");
  for (const auto& l : b.lines)
    if (std::regex_search(l.text, calls)) return true;
  return false;
}

// ------------------------------------------------------------------- steps

struct Step {
  int line = 0;         // of the command's first line
  std::string command;  // as the document writes it
  std::string answer;   // the `#` lines after it, without "# ", joined by '\n'
  int answer_line = 0;
};

// Cuts a block into commands, each with the comment lines that follow it.
// A line continues the command when the previous one ends in `\` or a
// single-quoted string is still open.
std::vector<Step> steps_of(const Block& b) {
  std::vector<Step> out;
  bool open = false;  // the last command continues on the next line
  bool in_answer = false;
  for (const auto& l : b.lines) {
    const std::string t = trim(l.text);
    if (!open && t.rfind("#", 0) == 0) {
      if (!out.empty() && (in_answer || out.back().answer.empty())) {
        std::string a = t.substr(1);
        if (!a.empty() && a[0] == ' ') a = a.substr(1);
        if (out.back().answer.empty()) out.back().answer_line = l.number;
        else out.back().answer += "\n";
        out.back().answer += a;
        in_answer = true;
      }
      continue;
    }
    if (t.empty() && !open) continue;
    if (open) {
      out.back().command += "\n" + l.text;
    } else {
      out.push_back({l.number, l.text, "", 0});
      in_answer = false;
    }
    const auto quotes = std::count(out.back().command.begin(), out.back().command.end(), '\'');
    open = (quotes % 2 == 1) || (!t.empty() && t.back() == '\\');
  }
  return out;
}

// ------------------------------------------------------ answers as patterns

struct Pattern {
  enum class Kind { object, array, string, number, boolean, null, any } kind = Kind::any;
  bool open = false;                                  // "…": more may follow
  std::vector<std::pair<std::string, Pattern>> members;  // object
  std::vector<Pattern> items;                         // array
  std::string text;                                   // string (with …), number, boolean
};

class PatternParser {
 public:
  explicit PatternParser(std::string s) : s_(std::move(s)) {}
  Pattern parse() {
    Pattern p = value();
    space();
    if (i_ != s_.size()) fail("unexpected text after the value");
    return p;
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + " at character " + std::to_string(i_) + " of the shown answer");
  }
  void space() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool ellipsis() {
    space();
    if (s_.compare(i_, kEllipsis.size(), kEllipsis) == 0) {
      i_ += kEllipsis.size();
      return true;
    }
    if (s_.compare(i_, 3, "...") == 0) {
      i_ += 3;
      return true;
    }
    return false;
  }
  bool take(char c) {
    space();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  std::string string_text() {
    if (!take('"')) fail("a string was expected");
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) {
        // keep the escape: the text is parsed as JSON when it has no …
        out += s_[i_++];
      }
      out += s_[i_++];
    }
    if (i_ >= s_.size()) fail("an unterminated string");
    ++i_;
    return out;
  }
  Pattern value() {
    Pattern p;
    if (ellipsis()) return p;  // any
    space();
    if (i_ >= s_.size()) fail("a value was expected");
    const char c = s_[i_];
    if (c == '{') {
      ++i_;
      p.kind = Pattern::Kind::object;
      if (take('}')) return p;
      for (;;) {
        if (ellipsis()) {
          p.open = true;
          if (take(',')) continue;
          if (take('}')) return p;
          // `… "status": …`: a member follows the ellipsis at once
        }
        {
          std::string key = json::parse("\"" + string_text() + "\"").get<std::string>();
          if (!take(':')) fail("':' was expected");
          p.members.emplace_back(std::move(key), value());
        }
        if (take(',')) continue;
        if (take('}')) return p;
        fail("',' or '}' was expected");
      }
    }
    if (c == '[') {
      ++i_;
      p.kind = Pattern::Kind::array;
      if (take(']')) return p;
      for (;;) {
        if (ellipsis()) p.open = true;
        else p.items.push_back(value());
        if (take(',')) continue;
        if (take(']')) return p;
        fail("',' or ']' was expected");
      }
    }
    if (c == '"') {
      p.kind = Pattern::Kind::string;
      const std::string raw = string_text();
      // Unescape, keeping … as it is (it is not an escape).
      p.text = json::parse("\"" + raw + "\"").get<std::string>();
      return p;
    }
    std::size_t e = i_;
    while (e < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[e])) || s_[e] == '.' || s_[e] == '-' ||
                             s_[e] == '+'))
      ++e;
    const std::string word = s_.substr(i_, e - i_);
    i_ = e;
    if (word == "true" || word == "false") {
      p.kind = Pattern::Kind::boolean;
    } else if (word == "null") {
      p.kind = Pattern::Kind::null;
    } else if (!word.empty() && (std::isdigit(static_cast<unsigned char>(word[0])) || word[0] == '-')) {
      p.kind = Pattern::Kind::number;
    } else {
      fail("a JSON value was expected, not `" + word + "`");
    }
    p.text = word;
    return p;
  }
  std::string s_;
  std::size_t i_ = 0;
};

// Generated values inside shown strings: each is a class of values, and the
// shown one stands for the real one once matched.
struct TokenClass {
  std::regex shown;
  std::string real;  // regex for the real value
  bool mapped;       // the shown value stands for the real one from then on
};

const std::vector<TokenClass>& token_classes() {
  static const std::vector<TokenClass> classes = {
      {std::regex(R"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"),
       "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", true},
      // A UUID cut short by the ellipsis (01a2…, 01a2111c-…): any UUID.
      {std::regex("[0-9a-f]{4}[0-9a-f-]*" + kEllipsis), "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
       false},
      {std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))"),
       R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))", false},
      {std::regex(R"(\d{4}-\d{2}-\d{2})"), R"(\d{4}-\d{2}-\d{2})", false},
      {std::regex("brd_[0-9a-f]{16}_(" + kEllipsis + "|[A-Za-z0-9_-]+)"), "brd_[0-9a-f]{16}_[A-Za-z0-9_-]+", false},
      {std::regex(R"(whsec_[A-Za-z0-9+/=]+)"), R"(whsec_[A-Za-z0-9+/=]+)", false},
      {std::regex(R"(\b[0-9a-f]{16}\b)"), "[0-9a-f]{16}", true},
      {std::regex(R"(\b\d+\.\d+\.\d+\.\d+\b)"), R"(\d+\.\d+\.\d+\.\d+)", false},
      {std::regex(R"(curl/[0-9.]+)"), R"(curl/[0-9.]+)", false},
      // The mock provider's message ids.
      {std::regex(R"(\bMK[0-9a-f]+-[0-9]+\b)"), "MK[0-9a-f]+-[0-9]+", false},
  };
  return classes;
}

std::string regex_escape(const std::string& s) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(s, special, R"(\$&)");
}

bool generated_number(const std::string& key) {
  static const std::set<std::string> names = {"id", "sequence", "latency_ms", "mean_latency_ms"};
  return names.count(key) || (key.size() > 3 && key.compare(key.size() - 3, 3, "_id") == 0);
}
// Objects whose keys are data, not field names: a tenant's figures by
// channel, status or provider have the keys its messages gave them.
bool keyed_by_data(const std::string& key) { return key.rfind("by_", 0) == 0; }
bool generated_string(const std::string& key) {
  static const std::set<std::string> names = {"request_id", "node", "checked_by"};
  return names.count(key) > 0;
}

std::string type_name(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}
class Matcher {
 public:
  // shown -> real, for generated ids (and fixed substitutions).
  std::map<std::string, std::string> ids;

  // "" when `real` matches `shown`, else what differs, at which path.
  std::string match(const Pattern& shown, const json& real, bool shape, std::map<std::string, std::string>& found,
                    const std::string& path = "$", const std::string& key = "") {
    using K = Pattern::Kind;
    if (shown.kind == K::any) return "";
    const std::string where = path + ": ";
    switch (shown.kind) {
      case K::object: {
        if (!real.is_object()) return where + "shown an object, got " + type_name(real);
        if (shape && keyed_by_data(key) && !shown.members.empty()) {
          // Its keys are data (by_status: the statuses there are): each
          // value has the shape of one shown, whatever its key.
          for (const auto& [k, v] : real.items()) {
            std::string first;
            bool any = false;
            for (const auto& [sk, p] : shown.members) {
              auto e = match(p, v, shape, found, path + "." + k, sk);
              if (e.empty()) any = true;
              else if (first.empty()) first = e;
            }
            if (!any) return first;
          }
          return "";
        }
        std::set<std::string> seen;
        for (const auto& [k, p] : shown.members) {
          seen.insert(k);
          if (!real.contains(k)) return path + "." + k + ": shown, but not in the answer";
          auto e = match(p, real.at(k), shape, found, path + "." + k, k);
          if (!e.empty()) return e;
        }
        if (!shown.open)
          for (const auto& [k, v] : real.items())
            if (!seen.count(k)) return path + "." + k + ": in the answer, but not shown (and no … says more follow)";
        return "";
      }
      case K::array: {
        if (!real.is_array()) return where + "shown an array, got " + type_name(real);
        if (shape) {
          if (shown.items.empty()) return real.empty() || shown.open ? "" : where + "shown empty, got " + real.dump();
          if (real.empty()) return where + "shown items, got none";
          // Each item has the shape of one of the items shown.
          for (std::size_t i = 0; i < real.size(); ++i) {
            std::string first;
            bool any = false;
            for (const auto& item : shown.items) {
              auto e = match(item, real[i], shape, found, path + "[" + std::to_string(i) + "]", key);
              if (e.empty()) any = true;
              else if (first.empty()) first = e;
            }
            if (!any) return first;
          }
          return "";
        }
        if (shown.open ? real.size() < shown.items.size() : real.size() != shown.items.size())
          return where + "shown " + std::to_string(shown.items.size()) + (shown.open ? " or more" : "") +
                 " items, got " + std::to_string(real.size());
        for (std::size_t i = 0; i < shown.items.size(); ++i) {
          auto e = match(shown.items[i], real[i], shape, found, path + "[" + std::to_string(i) + "]", key);
          if (!e.empty()) return e;
        }
        return "";
      }
      case K::null:
        return real.is_null() ? "" : where + "shown null, got " + real.dump();
      case K::boolean:
        if (!real.is_boolean()) return where + "shown " + shown.text + ", got " + real.dump();
        if (shape) return "";
        return (real.get<bool>() ? "true" : "false") == shown.text ? "" : where + "shown " + shown.text + ", got " + real.dump();
      case K::number: {
        if (!real.is_number()) return where + "shown the number " + shown.text + ", got " + real.dump();
        if (shape || generated_number(key)) return "";
        const double want = std::stod(shown.text);
        return real.get<double>() == want ? "" : where + "shown " + shown.text + ", got " + real.dump();
      }
      case K::string: {
        if (!real.is_string()) return where + "shown the string \"" + shown.text + "\", got " + real.dump();
        if (generated_string(key)) return "";
        auto e = match_string(shown.text, real.get<std::string>(), found, where);
        return shape ? "" : e;  // a shape still learns the ids it shows
      }
      case K::any: return "";
    }
    return "";
  }

 private:
  std::string match_string(const std::string& shown, const std::string& real,
                           std::map<std::string, std::string>& found, const std::string& where) {
    // The shown text as a regex: generated tokens as their class (or the
    // real value they already stand for), … as any text, the rest literal.
    struct Token {
      std::size_t at, len;
      const TokenClass* cls;
    };
    std::vector<Token> tokens;
    std::vector<bool> taken(shown.size(), false);
    for (const auto& c : token_classes()) {
      for (std::sregex_iterator it(shown.begin(), shown.end(), c.shown), end; it != end; ++it) {
        const auto at = static_cast<std::size_t>(it->position()), len = static_cast<std::size_t>(it->length());
        if (std::any_of(taken.begin() + static_cast<long>(at), taken.begin() + static_cast<long>(at + len),
                        [](bool t) { return t; }))
          continue;
        std::fill(taken.begin() + static_cast<long>(at), taken.begin() + static_cast<long>(at + len), true);
        tokens.push_back({at, len, &c});
      }
    }
    std::sort(tokens.begin(), tokens.end(), [](const Token& a, const Token& b) { return a.at < b.at; });
    std::string re;
    std::vector<std::string> captured;  // the shown token of each capture group, "" for unmapped classes
    auto literal = [&](const std::string& s) {
      std::size_t from = 0;
      for (auto p = s.find(kEllipsis); p != std::string::npos; p = s.find(kEllipsis, from)) {
        re += regex_escape(s.substr(from, p - from)) + ".*";
        from = p + kEllipsis.size();
      }
      re += regex_escape(s.substr(from));
    };
    std::size_t from = 0;
    for (const auto& t : tokens) {
      literal(shown.substr(from, t.at - from));
      const std::string tok = shown.substr(t.at, t.len);
      if (auto it = ids.find(tok); it != ids.end()) {
        re += regex_escape(it->second);
      } else {
        re += "(" + t.cls->real + ")";
        captured.push_back(t.cls->mapped ? tok : "");
        // inner groups of the class regex are not captures of ours
        const auto inner = std::count(t.cls->real.begin(), t.cls->real.end(), '(');
        for (long i = 0; i < inner; ++i) captured.push_back("");
      }
      from = t.at + t.len;
    }
    literal(shown.substr(from));
    std::smatch m;
    if (!std::regex_match(real, m, std::regex(re)))
      return where + "shown \"" + shown + "\", got \"" + real + "\"";
    for (std::size_t i = 0; i < captured.size(); ++i)
      if (!captured[i].empty()) found[captured[i]] = m[i + 1].str();
    return "";
  }
};

// ------------------------------------------------------------------ runner

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string first_line(const std::string& s) {
  const auto n = s.find('\n');
  return n == std::string::npos ? s : s.substr(0, n) + " …";
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (auto p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

// One reader's bash: commands go in through a pipe; each step's output,
// error and exit status come back through files.
class ReaderShell {
 public:
  ReaderShell(const fs::path& dir, const fs::path& cwd) : dir_(dir) {
    const std::string cmd = "cd '" + cwd.string() + "' && exec bash --noprofile --norc -s > '" +
                            (dir / "bash.out").string() + "' 2> '" + (dir / "bash.err").string() + "'";
    pipe_ = ::popen(cmd.c_str(), "w");
    if (!pipe_) throw std::runtime_error("cannot start bash");
    send("echo $$ > '" + (dir / "bash.pid").string() + "'\n");
  }
  ~ReaderShell() {
    if (!pipe_) return;
    if (stuck_) {
      std::ifstream pid(dir_ / "bash.pid");
      pid_t p = 0;
      if (pid >> p && p > 0) ::kill(p, SIGKILL);
    } else {
      send("exit\n");
    }
    ::pclose(pipe_);
  }
  struct Result {
    bool finished = false;
    int status = -1;
    std::string out, err;
  };
  Result run(const std::string& script, std::chrono::seconds timeout = 30s) {
    const int n = ++count_;
    const fs::path step = dir_ / ("step-" + std::to_string(n) + ".sh");
    std::ofstream(step) << script << "\n";
    const std::string p = dir_.string() + "/", N = std::to_string(n);
    send("source '" + step.string() + "' > '" + p + "out-" + N + "' 2> '" + p + "err-" + N + "' < /dev/null; echo $? > '" +
         p + "rc-" + N + ".tmp' && mv '" + p + "rc-" + N + ".tmp' '" + p + "rc-" + N + "'\n");
    Result r;
    r.finished = eventually([&] { return fs::exists(dir_ / ("rc-" + N)); }, timeout, 10ms);
    if (!r.finished) {
      stuck_ = true;
      return r;
    }
    std::ifstream(dir_ / ("rc-" + N)) >> r.status;
    r.out = read_file(dir_ / ("out-" + N));
    r.err = read_file(dir_ / ("err-" + N));
    return r;
  }

 private:
  void send(const std::string& s) {
    std::fputs(s.c_str(), pipe_);
    std::fflush(pipe_);
  }
  fs::path dir_;
  FILE* pipe_ = nullptr;
  int count_ = 0;
  bool stuck_ = false;
};

// The webhook receiver of the webhooks walkthrough: answers 200 to every POST.
class WebhookReceiver {
 public:
  WebhookReceiver() : server_([this](const fakes::FakeRequest&) {
      ++count_;
      return fakes::FakeResponse::json(200, json::object());
    }) { server_.start(); }
  std::string url(const std::string& path) const { return server_.base_url() + path; }
  std::uint16_t port() const noexcept { return server_.port(); }

 private:
  std::atomic<int> count_{0};
  fakes::FakeHttpServer server_;
};

class DocsExamplesE2E : public ::testing::TestWithParam<std::string> {};

// The method, path and body of the curl calls of a command, for the log
// scan's list of what was sent to the gateway.
void record_sent_of(const std::string& command, const std::string& base) {
  static const std::regex method(R"(-X\s+([A-Z]+))");
  static const std::regex body(R"(-d\s+'([^']*)')");
  std::smatch m;
  const std::string verb = std::regex_search(command, m, method) ? m[1].str() : "GET";
  std::string path;
  if (auto p = command.find(base); p != std::string::npos) {
    auto e = command.find_first_of(" '\"\n", p);
    path = command.substr(p + base.size(), e == std::string::npos ? std::string::npos : e - p - base.size());
  }
  record_sent(verb, path, std::regex_search(command, m, body) ? m[1].str() : std::string());
}

TEST_P(DocsExamplesE2E, RunAsShown) {
  const std::string doc = GetParam();
  auto blocks = blocks_of(doc);

  TestDatabase db;
  const auto& o = db.options();
  char tmpl[] = "/tmp/barid-docs.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  const fs::path reader = dir / "reader";  // the reader's checkout
  struct Cleanup {  // last: after the gateway and the shell have stopped
    fs::path dir;
    ~Cleanup() {
      keep_gateway_log(dir / "gateway.log");
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  fs::create_directories(reader / "scripts");
  fs::create_symlink(kBuild, reader / "build");
  fs::create_symlink(kSource / "config", reader / "config");
  fs::create_symlink(kSource / "docs", reader / "docs");
  {
    // scripts/db env: the settings of the reader's database (here the test's).
    std::ofstream db_script(reader / "scripts" / "db");
    db_script << "#!/usr/bin/env bash\n[[ $1 == env ]] || { echo 'scripts/db: only env here' >&2; exit 2; }\n"
              << "echo 'export BARID_DB_HOST=" << o.host << " BARID_DB_PORT=" << o.port << " BARID_DB_NAME="
              << o.database << " BARID_DB_USER=" << o.user << " BARID_DB_PASSWORD=" << o.password << "'\n";
  }
  fs::permissions(reader / "scripts" / "db", fs::perms::owner_all);

  // The gateway as the README starts it: config/gateway.yaml.
  const auto port = free_port();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  WebhookReceiver receiver;
  ChildProcess::Options opts;
  opts.program = gateway_binary();
  opts.args = {"--config", (kSource / "config" / "gateway.yaml").string()};
  opts.env = {{"BARID_PORT", std::to_string(port)},       {"BARID_DB_HOST", o.host},
              {"BARID_DB_PORT", std::to_string(o.port)},  {"BARID_DB_NAME", o.database},
              {"BARID_DB_USER", o.user},                  {"BARID_DB_PASSWORD", o.password},
              {"BARID_PLUGIN_DIR", plugin_dir()},
              // the port of webhooks.allow_hosts' development receiver
              {"BARID_WEBHOOK_PORT", std::to_string(receiver.port())}};
  opts.stderr_path = (dir / "gateway.log").string();
  auto gateway = std::make_unique<ChildProcess>(opts);
  ASSERT_TRUE(gateway->wait_for_line("listening on ", 30s).has_value())
      << "the gateway did not start with config/gateway.yaml; its log:\n"
      << read_file(dir / "gateway.log");

  auto key_command = [&](const std::vector<std::string>& args) {
    ChildProcess::Options k = opts;
    k.args.insert(k.args.end(), args.begin(), args.end());
    k.stderr_path = (dir / "command.log").string();
    ChildProcess p(k);
    EXPECT_EQ(p.wait_exit(30s), std::optional<int>(0)) << read_file(dir / "command.log");
    std::istringstream lines(p.stdout_after_exit());
    for (std::string l; std::getline(lines, l);)
      if (l.rfind("brd_", 0) == 0) return l;
    return std::string();
  };
  const std::string key = key_command({"create-api-key", "--tenant", "docs-clinic"});
  const std::string op = key_command({"create-operator-key", "--label", "docs"});
  ASSERT_FALSE(key.empty());
  ASSERT_FALSE(op.empty());

  Matcher matcher;
  // Fixed substitutions, in commands and in shown answers.
  const std::vector<std::pair<std::string, std::string>> fixed = {
      {"http://127.0.0.1:8080", base},
      {"https://platform.example/barid/events", receiver.url("/barid/events")},
      {"http://127.0.0.1:9000", receiver.url("")},
  };

  ReaderShell shell(dir, reader);
  const fs::path last_body = dir / "last.body", last_status = dir / "last.status";
  {
    std::ostringstream prelude;
    prelude << "export LC_ALL=C.UTF-8\nBARID_DOCS_DIR='" << dir.string() << "'\n"
            << "GW=" << base << "\nKEY=" << key << "\nOP=" << op << "\n"
            << "curl() {\n"
               "  command curl --max-time 15 -o \"$BARID_DOCS_DIR/last.body\" -w '%{http_code}' \"$@\" "
               "> \"$BARID_DOCS_DIR/last.status\"\n"
               "  local rc=$?\n  cat \"$BARID_DOCS_DIR/last.body\"\n  return $rc\n}\n";
    auto r = shell.run(prelude.str());
    ASSERT_TRUE(r.finished && r.status == 0) << r.err;
  }

  static const std::regex mutating(R"(-X\s+(POST|PUT|PATCH|DELETE))");
  static const std::regex uuid(R"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})");
  int ran = 0, compared = 0;
  for (std::size_t bi = 0; bi < blocks.size(); ++bi) {
    const Block& b = blocks[bi];
    if (b.lang != "sh" || b.mark != Block::Mark::run) continue;
    auto steps = steps_of(b);
    if (b.json_after >= 0 && !steps.empty()) {
      const Block& j = blocks[static_cast<std::size_t>(b.json_after)];
      std::string text;
      for (const auto& l : j.lines) text += l.text + "\n";
      if (!steps.back().answer.empty()) {
        ADD_FAILURE() << doc << ":" << j.line << ": this ```json block answers the command of line "
                      << steps.back().line << " (only prose lies between them), which shows its answer already at line "
                      << steps.back().answer_line
                      << "; a JSON block that answers nothing goes under a heading of its own or after another block";
        continue;
      }
      steps.back().answer = text;
      steps.back().answer_line = j.line;
    }
    for (const auto& s : steps) {
      ++ran;
      std::string command = s.command;
      for (const auto& [from, to] : fixed) replace_all(command, from, to);
      for (std::sregex_iterator it(command.begin(), command.end(), uuid), end; it != end; ++it)
        if (!matcher.ids.count(it->str()))
          ADD_FAILURE() << doc << ":" << s.line << ": the command uses the id " << it->str()
                          << ", which no answer before it showed\n  command: " << first_line(s.command);
      for (const auto& [from, to] : matcher.ids) replace_all(command, from, to);
      const std::string where = doc + ":" + std::to_string(s.line);

      // What the document shows.
      std::optional<int> shown_status;
      std::optional<Pattern> shown_body;
      std::string shown_text;
      if (!s.answer.empty()) {
        std::string a = s.answer;
        static const std::regex http(R"(^HTTP (\d{3})\s*)");
        std::smatch m;
        if (std::regex_search(a, m, http)) {
          shown_status = std::stoi(m[1].str());
          a = m.suffix().str();
        }
        for (const auto& [from, to] : fixed) replace_all(a, from, to);
        const std::string t = trim(a);
        const bool fragment = (t.rfind(kEllipsis, 0) == 0 || t.rfind("...", 0) == 0) &&
                              t.find('"') != std::string::npos && t.find(':') != std::string::npos;
        const bool json_like = !t.empty() && (t[0] == '{' || t[0] == '[' || t[0] == '"');
        if (fragment || json_like) {
          // A fragment is part of an object: other fields may come before it.
          shown_text = fragment ? "{" + t + "}" : t[0] == '"' ? "{" + kEllipsis + ", " + t + "}" : t;
          try {
            shown_body = PatternParser(shown_text).parse();
          } catch (const std::exception& e) {
            ADD_FAILURE() << doc << ":" << s.answer_line << ": the shown answer is not JSON as the runner reads it ("
                          << e.what() << "):\n" << s.answer;
            continue;
          }
        }
      }

      if (shown_body || shown_status) ++compared;
      // Run it; a read is asked again until it matches or the deadline passes.
      const bool may_repeat = !std::regex_search(command, mutating) && (shown_body || shown_status);
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      std::string mismatch;
      // Ids learnt from what did match, even when something else did not,
      // so that one mismatch does not fail every later example with it.
      std::map<std::string, std::string> found;
      for (;;) {
        fs::remove(last_body);
        fs::remove(last_status);
        record_sent_of(command, base);
        auto r = shell.run(command);
        if (!r.finished) {
          mismatch = "it did not finish within 30 s";
          break;
        }
        if (r.status != 0) {
          mismatch = "it exited with status " + std::to_string(r.status) + "; stderr: " + r.err;
          break;
        }
        const bool curl_ran = fs::exists(last_status);
        const std::string got = curl_ran ? read_file(last_body) : r.out;
        const int status = curl_ran ? std::atoi(read_file(last_status).c_str()) : 0;
        mismatch.clear();
        found.clear();
        if (shown_status && status != *shown_status)
          mismatch = "shown HTTP " + std::to_string(*shown_status) + ", got HTTP " + std::to_string(status);
        // A call whose answer the document does not show is one that works.
        if (curl_ran && !shown_status && !shown_body && (status < 200 || status > 299))
          mismatch = "no answer shown, so it should succeed, but it got HTTP " + std::to_string(status);
        if (mismatch.empty() && shown_body) {
          const json real = json::parse(got, nullptr, false);
          if (real.is_discarded()) mismatch = "the answer is not JSON";
          else mismatch = matcher.match(*shown_body, real, b.shape, found);
        }
        if (mismatch.empty()) break;
        mismatch += "\n  got (HTTP " + std::to_string(status) + "): " + got;
        if (!may_repeat || std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(200ms);
      }
      for (const auto& [k, v] : found) matcher.ids.emplace(k, v);
      if (!mismatch.empty()) {
        ADD_FAILURE() << where << ": the example does not answer as shown\n  command: " << command
                      << "\n  shown (line " << s.answer_line << "): " << s.answer << "\n  " << mismatch;
      }
    }
  }
  EXPECT_GT(ran, 0) << doc << " has no runnable example";
  std::cout << doc << ": " << ran << " commands run, " << compared << " of their answers compared\n";
  gateway->signal(SIGTERM);
  gateway->wait_exit(30s);
}

std::vector<std::string> documents_with_runnable_examples() {
  std::vector<std::string> out;
  for (const auto& d : documents())
    for (const auto& b : blocks_of(d))
      if (b.lang == "sh" && b.mark == Block::Mark::run) {
        out.push_back(d);
        break;
      }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Docs, DocsExamplesE2E, ::testing::ValuesIn(documents_with_runnable_examples()),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           std::string n = fs::path(i.param).stem().string();
                           for (auto& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

TEST(DocsExamples, EveryGatewayExampleIsMarked) {
  int sh = 0, marked = 0;
  for (const auto& d : documents()) {
    for (const auto& b : blocks_of(d)) {
      if (!b.mark_error.empty()) ADD_FAILURE() << d << ":" << b.line << ": " << b.mark_error;
      if (b.lang != "sh") {
        if (b.mark != Block::Mark::none)
          ADD_FAILURE() << d << ":" << b.line << ": an example marker before a ```" << b.lang << " block";
        continue;
      }
      ++sh;
      if (b.mark != Block::Mark::none) ++marked;
      else if (talks_to_gateway(b))
        ADD_FAILURE() << d << ":" << b.line
                      << ": a shell example that calls curl or barid-gateway needs `<!-- example: run -->` or "
                         "`<!-- example: illustration: <why it cannot run here> -->` on the line before it";
    }
  }
  EXPECT_GT(sh, 0);
  EXPECT_GT(marked, 0);
}

// The runner's reading of the documents, on text of its own.
TEST(DocsExamples, AJsonBlockAnswersTheCommandBeforeItInItsSection) {
  const std::string text =
      "<!-- example: run -->\n```sh\ncurl -s $GW/v1/a\n```\n\nThe answer has a preflight:\n\n"
      "```json\n\"a\": 1\n```\n\nMore:\n\n```json\n{\"b\": 2}\n```\n\n"  // blocks 0, 1, 2
      "<!-- example: run -->\n```sh\ncurl -s $GW/v1/c\n```\n\n## Another section\n\n"
      "```json\n{\"c\": 3}\n```\n"  // blocks 3, 4
      "<!-- example: run -->\n```sh\ncurl -s $GW/v1/d\n```\n```yaml\nx: 1\n```\n"
      "```json\n{\"d\": 4}\n```\n";  // blocks 5, 6, 7
  auto blocks = blocks_in("doc.md", text);
  ASSERT_EQ(blocks.size(), 8u);
  EXPECT_EQ(blocks[0].json_after, 1);   // after prose: its answer
  EXPECT_EQ(blocks[3].json_after, -1);  // a heading between: not its answer
  EXPECT_EQ(blocks[5].json_after, -1);  // another block between: not its answer
}

TEST(DocsExamples, StepsAndAnswersAreReadAsDocumented) {
  Block b;
  b.lines = {{1, "curl -s -X POST $GW/v1/messages \\"},
             {2, "  -d '{\"to\": \"0501234567\","},
             {3, "       \"body\": \"x\"}'"},
             {4, "# {\"id\": \"01a2111c-3c80-7099-9e08-0ff5f4d8c732\", \"status\": \"queued\"}"},
             {5, "curl -s $GW/v1/messages/01a2111c-3c80-7099-9e08-0ff5f4d8c732"},
             {6, "# accepted -> sent -> delivered"}};
  auto steps = steps_of(b);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].line, 1);
  EXPECT_EQ(steps[0].answer, "{\"id\": \"01a2111c-3c80-7099-9e08-0ff5f4d8c732\", \"status\": \"queued\"}");
  EXPECT_EQ(steps[1].answer, "accepted -> sent -> delivered");

  Matcher m;
  std::map<std::string, std::string> found;
  auto p = PatternParser(steps[0].answer).parse();
  const json real = {{"id", "01a2ffff-0000-7000-8000-000000000001"}, {"status", "queued"}};
  EXPECT_EQ(m.match(p, real, false, found), "");
  EXPECT_EQ(found["01a2111c-3c80-7099-9e08-0ff5f4d8c732"], "01a2ffff-0000-7000-8000-000000000001");
  EXPECT_NE(m.match(p, json{{"id", "x"}, {"status", "queued"}}, false, found), "");
  EXPECT_NE(m.match(p, json{{"id", "01a2ffff-0000-7000-8000-000000000001"}, {"status", "sent"}}, false, found), "");
  EXPECT_NE(m.match(p, json{{"id", "01a2ffff-0000-7000-8000-000000000001"}, {"status", "queued"}, {"x", 1}}, false,
                    found),
            "");
  // … in an object: more fields may follow; in a string: any text.
  auto open = PatternParser("{\"status\": \"delivered\", \"detail\": \"attempt 1 via mock-sms: " + kEllipsis +
                            "\", " + kEllipsis + "}")
                  .parse();
  EXPECT_EQ(m.match(open, json{{"status", "delivered"}, {"detail", "attempt 1 via mock-sms: MK1"}, {"x", 1}}, false,
                    found),
            "");
  EXPECT_NE(m.match(open, json{{"status", "delivered"}, {"detail", "attempt 2"}}, false, found), "");
  // Shape: fields and types only.
  auto shape = PatternParser(R"({"messages": 1840, "quota": null, "list": [{"a": "x"}]})").parse();
  EXPECT_EQ(m.match(shape, json::parse(R"({"messages": 1, "quota": null, "list": [{"a": "y"}, {"a": "z"}]})"), true,
                    found),
            "");
  EXPECT_NE(m.match(shape, json::parse(R"({"messages": "1", "quota": null, "list": [{"a": "y"}]})"), true, found), "");
  // Shape: the keys of a by_... object are data, its values typed.
  auto by = PatternParser(R"({"by_status": {"delivered": 6, "canceled": 1}, "total": 7})").parse();
  EXPECT_EQ(m.match(by, json::parse(R"({"by_status": {"read": 2, "failed": 1}, "total": 3})"), true, found), "");
  EXPECT_EQ(m.match(by, json::parse(R"({"by_status": {}, "total": 0})"), true, found), "");
  EXPECT_NE(m.match(by, json::parse(R"({"by_status": {"read": "2"}, "total": 3})"), true, found), "");
  EXPECT_NE(m.match(by, json::parse(R"({"by_status": {"read": 2}, "total": 3})"), false, found), "");
}

}  // namespace
}  // namespace barid::testing
