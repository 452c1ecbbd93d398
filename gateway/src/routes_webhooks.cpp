// Event webhooks: a tenant's endpoints (create, list, read, change, delete,
// rotate the secret), the attempts made to one, and replaying its events.

#include "routes.hpp"

namespace barid::gateway {

using namespace Pistache;
using nlohmann::json;

namespace {

// At most this many endpoints per tenant.
constexpr std::size_t kMaxEndpoints = 20;

json endpoint_json(const core::WebhookEndpoint& w) {
  json events = json::array();
  if (w.events.empty())
    for (auto t : core::kWebhookEventTypes) events.push_back(std::string(t));
  else
    for (const auto& t : w.events) events.push_back(t);
  return json{{"id", w.id.str()},
              {"url", w.url},
              {"description", w.description},
              {"events", events},
              {"include_body", w.include_body},
              {"enabled", !w.disabled_at},
              {"disabled_at", w.disabled_at ? json(core::format_iso8601(*w.disabled_at)) : json(nullptr)},
              {"disabled_reason", w.disabled_reason.empty() ? json(nullptr) : json(w.disabled_reason)},
              {"failing_since", w.failing_since ? json(core::format_iso8601(*w.failing_since)) : json(nullptr)},
              {"created_at", core::format_iso8601(w.created_at)},
              {"updated_at", core::format_iso8601(w.updated_at)}};
}

// include_body: true sends message texts and numbers to the endpoint, which
// is reading them: the key needs `read` as well as `manage`. False when the
// answer (403) is sent.
bool may_include_bodies(const core::Principal& p, Reply& reply) {
  if (core::has_scope(p.scopes, core::Scope::read)) return true;
  reply.send_problem(problem(403, "forbidden", "Forbidden",
                             "this API key does not have the 'read' scope, which include_body: true needs (the "
                             "endpoint then receives message texts and numbers)"));
  return false;
}

}  // namespace

std::optional<core::WebhookEndpoint> HttpApi::Routes::webhook_param(const Rest::Request& request, Reply& reply,
                                                                    core::TenantId tenant) {
  const std::string text = request.param(":id").as<std::string>();
  auto id = core::Uuid::parse(text);
  if (!id) {
    reply.send_problem(problem(404, "not-found", "Not found", "no webhook endpoint '" + text + "'"));
    return std::nullopt;
  }
  auto found = app.store().find_webhook(tenant, *id);
  if (!found) {
    send_error(reply, found.error());
    return std::nullopt;
  }
  if (!*found) {
    reply.send_problem(problem(404, "not-found", "Not found", "no webhook endpoint '" + text + "'"));
    return std::nullopt;
  }
  return **found;
}

// POST /v1/webhooks {url, events?, description?, include_body?}: the secret
// is in this answer only.
void HttpApi::Routes::create_webhook(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::manage);
  if (!principal) return;
  auto body = json_body(request, reply);
  if (!body) return;
  auto read = read_webhook(*body, true, app.config().webhooks.hosts);
  if (!read) return send_error(reply, read.error());
  if (read->include_body.value_or(false) && !may_include_bodies(*principal, reply)) return;
  auto existing = app.store().list_webhooks(principal->tenant_id);
  if (!existing) return send_error(reply, existing.error());
  if (existing->size() >= kMaxEndpoints)
    return send_error(reply, core::Error::invalid("url", "at most " + std::to_string(kMaxEndpoints) +
                                                             " webhook endpoints per tenant"));
  core::WebhookEndpoint w;
  w.id = core::Uuid::v7();
  w.tenant_id = principal->tenant_id;
  w.url = *read->url;
  w.events = read->events.value_or(std::set<std::string>{});
  w.description = read->description.value_or("");
  w.include_body = read->include_body.value_or(false);
  w.secret = core::new_webhook_secret();
  if (auto st = app.store().add_webhook(w); !st) return send_error(reply, st.error());
  auto saved = app.store().find_webhook(w.tenant_id, w.id);
  if (!saved) return send_error(reply, saved.error());
  if (!*saved) return send_error(reply, core::Error::internal("the new endpoint was not found"));
  audit(*principal, request, "webhook.created", w.id.str(), w.include_body ? "with message bodies" : "");
  if (w.include_body) audit(*principal, request, "webhook.body_enabled", w.id.str(), w.url);
  json out = endpoint_json(**saved);
  out["secret"] = w.secret;
  reply.header("Location", "/v1/webhooks/" + w.id.str());
  reply.send_json(201, out);
}

// GET /v1/webhooks
void HttpApi::Routes::list_webhooks(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::read);
  if (!principal) return;
  auto list = app.store().list_webhooks(principal->tenant_id);
  if (!list) return send_error(reply, list.error());
  json items = json::array();
  for (const auto& w : *list) items.push_back(endpoint_json(w));
  reply.send_json(200, json{{"webhooks", items}});
}

// GET /v1/webhooks/:id
void HttpApi::Routes::get_webhook(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::read);
  if (!principal) return;
  auto w = webhook_param(request, reply, principal->tenant_id);
  if (!w) return;
  reply.send_json(200, endpoint_json(*w));
}

