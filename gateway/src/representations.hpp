#pragma once
// JSON shapes of the API's resources and errors (application/problem+json,
// RFC 9457, with the offending field).

#include <barid/core/money.hpp>
#include <barid/core/message.hpp>
#include <barid/core/result.hpp>

#include <nlohmann/json.hpp>

#include <string>

namespace barid::gateway {

// with_body: the body, the template variables and body_redacted_at; lists
// leave them out unless asked (?include=body), and every read of them is
// audited.
nlohmann::json message_json(const core::Message& m, bool with_body);
nlohmann::json event_json(const core::MessageEvent& e);
using core::money_text;  // 7500 -> "0.007500"

struct Problem {
  int status = 500;
  std::string type;   // a URN, e.g. urn:barid:problem:invalid-field
  std::string title;
  std::string detail;
  std::string field;  // empty when no single field is at fault
  nlohmann::json body() const;
};

Problem problem_for(const core::Error& e);
Problem problem(int status, std::string type, std::string title, std::string detail, std::string field = {});

}  // namespace barid::gateway
