#pragma once
// Message templates: per tenant, a code, the channels it may go out on, and
// a translation per language with {{variable}} placeholders (and, for
// WhatsApp, an optional provider template reference with the order in which
// variables are passed to it).

#include <barid/core/message.hpp>
#include <barid/core/result.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace barid::core {

struct TemplateTranslation {
  std::string body;
  std::string provider_template;                // e.g. a Twilio Content SID; empty: none
  std::vector<std::string> provider_variables;  // variable names, in the provider's order
  // The answers a send in this language expects when it names none itself
  // (normalised answer -> intent; see check_replies).
  std::map<std::string, std::string> replies;
};

struct Template {
  std::int64_t id = 0;
  TenantId tenant_id = 0;
  std::string code;
  std::set<sdk::Channel> channels;
  std::string category;
  std::string description;
  // Defaults for sends from this template that set none themselves.
  std::optional<Priority> priority;
  std::optional<std::chrono::seconds> validity;
  std::map<std::string, TemplateTranslation> translations;  // by language
  TimePoint created_at{};
  TimePoint updated_at{};
};

// The variables a body uses, in order of first appearance; an error names
// the malformed placeholder.
Result<std::vector<std::string>> template_variables(const std::string& body);

// Checks a template before it is saved: code, channels, languages, bodies,
// placeholders, provider variables.
Status validate_template(const Template& t);

struct RenderedMessage {
  std::string language;
  std::string body;
  std::string provider_template;
  std::vector<std::string> provider_variables;  // values, in the provider's order
  std::map<std::string, std::string> replies;   // the translation's default replies
};

// Picks the first language of `preference` the template has (the caller
// lists: requested, recipient's preferred, tenant default, "en"), and fills
// in the variables. A missing variable is an invalid-input error on
// "template.variables.<name>", and so is one that no translation of the
// template uses.
Result<RenderedMessage> render_template(const Template& t, const std::vector<std::string>& preference,
                                        const std::map<std::string, std::string>& variables);

// What a translation costs to send, before the variables are known: the
// encoding, characters and segments of its fixed text (placeholders
// removed); each variable's value adds its own characters, and a value
// outside GSM-7 (an Arabic name) turns the whole message UCS-2.
struct Preflight {
  std::string language;
  SegmentCount count;
  std::vector<std::string> variables;
  std::optional<sdk::Money> estimated_cost;  // when a per-segment price is configured
};

std::vector<Preflight> preflight(const Template& t, const std::optional<sdk::Money>& price_per_segment);

bool is_language_code(const std::string& s);

}  // namespace barid::core