// PATCH /v1/webhooks/:id {url?, events?, description?, include_body?, enabled?}
void HttpApi::Routes::patch_webhook(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::manage);
  if (!principal) return;
  auto w = webhook_param(request, reply, principal->tenant_id);
  if (!w) return;
  auto body = json_body(request, reply);
  if (!body) return;
  auto read = read_webhook(*body, false, app.config().webhooks.hosts);
  if (!read) return send_error(reply, read.error());
  if (read->include_body.value_or(false) && !may_include_bodies(*principal, reply)) return;
  const bool had_bodies = w->include_body;
  if (read->url) w->url = *read->url;
  if (read->events) w->events = *read->events;
  if (read->description) w->description = *read->description;
  if (read->include_body) w->include_body = *read->include_body;
  if (read->enabled && !*read->enabled) w->disabled_reason = "disabled by the tenant";
  auto updated = app.store().update_webhook(*w, read->enabled);
  if (!updated) return send_error(reply, updated.error());
  auto saved = app.store().find_webhook(principal->tenant_id, w->id);
  if (!saved) return send_error(reply, saved.error());
  if (!*saved) return reply.send_problem(problem(404, "not-found", "Not found", "the endpoint is gone"));
  audit(*principal, request, "webhook.changed", w->id.str(), (*saved)->disabled_at ? "disabled" : "enabled");
  if (!had_bodies && (*saved)->include_body)
    audit(*principal, request, "webhook.body_enabled", w->id.str(), (*saved)->url);
  reply.send_json(200, endpoint_json(**saved));
}

// DELETE /v1/webhooks/:id
void HttpApi::Routes::delete_webhook(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::manage);
  if (!principal) return;
  auto w = webhook_param(request, reply, principal->tenant_id);
  if (!w) return;
  auto deleted = app.store().delete_webhook(principal->tenant_id, w->id);
  if (!deleted) return send_error(reply, deleted.error());
  audit(*principal, request, "webhook.deleted", w->id.str(), "");
  reply.send(204, "", "text/plain");
}

// POST /v1/webhooks/:id/rotate-secret: a new secret; the old one keeps
// signing beside it for webhooks.secret_overlap (24 h).
void HttpApi::Routes::rotate_webhook_secret(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::manage);
  if (!principal) return;
  auto w = webhook_param(request, reply, principal->tenant_id);
  if (!w) return;
  const std::string secret = core::new_webhook_secret();
  const core::TimePoint until = core::now_us() + app.config().webhooks.secret_overlap;
  auto rotated = app.store().rotate_webhook_secret(principal->tenant_id, w->id, secret, until);
  if (!rotated) return send_error(reply, rotated.error());
  audit(*principal, request, "webhook.secret_rotated", w->id.str(), "");
  reply.send_json(200, json{{"id", w->id.str()},
                            {"secret", secret},
                            {"previous_secret_expires_at", core::format_iso8601(until)}});
}

// GET /v1/webhooks/:id/deliveries?limit=&before=: the attempts, newest first.
void HttpApi::Routes::webhook_deliveries(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::read);
  if (!principal) return;
  auto w = webhook_param(request, reply, principal->tenant_id);
  if (!w) return;
  const auto& q = request.query();
  const auto limit = read_page_limit(q.get("limit"), 100);
  if (!limit) return send_error(reply, limit.error());
  std::optional<std::int64_t> before;
  if (auto v = q.get("before")) {
    before = read_whole_number(*v);
    if (!before) return send_error(reply, core::Error::invalid("before", "before: the next of the previous page"));
  }
  auto attempts = app.store().list_webhook_attempts(principal->tenant_id, w->id, *limit, before);
  if (!attempts) return send_error(reply, attempts.error());
  json items = json::array();
  for (const auto& a : *attempts)
    items.push_back({{"id", a.id},
                     {"event_id", core::webhook_id(a.event_id)},
                     {"type", a.type},
                     {"at", core::format_iso8601(a.at)},
                     {"status_code", a.status_code > 0 ? json(a.status_code) : json(nullptr)},
                     {"latency_ms", a.latency_ms},
                     {"error", a.error.empty() ? json(nullptr) : json(a.error)},
                     {"delivered", a.delivered}});
  reply.send_json(200, json{{"deliveries", items},
                            {"next", static_cast<int>(attempts->size()) == *limit && !attempts->empty()
                                         ? json(std::to_string(attempts->back().id))
                                         : json(nullptr)}});
}

// POST /v1/webhooks/:id/replay {"since"}: the tenant's events since then
// that the endpoint wants, sent again (in order, as new deliveries); at most
// webhooks.replay_limit of them, and 409 while the previous replay's are
// still pending.
void HttpApi::Routes::replay_webhook(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::manage);
  if (!principal) return;
  auto w = webhook_param(request, reply, principal->tenant_id);
  if (!w) return;
  auto body = json_body(request, reply);
  if (!body) return;
  JsonReader r(*body);
  if (auto st = r.only({"since"}); !st) return send_error(reply, st.error());
  auto since_text = r.str("since", true);
  if (!since_text) return send_error(reply, since_text.error());
  auto since = core::parse_iso8601(*since_text);
  if (!since) return send_error(reply, core::Error::invalid("since", "since: an RFC 3339 time with a zone"));
  auto n = app.store().replay_webhook_events(principal->tenant_id, w->id, *since, app.config().webhooks.replay_limit);
  if (!n) return send_error(reply, n.error());
  audit(*principal, request, "webhook.replayed", w->id.str(),
        std::to_string(n->replayed) + " events since " + *since_text);
  reply.send_json(202, json{{"replayed", n->replayed},
                            {"next_since", n->next_since ? json(core::format_iso8601(*n->next_since)) : json(nullptr)}});
}

}  // namespace barid::gateway
