// Statistics, providers, tenant settings, audit log, health, readiness,
// metrics, the OpenAPI document.

#include "routes.hpp"

#include "openapi_document.hpp"

#include <openssl/crypto.h>

#include <barid/core/log.hpp>

#include <cmath>
#include <sstream>

namespace barid::gateway {

using namespace Pistache;
using nlohmann::json;

namespace {

json optional_number(const std::optional<double>& v, int decimals) {
  if (!v) return nullptr;
  const double scale = std::pow(10.0, decimals);
  return std::round(*v * scale) / scale;
}

std::string prometheus_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

// GET /v1/stats?days=7 | ?from=...&to=...
void HttpApi::Routes::stats(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::read);
  if (!principal) return;
  const auto& q = request.query();
  core::TimePoint to = core::now_us();
  core::TimePoint from = to - std::chrono::hours(24 * 7);
  if (auto days = q.get("days")) {
    int d = 0;
    try {
      d = std::stoi(*days);
    } catch (...) {
    }
    if (d < 1 || d > kMaxStatsDays)
      return send_error(reply, core::Error::invalid("days", "days: 1 to " + std::to_string(kMaxStatsDays)));
    from = to - std::chrono::hours(24LL * d);
  }
  if (auto v = q.get("from")) {
    auto t = core::parse_iso8601(*v);
    if (!t) return send_error(reply, core::Error::invalid("from", "from: an RFC 3339 time with a zone"));
    from = *t;
  }
  if (auto v = q.get("to")) {
    auto t = core::parse_iso8601(*v);
    if (!t) return send_error(reply, core::Error::invalid("to", "to: an RFC 3339 time with a zone"));
    to = *t;
  }
  if (to <= from) return send_error(reply, core::Error::invalid("to", "'to' must be after 'from'"));
  auto s = app.store().statistics(principal->tenant_id, from, to);
  if (!s) return send_error(reply, s.error());
  json cost = json::array();
  for (const auto& [currency, micros] : s->cost_micros_by_currency)
    cost.push_back({{"currency", currency}, {"amount", money_text(micros)}});
  json errors = json::array();
  for (const auto& [code, n] : s->top_errors) errors.push_back({{"code", code}, {"count", n}});
  reply.send_json(
      200, json{{"from", core::format_iso8601(s->from)},
                {"to", core::format_iso8601(s->to)},
                {"total", s->total},
                {"by_channel", s->by_channel},
                {"by_status", s->by_status},
                {"by_provider", s->by_provider},
                {"final", s->final_outcomes},
                {"successful", s->successful},
                {"success_rate", optional_number(s->success_rate ? std::optional<double>(*s->success_rate * 100) : std::nullopt, 2)},
                {"cost", cost},
                {"delivery_seconds",
                 {{"median", optional_number(s->median_delivery_seconds, 3)},
                  {"p95", optional_number(s->p95_delivery_seconds, 3)}}},
                {"retries",
                 {{"retried", s->retried},
                  {"successful", s->retried_successful},
                  {"success_rate", optional_number(s->retry_success_rate ? std::optional<double>(*s->retry_success_rate * 100)
                                                                         : std::nullopt,
                                                   2)}}},
                {"top_errors", errors}});
}

// GET /v1/providers: the channels this tenant can use and how healthy their
// instances are; nothing of the operator's configuration.
void HttpApi::Routes::providers(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::read);
  if (!principal) return;
  auto health = app.store().provider_health();
  if (!health) return send_error(reply, health.error());
  json channels = json::object();
  for (const auto& [ch, r] : app.routes_of(principal->tenant_id)) {
    json instances = json::array();
    bool usable = false;
    auto add = [&](const std::string& name, const char* role) {
      auto it = health->find(name);
      const std::string state = it == health->end() ? "unchecked" : std::string(sdk::to_string(it->second.report.state));
      if (state != "unhealthy") usable = true;
      instances.push_back({{"name", name}, {"role", role}, {"health", state}});
    };
    add(r.primary, "primary");
    for (const auto& f : r.fallbacks) add(f, "fallback");
    channels[std::string(sdk::to_string(ch))] = {{"status", usable ? "ok" : "down"}, {"instances", instances}};
  }
  reply.send_json(200, json{{"channels", channels}});
}

