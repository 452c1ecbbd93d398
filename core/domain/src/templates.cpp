#include <barid/core/templates.hpp>

#include <regex>
#include <set>

namespace barid::core {

namespace {

bool is_identifier(const std::string& s) {
  static const std::regex re("[A-Za-z_][A-Za-z0-9_.]{0,63}");
  return std::regex_match(s, re);
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Calls on_text(text) and on_var(name) in order; an error for a malformed
// placeholder.
template <typename OnText, typename OnVar>
Status scan(const std::string& body, OnText&& on_text, OnVar&& on_var) {
  std::size_t i = 0;
  while (i < body.size()) {
    const auto open = body.find("{{", i);
    if (open == std::string::npos) {
      on_text(body.substr(i));
      break;
    }
    on_text(body.substr(i, open - i));
    const auto close = body.find("}}", open + 2);
    if (close == std::string::npos)
      return Error::invalid("body", "a placeholder opened with {{ at byte " + std::to_string(open) + " is not closed");
    const std::string name = trim(body.substr(open + 2, close - open - 2));
    if (!is_identifier(name))
      return Error::invalid("body", "'{{" + body.substr(open + 2, close - open - 2) +
                                        "}}' is not a variable name (letters, digits, '_' and '.')");
    on_var(name);
    i = close + 2;
  }
  return {};
}

}  // namespace

bool is_language_code(const std::string& s) {
  static const std::regex re("[a-z]{2,3}(-[A-Za-z0-9]{2,4})?");
  return std::regex_match(s, re);
}

Result<std::vector<std::string>> template_variables(const std::string& body) {
  std::vector<std::string> vars;
  auto st = scan(
      body, [](const std::string&) {},
      [&](const std::string& name) {
        if (std::find(vars.begin(), vars.end(), name) == vars.end()) vars.push_back(name);
      });
  if (!st) return st.error();
  return vars;
}

Status validate_template(const Template& t) {
  static const std::regex code_re("[a-z0-9][a-z0-9_.-]{0,63}");
  if (!std::regex_match(t.code, code_re))
    return Error::invalid("code", "a template code has lower-case letters, digits, '_', '.', '-' (at most 64)");
  if (t.channels.empty()) return Error::invalid("channels", "name at least one channel (sms, whatsapp)");
  static const std::regex category_re("[a-z0-9_-]{1,32}");
  if (!t.category.empty() && !std::regex_match(t.category, category_re))
    return Error::invalid("category", "lower-case letters, digits, '-' and '_', at most 32");
  if (t.description.size() > 255) return Error::invalid("description", "at most 255 bytes");
  if (t.translations.empty()) return Error::invalid("translations", "add at least one translation (e.g. en, ar)");
  for (const auto& [lang, tr] : t.translations) {
    const std::string f = "translations." + lang;
    if (!is_language_code(lang)) return Error::invalid(f, "'" + lang + "' is not a language code (e.g. en, ar)");
    if (tr.body.empty() && tr.provider_template.empty()) return Error::invalid(f + ".body", "the body is empty");
    if (!is_valid_utf8(tr.body)) return Error::invalid(f + ".body", "is not valid UTF-8");
    if (tr.body.size() > 8192) return Error::invalid(f + ".body", "at most 8192 bytes");
    auto vars = template_variables(tr.body);
    if (!vars) return Error::invalid(f + ".body", vars.error().message);
    if (tr.provider_template.size() > 128)
      return Error::invalid(f + ".provider_template", "at most 128 characters");
    for (const auto& v : tr.provider_variables)
      if (!is_identifier(v))
        return Error::invalid(f + ".provider_variables", "'" + v + "' is not a variable name");
    if (!tr.provider_variables.empty() && tr.provider_template.empty())
      return Error::invalid(f + ".provider_variables", "provider variables need a provider_template");
  }
  return {};
}

Result<RenderedMessage> render_template(const Template& t, const std::vector<std::string>& preference,
                                        const std::map<std::string, std::string>& variables) {
  // A variable that no translation uses is a typo or a stale client, not
  // something to drop silently. (One that only another language's
  // translation uses is fine: a bulk sends one request in several languages.)
  std::set<std::string> used;
  for (const auto& [lang, tr] : t.translations) {
    if (auto vars = template_variables(tr.body)) used.insert(vars->begin(), vars->end());
    used.insert(tr.provider_variables.begin(), tr.provider_variables.end());
  }
  for (const auto& [name, value] : variables)
    if (!used.count(name)) {
      std::string list;
      for (const auto& u : used) list += (list.empty() ? "" : ", ") + u;
      return Error::invalid("template.variables." + name,
                            "template '" + t.code + "' has no variable '" + name + "' (" +
                                (list.empty() ? std::string("it has none") : "it has " + list) + ")");
    }
  const TemplateTranslation* tr = nullptr;
  std::string language;
  for (const auto& lang : preference) {
    if (lang.empty()) continue;
    auto it = t.translations.find(lang);
    if (it != t.translations.end()) {
      tr = &it->second;
      language = lang;
      break;
    }
  }
  if (!tr) {
    std::string have;
    for (const auto& [l, _] : t.translations) have += (have.empty() ? "" : ", ") + l;
    std::string wanted;
    for (const auto& l : preference)
      if (!l.empty()) wanted += (wanted.empty() ? "" : ", ") + l;
    return Error::invalid("template.language", "template '" + t.code + "' has no translation in " + wanted +
                                                   " (it has " + have + ")");
  }
  RenderedMessage out;
  out.language = language;
  std::string missing;
  auto st = scan(
      tr->body, [&](const std::string& text) { out.body += text; },
      [&](const std::string& name) {
        auto it = variables.find(name);
        if (it == variables.end()) {
          if (missing.empty()) missing = name;
          return;
        }
        out.body += it->second;
      });
  if (!st) return st.error();
  if (!missing.empty())
    return Error::invalid("template.variables." + missing, "template '" + t.code + "' (" + language +
                                                               ") needs the variable '" + missing + "'");
  out.provider_template = tr->provider_template;
  out.replies = tr->replies;
  for (const auto& name : tr->provider_variables) {
    auto it = variables.find(name);
    if (it == variables.end())
      return Error::invalid("template.variables." + name, "template '" + t.code + "' (" + language +
                                                              ") needs the variable '" + name + "'");
    out.provider_variables.push_back(it->second);
  }
  return out;
}

std::vector<Preflight> preflight(const Template& t, const std::optional<sdk::Money>& price_per_segment) {
  std::vector<Preflight> out;
  for (const auto& [lang, tr] : t.translations) {
    Preflight p;
    p.language = lang;
    // The fixed text alone: the placeholders' braces are not sent (and would
    // count double in GSM-7), the variables' values are not known yet.
    std::string fixed;
    (void)scan(
        tr.body, [&](const std::string& text) { fixed += text; },
        [&](const std::string& name) {
          if (std::find(p.variables.begin(), p.variables.end(), name) == p.variables.end())
            p.variables.push_back(name);
        });
    p.count = count_segments(fixed);
    if (price_per_segment)
      p.estimated_cost = sdk::Money{price_per_segment->micros * p.count.segments, price_per_segment->currency};
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace barid::core
