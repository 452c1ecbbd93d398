#include "http_api.hpp"

#include "routes.hpp"

#include <barid/core/ids.hpp>
#include <barid/core/log.hpp>

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/router.h>

#include <atomic>
#include <chrono>
#include <cstdio>

namespace barid::gateway {

using namespace Pistache;

// ---------------------------------------------------------------- TaskPool

TaskPool::TaskPool(int threads, std::size_t max_queued) : max_queued_(max_queued) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        std::function<void()> task;
        {
          std::unique_lock lock(mutex_);
          cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
          if (tasks_.empty()) return;
          task = std::move(tasks_.front());
          tasks_.pop_front();
        }
        try {
          task();
        } catch (const std::exception& e) {
          core::log_error("http", std::string("a handler task threw: ") + e.what());
        } catch (...) {
          core::log_error("http", "a handler task threw");
        }
      }
    });
  }
}

TaskPool::~TaskPool() { stop(); }

bool TaskPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || tasks_.size() >= max_queued_) return false;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void TaskPool::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

// ---------------------------------------------------------------- Routes (shared parts)

namespace {

// This process's request ids: a random prefix (so that nodes do not share
// ids) and a counter, cheap enough for the accept path.
std::string new_request_id() {
  static const std::string prefix = core::random_hex(6);
  static std::atomic<std::uint64_t> counter{0};
  char tail[17];
  std::snprintf(tail, sizeof tail, "%llx", static_cast<unsigned long long>(counter.fetch_add(1) + 1));
  return prefix + "-" + tail;
}

}  // namespace

Rest::Route::Handler HttpApi::Routes::wrap(Handler h, Where where, Query query) {
  return [this, h, where, query](const Rest::Request& incoming, Http::ResponseWriter response) {
    Reply reply(std::move(response), wants_close(incoming), outstanding);
    const std::string given = header_value(incoming.headers(), "X-Request-Id");
    reply.set_request_id(acceptable_request_id(given) ? given : new_request_id());
    // Query parameters reach handlers percent-decoded, as clients encode
    // them (RFC 3986): ?to=%2B9665... is "+9665...".
    std::optional<Rest::Request> decoded;
    if (query == Query::decoded && incoming.query().parameters_begin() != incoming.query().parameters_end()) {
      decoded.emplace(incoming);
      if (auto bad = decode_query(*decoded)) {
        reply.send_problem(problem(422, "invalid-field", "The request has an invalid field",
                                   "the query parameter '" + *bad +
                                       "' is not percent-encoded correctly (a '%' must be followed by two hex digits)",
                                   *bad));
        return Rest::Route::Result::Ok;
      }
    }
    const Rest::Request& request = decoded ? *decoded : incoming;
    if (draining.load()) {
      reply.send_problem(problem(503, "unavailable", "Shutting down", "the gateway is shutting down"));
      return Rest::Route::Result::Ok;
    }
    if (where == Where::reactor) {
      run(h, request, reply);
      return Rest::Route::Result::Ok;
    }
    // What the key cache can tell without the database: a bad key is refused
    // here, before its request waits anywhere.
    std::optional<core::Result<core::Principal>> known;
    const std::string auth = header_value(request.headers(), "Authorization");
    if (where != Where::pool && auth.rfind("Bearer ", 0) == 0)
      known = app.api_keys().authenticate_cached(std::string_view(auth).substr(7));
    if (known && !*known && known->error().kind == core::ErrorKind::not_found) {
      reply.send_problem(problem(401, "unauthorized", "Authentication required", "the API key is not valid"));
      return Rest::Route::Result::Ok;
    }
    if (known && !*known && known->error().kind == core::ErrorKind::unavailable) {
      // The lookup budget for unknown key ids is spent (a flood of made-up
      // keys): answered without a log line each, which would be the flood's
      // own amplifier.
      reply.header("Retry-After", "1");
      reply.send_problem(problem_for(known->error()));
      return Rest::Route::Result::Ok;
    }
    if (where == Where::reactor_if_known && known) {
      run(h, request, reply);
      return Rest::Route::Result::Ok;
    }
    auto shared = std::make_shared<std::pair<Rest::Request, Reply>>(request, std::move(reply));
    if (!pool.post([this, h, shared] { run(h, shared->first, shared->second); })) {
      shared->second.header("Retry-After", "1");
      shared->second.send_problem(problem(503, "unavailable", "Temporarily unavailable",
                                          "the gateway has too many requests waiting; try again shortly"));
    }
    return Rest::Route::Result::Ok;
  };
}