// GET /v1/admin/providers[?check=true]: plugins, instances (configuration
// with secrets redacted), routing, health, HTTP counters.
void HttpApi::Routes::admin_providers(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate_operator(request, reply);
  if (!principal) return;
  if (request.query().get("check").value_or("") == "true") app.health().check_all();
  auto health = app.store().provider_health();
  if (!health) return send_error(reply, health.error());

  json plugins = json::array();
  for (const auto& p : app.plugins().plugins()) {
    const auto& d = p->descriptor();
    json channels = json::array(), caps = json::array(), keys = json::array();
    for (auto c : d.channels) channels.push_back(std::string(sdk::to_string(c)));
    for (auto c : sdk::kAllCapabilities)
      if (d.has(c)) caps.push_back(std::string(sdk::to_string(c)));
    for (const auto& k : d.config_keys)
      keys.push_back({{"name", k.name},
                      {"required", k.required},
                      {"secret", k.secret},
                      {"default", k.default_value},
                      {"description", k.description}});
    plugins.push_back({{"name", d.name},
                       {"version", d.version},
                       {"description", d.description},
                       {"sdk_abi", std::to_string(p->abi().major) + "." + std::to_string(p->abi().minor)},
                       {"path", p->path().string()},
                       {"channels", channels},
                       {"capabilities", caps},
                       {"config_keys", keys}});
  }
  json failed = json::array();
  for (const auto& f : app.plugin_failures()) failed.push_back({{"path", f.path.string()}, {"error", f.error}});

  auto set = app.providers().snapshot();
  json instances = json::array();
  for (const auto& [name, slot] : set->instances) {
    const auto& d = slot.instance->descriptor();
    json config = json::object();
    for (const auto& k : d.config_keys) {
      const auto v = slot.instance->config().get(k.name);
      config[k.name] = k.secret ? json(v.empty() ? "" : "[redacted]") : json(v);
    }
    json routes = json::array();
    for (const auto& [ch, r] : set->routes) {
      if (r.primary == name) routes.push_back({{"channel", std::string(sdk::to_string(ch))}, {"role", "primary"}});
      for (const auto& f : r.fallbacks)
        if (f == name) routes.push_back({{"channel", std::string(sdk::to_string(ch))}, {"role", "fallback"}});
    }
    json h = nullptr;
    if (auto it = health->find(name); it != health->end())
      h = {{"state", std::string(sdk::to_string(it->second.report.state))},
           {"detail", it->second.report.detail},
           {"checked_at", core::format_iso8601(it->second.checked_at)},
           {"checked_by", it->second.checked_by}};
    json http = nullptr;
    if (auto* ctx = dynamic_cast<core::GatewayHostContext*>(&slot.instance->context())) {
      auto st = ctx->http_client().stats();
      http = {{"requests", st.requests},
              {"transport_errors", st.transport_errors},
              {"http_errors", st.http_errors},
              {"mean_latency_ms", st.requests ? json(std::round(st.total_latency_us / 10.0 / st.requests) / 100.0)
                                              : json(nullptr)}};
    }
    instances.push_back({{"name", name},
                         {"plugin", d.name},
                         {"routes", routes},
                         {"config", config},
                         {"rate_limit", slot.rate > 0 ? json(slot.rate) : json(nullptr)},
                         {"health", h},
                         {"http", http}});
  }
  json routing = json::object();
  for (const auto& [ch, r] : set->routes)
    routing[std::string(sdk::to_string(ch))] = {{"provider", r.primary}, {"fallback", r.fallbacks}};
  reply.send_json(200, json{{"plugins", plugins},
                            {"failed_plugins", failed},
                            {"instances", instances},
                            {"routing", routing}});
}

// GET /v1/settings
void HttpApi::Routes::get_settings(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::read);
  if (!principal) return;
  send_settings(reply, principal->tenant_id);
}

void HttpApi::Routes::send_settings(Reply& reply, core::TenantId tenant) {
  auto t = app.store().find_tenant(tenant);
  if (!t) return send_error(reply, t.error());
  if (!*t) return reply.send_problem(problem(404, "not-found", "Not found", "the tenant no longer exists"));
  const auto& jobs = app.config().jobs;
  reply.send_json(
      200, json{{"tenant", (*t)->name},
                {"default_language", (*t)->default_language},
                {"retention_days", (*t)->retention_days ? json(*(*t)->retention_days) : json(nullptr)},
                {"effective_retention_days", core::effective_retention_days((*t)->retention_days, jobs)},
                {"max_retention_days", jobs.retention_max_days},
                {"content_retention", (*t)->discard_content ? "discard" : "retain"},
                {"redact_after_days", (*t)->redact_after_days ? json(*(*t)->redact_after_days) : json(nullptr)}});
}

