// The route table the router is built from and the OpenAPI description the
// gateway serves (docs/openapi.json, compiled in) name the same operations,
// with the same kind of key: a route missing from either fails here.

#include "http_api.hpp"
#include "openapi_document.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>
#include <string>

namespace barid::gateway {
namespace {

// "/v1/messages/:id" -> "/v1/messages/{id}"
std::string openapi_path(const std::string& path) {
  return std::regex_replace(path, std::regex(":([A-Za-z_]+)"), "{$1}");
}

std::string security_of(RouteAccess access) {
  switch (access) {
    case RouteAccess::tenant:
      return "bearer";
    case RouteAccess::operator_key:
      return "operator";
    case RouteAccess::open:
    case RouteAccess::provider:
      break;
  }
  return "";
}

TEST(RouteTable, EveryRouteIsDocumentedWithItsKindOfKeyAndEveryDocumentedOperationIsRouted) {
  const auto doc = nlohmann::json::parse(openapi_document());
  std::map<std::string, std::string> documented;  // "GET /v1/..." -> security scheme ("" for none)
  for (const auto& [path, item] : doc.at("paths").items())
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters") continue;
      std::string upper = method;
      std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
      std::string scheme;
      if (op.contains("security") && !op["security"].empty()) scheme = op["security"][0].begin().key();
      documented[upper + " " + path] = scheme;
    }

  std::set<std::string> routed;
  ASSERT_GT(HttpApi::route_table().size(), 40u);
  for (const auto& r : HttpApi::route_table()) {
    const std::string op = r.method + " " + openapi_path(r.path);
    EXPECT_TRUE(routed.insert(op).second) << op << " is in the route table twice";
    auto it = documented.find(op);
    if (it == documented.end()) {
      ADD_FAILURE() << op << " is routed but not in docs/openapi.json";
      continue;
    }
    EXPECT_EQ(it->second, security_of(r.access)) << op << ": the description and the route disagree on its key";
  }
  for (const auto& [op, scheme] : documented)
    EXPECT_TRUE(routed.count(op)) << op << " is in docs/openapi.json but no route serves it";
}

TEST(RouteTable, OperatorRoutesAreTheAdminOnesAndProviderRoutesTheCallbacks) {
  for (const auto& r : HttpApi::route_table()) {
    const bool admin = r.path.rfind("/v1/admin/", 0) == 0;
    const bool callback = r.path.rfind("/webhooks/", 0) == 0;
    EXPECT_EQ(admin, r.access == RouteAccess::operator_key) << r.method << " " << r.path;
    EXPECT_EQ(callback, r.access == RouteAccess::provider) << r.method << " " << r.path;
    const bool api = r.path.rfind("/v1/", 0) == 0;
    EXPECT_FALSE(api && r.access == RouteAccess::open) << r.method << " " << r.path << " takes no key";
  }
}

}  // namespace
}  // namespace barid::gateway