void HttpApi::Routes::run(Handler h, const Rest::Request& request, Reply& reply) {
  try {
    (this->*h)(request, reply);
  } catch (const std::exception& e) {
    core::log_error("http", "request " + reply.request_id() + ": handler failed: " + e.what());
    reply.send_problem(problem(500, "internal", "Internal error", "the gateway failed to handle the request"));
  }
}

void HttpApi::Routes::send_error(Reply& reply, const core::Error& e) {
  // What failed inside (a database's or a library's text) is for the log,
  // under the request's id; the client gets a stable problem type and that
  // id (problem_for gives these two kinds a fixed detail).
  if (e.kind == core::ErrorKind::internal) core::log_error("http", "request " + reply.request_id() + ": " + e.message);
  if (e.kind == core::ErrorKind::unavailable) core::log_warn("http", "request " + reply.request_id() + ": " + e.message);
  if (e.retry_after_s > 0) reply.header("Retry-After", std::to_string(e.retry_after_s));
  reply.send_problem(problem_for(e));
}

namespace {

std::optional<core::Principal> bearer(GatewayApp& app, const Rest::Request& request, Reply& reply,
                                      const std::function<void(const core::Error&)>& send_error) {
  const std::string auth = header_value(request.headers(), "Authorization");
  const std::string prefix = "Bearer ";
  if (auth.rfind(prefix, 0) != 0) {
    reply.send_problem(problem(401, "unauthorized", "Authentication required",
                               "send the API key as 'Authorization: Bearer <key>'"));
    return std::nullopt;
  }
  auto p = app.api_keys().authenticate(std::string_view(auth).substr(prefix.size()));
  if (!p) {
    if (p.error().kind == core::ErrorKind::not_found) {
      reply.send_problem(problem(401, "unauthorized", "Authentication required", "the API key is not valid"));
    } else {
      if (p.error().kind == core::ErrorKind::unavailable) reply.header("Retry-After", "1");
      send_error(p.error());
    }
    return std::nullopt;
  }
  return *p;
}

}  // namespace

std::optional<core::Principal> HttpApi::Routes::authenticate(const Rest::Request& request, Reply& reply,
                                                             core::Scope scope) {
  auto p = bearer(app, request, reply, [&](const core::Error& e) { send_error(reply, e); });
  if (!p) return std::nullopt;
  if (p->is_operator()) {
    reply.send_problem(problem(403, "forbidden", "Forbidden",
                               "an operator key manages tenants under /v1/admin/; use a tenant's key here"));
    return std::nullopt;
  }
  if (p->tenant_suspended) {
    reply.send_problem(problem(403, "tenant-suspended", "Tenant suspended",
                               "this tenant is suspended; its operator can resume it"));
    return std::nullopt;
  }
  if (!core::has_scope(p->scopes, scope)) {
    reply.send_problem(problem(403, "forbidden", "Forbidden",
                               "this API key does not have the '" + std::string(core::to_string(scope)) + "' scope"));
    return std::nullopt;
  }
  return p;
}

std::optional<core::Principal> HttpApi::Routes::authenticate_operator(const Rest::Request& request, Reply& reply) {
  auto p = bearer(app, request, reply, [&](const core::Error& e) { send_error(reply, e); });
  if (!p) return std::nullopt;
  if (!p->is_operator()) {
    reply.send_problem(problem(403, "forbidden", "Forbidden", "only an operator key may use /v1/admin/"));
    return std::nullopt;
  }
  return p;
}

std::optional<core::MessageId> HttpApi::Routes::message_id(const Rest::Request& request, Reply& reply) {
  auto text = request.param(":id").as<std::string>();
  auto id = core::Uuid::parse(text);
  if (!id) reply.send_problem(problem(404, "not-found", "Not found", "no message with id '" + text + "'"));
  return id;
}

std::optional<nlohmann::json> HttpApi::Routes::json_body(const Rest::Request& request, Reply& reply) {
  auto body = nlohmann::json::parse(request.body(), nullptr, false);
  if (body.is_discarded()) {
    reply.send_problem(problem(400, "malformed-json", "The body is not JSON", "the request body is not valid JSON"));
    return std::nullopt;
  }
  if (!body.is_object()) {
    reply.send_problem(problem(422, "invalid-field", "The request has an invalid field", "the body must be a JSON object"));
    return std::nullopt;
  }
  return body;
}