// PUT /v1/settings {default_language, retention_days, content_retention, redact_after_days}
void HttpApi::Routes::put_settings(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::manage);
  if (!principal) return;
  auto body = json_body(request, reply);
  if (!body) return;
  auto read = read_settings(*body, app.config().jobs.retention_max_days);
  if (!read) return send_error(reply, read.error());
  const core::TenantSettings& s = *read;
  if (auto st = app.store().update_tenant_settings(principal->tenant_id, s); !st) return send_error(reply, st.error());
  app.catalog().invalidate_tenant(principal->tenant_id);
  const auto days = [](std::optional<int> d) { return d ? std::to_string(*d) : std::string("default"); };
  audit(*principal, request, "settings.updated", "tenant",
        "default_language " + s.default_language + ", retention_days " + days(s.retention_days) +
            ", content_retention " + (s.discard_content ? "discard" : "retain") + ", redact_after_days " +
            (s.redact_after_days ? std::to_string(*s.redact_after_days) : "none"));
  // The settings as they now are, under the `manage` scope that changed them
  // (a manage-only key may write what it may not otherwise read).
  send_settings(reply, principal->tenant_id);
}

// GET /v1/audit?limit=&before=
void HttpApi::Routes::audit_log(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::read);
  if (!principal) return;
  send_audit(request, reply, principal->tenant_id);
}

// GET /v1/admin/audit?limit=&before=: the operator's own log (tenant 0):
// operator keys revoked, the operator's reads of inbound messages.
void HttpApi::Routes::admin_audit_log(const Rest::Request& request, Reply& reply) {
  if (!authenticate_operator(request, reply)) return;
  send_audit(request, reply, 0);
}

void HttpApi::Routes::send_audit(const Rest::Request& request, Reply& reply, core::TenantId tenant) {
  // The same bounds as the other lists (GET /v1/messages): a whole number
  // 1 to 1000, else a 422 naming the parameter; nothing is read.
  const auto limit = read_page_limit(request.query().get("limit"), 100);
  if (!limit) return send_error(reply, limit.error());
  std::optional<std::int64_t> before;
  if (auto v = request.query().get("before")) {
    before = read_whole_number(*v);
    if (!before || *before < 1)
      return send_error(reply, core::Error::invalid("before", "before: the id of an audit entry (a whole number from 1)"));
  }
  auto entries = app.store().list_audit(tenant, *limit, before);
  if (!entries) return send_error(reply, entries.error());
  json list = json::array();
  for (const auto& e : *entries)
    list.push_back({{"id", e.id},
                    {"at", core::format_iso8601(e.at)},
                    {"action", e.action},
                    {"subject", e.subject},
                    {"detail", e.detail},
                    {"actor", e.actor.actor},
                    {"ip", e.actor.ip},
                    {"user_agent", e.actor.user_agent}});
  reply.send_json(200, json{{"entries", list}});
}

// GET /health: the process is up.
void HttpApi::Routes::health(const Rest::Request&, Reply& reply) { reply.send_json(200, json{{"status", "ok"}}); }

// GET /ready: the database answers, and every routed channel has an instance
// whose last health check did not find it unhealthy.
void HttpApi::Routes::ready(const Rest::Request&, Reply& reply) {
  json checks;
  bool ok = true;
  auto db = app.store().ping();
  // The error's text is for the log, not for whoever can reach /ready.
  if (!db) core::log_warn("ready", "the database does not answer: " + db.error().message);
  checks["database"] = json{{"status", db ? "ok" : "down"}};
  ok = ok && db.ok();
  std::map<std::string, core::Store::HealthRecord> health;
  if (db) {
    auto h = app.store().provider_health();
    if (h) health = std::move(*h);
  }
  auto set = app.providers().snapshot();
  json channels = json::object();
  for (const auto& [ch, route] : set->routes) {
    std::vector<std::string> names{route.primary};
    names.insert(names.end(), route.fallbacks.begin(), route.fallbacks.end());
    bool usable = false;
    json instances = json::object();
    for (const auto& n : names) {
      auto it = health.find(n);
      const std::string state = it == health.end() ? "unchecked" : std::string(sdk::to_string(it->second.report.state));
      instances[n] = state;
      if (state != "unhealthy") usable = true;
    }
    channels[std::string(sdk::to_string(ch))] = {{"status", usable ? "ok" : "down"}, {"instances", instances}};
    ok = ok && usable;
  }
  checks["channels"] = channels;
  ok = ok && !set->routes.empty();
  reply.send_json(ok ? 200 : 503, json{{"status", ok ? "ready" : "not ready"}, {"checks", checks}});
}

