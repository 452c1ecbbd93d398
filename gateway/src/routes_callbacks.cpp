// Provider callbacks: what providers send to POST /webhooks/{instance}/{kind}
// (delivery reports, inbound messages; providers call them webhooks). The
// request goes as it came to the instance's plugin (core::CallbackProcessor).
// The tenants' event webhooks, which Barid sends, are routes_webhooks.cpp.

#include "routes.hpp"

#include <sstream>

namespace barid::gateway {

using namespace Pistache;

// POST /webhooks/:instance/:kind
void HttpApi::Routes::provider_callback(const Rest::Request& request, Reply& reply) {
  const auto instance = request.param(":instance").as<std::string>();
  sdk::CallbackRequest cb;
  cb.kind = request.param(":kind").as<std::string>();
  cb.method = Http::methodString(request.method());
  std::string base = app.public_url().get();
  while (!base.empty() && base.back() == '/') base.pop_back();
  // Pistache (0.0.5) keeps no raw request target: the query string is
  // rebuilt from its parsed parameters, which it holds unordered. With one
  // parameter (the mid= or token= the plugins add) that is the URL the
  // provider signed; server.public_base_url may not carry a query string.
  cb.url = base + request.resource() + request.query().as_str();
  for (const auto& [name, raw] : request.headers().rawList()) cb.headers.emplace_back(name, raw.value());
  for (const auto& h : request.headers().list()) {
    std::ostringstream os;
    h->write(os);
    cb.headers.emplace_back(h->name(), os.str());
  }
  cb.body = request.body();
  auto r = app.callbacks().process(instance, cb, actor_of(request, proxies, "provider:" + instance));
  if (!r) {
    if (r.error().field == "signature")
      return reply.send_problem(problem(403, "forbidden", "Forbidden", r.error().message));
    if (r.error().kind == core::ErrorKind::invalid)
      return reply.send_problem(problem(400, "bad-webhook", "The webhook could not be used", r.error().message));
    return send_error(reply, r.error());
  }
  reply.send(r->http_status, r->body, r->content_type);
}

}  // namespace barid::gateway