void HttpApi::Routes::audit(const core::Principal& p, const Rest::Request& request, const std::string& action,
                            const std::string& subject, const std::string& detail) {
  core::AuditEntry e;
  e.tenant_id = p.tenant_id;
  e.action = action;
  e.subject = subject;
  e.detail = detail;
  e.actor = actor_of(request, proxies, "key:" + p.key_id);
  if (auto st = app.store().add_audit(e); !st)
    core::log_warn("audit", "cannot record '" + action + "': " + st.error().message);
}

std::optional<bool> HttpApi::Routes::include_body(const Rest::Request& request, Reply& reply) {
  auto v = request.query().get("include");
  if (!v || v->empty()) return false;
  if (*v != "body") {
    send_error(reply, core::Error::invalid("include", "include: body (the only part a list leaves out)"));
    return std::nullopt;
  }
  return true;
}

bool HttpApi::Routes::audit_body_read(const core::Principal& p, const Rest::Request& request, core::TenantId tenant,
                                      const std::string& action, const std::vector<std::string>& ids, Reply& reply) {
  if (ids.empty()) return true;
  const core::AuditEntry e =
      core::body_read_entry(tenant, action, actor_of(request, proxies, (p.is_operator() ? "operator:" : "key:") + p.key_id), ids);
  if (auto st = app.store().add_audit(e); !st) {
    core::log_warn("audit", "cannot record '" + action + "', the read is refused: " + st.error().message);
    send_error(reply, core::Error::unavailable("the read could not be recorded in the audit log; try again"));
    return false;
  }
  return true;
}

const std::vector<HttpApi::Routes::Entry>& HttpApi::Routes::table() {
  using R = Routes;
  using M = Http::Method;
  using A = RouteAccess;
  // The accept path stays on the reactor thread while the key is cached: it
  // never waits on the database (the IntakeWriter answers after its commit).
  // A provider signs the URL it called as it encoded it: its query stays raw.
  static const std::vector<Entry> entries = {
      {M::Post, "/v1/messages", &R::send_message, Where::reactor_if_known, Query::decoded, A::tenant},
      {M::Post, "/v1/messages/bulk", &R::send_bulk, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Get, "/v1/messages", &R::list_messages, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Get, "/v1/messages/:id", &R::get_message, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Get, "/v1/messages/:id/events", &R::get_events, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Post, "/v1/messages/:id/refresh", &R::refresh_message, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Post, "/v1/messages/:id/retry", &R::retry_message, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Post, "/v1/messages/:id/cancel", &R::cancel_message, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Get, "/v1/batches/:id", &R::get_batch, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Get, "/v1/templates", &R::list_templates, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Put, "/v1/templates/:code", &R::put_template, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Get, "/v1/templates/:code", &R::get_template, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Delete, "/v1/templates/:code", &R::delete_template, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Get, "/v1/recipients/:key/preferences", &R::get_preferences, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Put, "/v1/recipients/:key/preferences", &R::put_preferences, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Get, "/v1/inbound", &R::list_inbound, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Post, "/v1/webhooks", &R::create_webhook, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Get, "/v1/webhooks", &R::list_webhooks, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Get, "/v1/webhooks/:id", &R::get_webhook, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Patch, "/v1/webhooks/:id", &R::patch_webhook, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Delete, "/v1/webhooks/:id", &R::delete_webhook, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Post, "/v1/webhooks/:id/rotate-secret", &R::rotate_webhook_secret, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Get, "/v1/webhooks/:id/deliveries", &R::webhook_deliveries, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Post, "/v1/webhooks/:id/replay", &R::replay_webhook, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Get, "/v1/admin/inbound", &R::admin_list_inbound, Where::pool_with_key, Query::decoded, A::operator_key},
      {M::Get, "/v1/stats", &R::stats, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Get, "/v1/providers", &R::providers, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Get, "/v1/settings", &R::get_settings, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Put, "/v1/settings", &R::put_settings, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Get, "/v1/audit", &R::audit_log, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Get, "/v1/usage", &R::usage, Where::pool_with_key, Query::decoded, A::tenant},
      {M::Get, "/v1/admin/providers", &R::admin_providers, Where::pool_with_key, Query::decoded, A::operator_key},
      {M::Get, "/v1/admin/audit", &R::admin_audit_log, Where::pool_with_key, Query::decoded, A::operator_key},
      {M::Post, "/v1/admin/tenants", &R::admin_create_tenant, Where::pool_with_key, Query::decoded, A::operator_key},
      {M::Get, "/v1/admin/tenants", &R::admin_list_tenants, Where::pool_with_key, Query::decoded, A::operator_key},
      {M::Get, "/v1/admin/tenants/:tenant", &R::admin_get_tenant, Where::pool_with_key, Query::decoded, A::operator_key},
      {M::Get, "/v1/admin/tenants/:tenant/usage", &R::admin_tenant_usage, Where::pool_with_key, Query::decoded, A::operator_key},
      {M::Put, "/v1/admin/tenants/:tenant", &R::admin_put_tenant, Where::pool_with_key, Query::decoded, A::operator_key},
      {M::Post, "/v1/admin/tenants/:tenant/suspend", &R::admin_suspend_tenant, Where::pool_with_key, Query::decoded, A::operator_key},
      {M::Post, "/v1/admin/tenants/:tenant/resume", &R::admin_resume_tenant, Where::pool_with_key, Query::decoded, A::operator_key},
      {M::Post, "/v1/admin/tenants/:tenant/keys", &R::admin_create_key, Where::pool_with_key, Query::decoded, A::operator_key},
      {M::Get, "/v1/admin/tenants/:tenant/keys", &R::admin_list_keys, Where::pool_with_key, Query::decoded, A::operator_key},
      {M::Delete, "/v1/admin/keys/:id", &R::admin_revoke_key, Where::pool_with_key, Query::decoded, A::operator_key},
      {M::Post, "/v1/admin/jobs/:name/run", &R::admin_run_job, Where::pool_with_key, Query::decoded, A::operator_key},
      {M::Get, "/v1/admin/jobs/runs/:id", &R::admin_get_job_run, Where::pool_with_key, Query::decoded, A::operator_key},
      {M::Post, "/webhooks/:instance/:kind", &R::provider_callback, Where::pool, Query::raw, A::provider},
      {M::Get, "/health", &R::health, Where::reactor, Query::decoded, A::open},
      {M::Get, "/ready", &R::ready, Where::pool, Query::decoded, A::open},
      {M::Get, "/metrics", &R::metrics, Where::pool, Query::decoded, A::open},
      {M::Get, "/openapi.json", &R::openapi, Where::reactor, Query::decoded, A::open},
  };
  return entries;
}