// GET /metrics (Prometheus text format)
void HttpApi::Routes::metrics(const Rest::Request& request, Reply& reply) {
  const std::string& token = app.config().server.metrics_token;
  if (!token.empty()) {
    const std::string auth = header_value(request.headers(), "Authorization");
    const std::string expected = "Bearer " + token;
    // Compared in constant time: the token is a secret.
    const bool ok = auth.size() == expected.size() &&
                    CRYPTO_memcmp(auth.data(), expected.data(), expected.size()) == 0;
    if (!ok)
      return reply.send_problem(problem(401, "unauthorized", "Authentication required",
                                        "send the metrics token as 'Authorization: Bearer <token>'"));
  }
  std::ostringstream m;
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    m << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n" << name << " " << v << "\n";
  };
  auto gauge = [&](const char* name, const char* help, double v) {
    m << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n" << name << " " << v << "\n";
  };
  const auto intake = app.writer().stats();
  counter("barid_intake_stored_total", "Messages committed by the accept path (suppressed included).", intake.stored);
  counter("barid_intake_refused_total", "Messages refused after queueing: templates, the tenant's rules, quotas or spend cap.", intake.refused);
  const auto hooks = app.webhooks().stats();
  counter("barid_webhook_delivered_total", "Webhook events delivered (a 2xx from the endpoint), by this node.", hooks.delivered);
  counter("barid_webhook_failed_attempts_total", "Webhook attempts that failed and will be tried again.", hooks.failed_attempts);
  counter("barid_webhook_given_up_total", "Webhook deliveries given up (too old, or their message is gone).", hooks.given_up);
  counter("barid_intake_failed_total", "Messages answered 503 because the database failed.", intake.failed);
  counter("barid_intake_batches_total", "Accept-path transactions (group commits).", intake.batches);
  gauge("barid_intake_pending", "Messages waiting for their commit.", static_cast<double>(app.writer().pending()));
  counter("barid_auth_lookups_refused_total",
          "Requests with a key id this node does not know, answered 503 because the lookup budget was spent.",
          app.api_keys().lookups_refused());
  if (auto* d = app.dispatcher()) {
    const auto s = d->stats();
    counter("barid_dispatch_claimed_total", "Messages claimed by this node.", s.claimed);
    counter("barid_dispatch_sent_total", "Provider calls that were accepted.", s.sent);
    counter("barid_dispatch_retried_total", "Provider calls that will be retried.", s.retried);
    counter("barid_dispatch_failed_total", "Messages that failed for good on this node.", s.failed);
    counter("barid_dispatch_expired_total", "Messages whose validity ended before they were sent.", s.expired);
    counter("barid_dispatch_handed_back_total",
            "Messages given back untried (turn too late for the lease, drain, instance removed).", s.handed_back);
    counter("barid_dispatch_lost_leases_total",
            "Outcomes not written because another node held the message by then.", s.lost_leases);
    gauge("barid_dispatch_in_flight", "Messages claimed and not yet recorded.", static_cast<double>(s.in_flight));
  }
  auto set = app.providers().snapshot();
  m << "# HELP barid_provider_http_requests_total Requests to a provider's API.\n"
       "# TYPE barid_provider_http_requests_total counter\n";
  std::ostringstream errors, http_errors, latency;
  for (const auto& [name, slot] : set->instances) {
    auto* ctx = dynamic_cast<core::GatewayHostContext*>(&slot.instance->context());
    if (!ctx) continue;
    const auto st = ctx->http_client().stats();
    const std::string label = "{instance=\"" + prometheus_label(name) + "\"}";
    m << "barid_provider_http_requests_total" << label << " " << st.requests << "\n";
    errors << "barid_provider_http_transport_errors_total" << label << " " << st.transport_errors << "\n";
    http_errors << "barid_provider_http_error_responses_total" << label << " " << st.http_errors << "\n";
    latency << "barid_provider_http_latency_seconds_sum" << label << " " << st.total_latency_us / 1e6 << "\n";
  }
  m << "# HELP barid_provider_http_transport_errors_total Requests that got no response (timeout, connection).\n"
       "# TYPE barid_provider_http_transport_errors_total counter\n"
    << errors.str()
    << "# HELP barid_provider_http_error_responses_total Responses with status 400 or above.\n"
       "# TYPE barid_provider_http_error_responses_total counter\n"
    << http_errors.str()
    << "# HELP barid_provider_http_latency_seconds_sum Time spent in requests to the provider.\n"
       "# TYPE barid_provider_http_latency_seconds_sum counter\n"
    << latency.str();
  reply.send(200, m.str(), "text/plain; version=0.0.4");
}

// GET /openapi.json
void HttpApi::Routes::openapi(const Rest::Request&, Reply& reply) {
  reply.send(200, openapi_document(), "application/json");
}

void HttpApi::Routes::not_found(const Rest::Request& request, Reply& reply) {
  reply.send_problem(problem(404, "not-found", "Not found", "no route for " + request.resource()));
}

}  // namespace barid::gateway