void HttpApi::Routes::register_all(Rest::Router& router) {
  for (const auto& e : table()) router.addRoute(e.method, e.path, wrap(e.handler, e.where, e.query));
  router.addNotFoundHandler(wrap(&Routes::not_found, Where::reactor));
}

const std::vector<RouteSpec>& HttpApi::route_table() {
  static const std::vector<RouteSpec> specs = [] {
    std::vector<RouteSpec> out;
    for (const auto& e : Routes::table()) out.push_back({Http::methodString(e.method), e.path, e.access});
    return out;
  }();
  return specs;
}

// ---------------------------------------------------------------- HttpApi

HttpApi::HttpApi(GatewayApp& app)
    : app_(app), router_(std::make_unique<Rest::Router>()), pool_(app.config().server.handler_threads, app.config().server.handler_queue) {
  routes_ = std::make_unique<Routes>(app_, pool_);
}

HttpApi::~HttpApi() {
  if (endpoint_) endpoint_->shutdown();
  pool_.stop();
}

void HttpApi::start() {
  const auto& s = app_.config().server;
  routes_->register_all(*router_);

  Address addr(s.host, Port(static_cast<std::uint16_t>(s.port)));
  endpoint_ = std::make_unique<Http::Endpoint>(addr);
  auto opts = Http::Endpoint::options()
                  .threads(s.threads)
                  .flags(Tcp::Options::ReuseAddr)
                  .maxRequestSize(s.max_request_bytes)
                  .maxResponseSize(256 * 1024 * 1024);
  endpoint_->init(opts);
  if (!s.tls_cert.empty()) endpoint_->useSSL(s.tls_cert, s.tls_key);
  endpoint_->setHandler(router_->handler());
  endpoint_->serveThreaded();
  if (s.public_base_url.empty())
    app_.public_url().set((s.tls_cert.empty() ? "http://" : "https://") + s.host + ":" + std::to_string(port()));
}

std::uint16_t HttpApi::port() const { return static_cast<std::uint16_t>(endpoint_->getPort()); }

void HttpApi::drain_and_stop(std::chrono::steady_clock::time_point deadline) {
  routes_->draining = true;
  // Everything accepted is committed and answered before the sockets go.
  app_.writer().stop();
  while (routes_->outstanding.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (routes_->outstanding.load() > 0)
    core::log_warn("http", std::to_string(routes_->outstanding.load()) + " answers still pending at shutdown");
  pool_.stop();
  endpoint_->shutdown();
}

}  // namespace barid::gateway
