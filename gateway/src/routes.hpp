#pragma once
// The REST handlers. Each is thin: authenticate, read the request, call the
// core, answer. They are grouped by resource in routes_*.cpp.

#include "app.hpp"
#include "http_api.hpp"
#include "http_support.hpp"

#include <pistache/router.h>

#include <atomic>
#include <optional>
#include <vector>

namespace barid::gateway {

struct HttpApi::Routes {
  Routes(GatewayApp& a, TaskPool& p) : app(a), pool(p), proxies(a.config().server.trusted_proxies) {}

  GatewayApp& app;
  TaskPool& pool;
  const TrustedProxies& proxies;  // server.trusted_proxies
  std::atomic<int> outstanding{0};
  std::atomic<bool> draining{false};

  using Handler = void (Routes::*)(const Pistache::Rest::Request&, Reply&);
  // Where a handler runs. Reactor threads must never wait on the database.
  enum class Where {
    reactor,          // it never waits (health, the OpenAPI document)
    pool,             // it waits on the database: the bounded handler pool
    pool_with_key,    // the same, for a route that takes an API key
    reactor_if_known  // the accept path: on the reactor when the API key is in
                      // the cache (it then never waits), else on the pool
  };
  // Adapts a handler to Pistache. Before a request that takes an API key is
  // queued on the pool, the key is checked against the cache: a key known to
  // be bad is answered 401 at once. A full pool answers 503 with Retry-After.
  // Whether a handler sees its query parameters percent-decoded (all but the
  // provider callbacks, whose signatures cover the URL as it was sent).
  enum class Query { decoded, raw };
  Pistache::Rest::Route::Handler wrap(Handler h, Where where, Query query = Query::decoded);
  void run(Handler h, const Pistache::Rest::Request& request, Reply& reply);
  void register_all(Pistache::Rest::Router& router);
  // The route table: the router is built from it, and route_table() shows it.
  struct Entry {
    Pistache::Http::Method method;
    const char* path;
    Handler handler;
    Where where;
    Query query;
    RouteAccess access;
  };
  static const std::vector<Entry>& table();

  // http_api.cpp: the route table and what every handler shares.
  void send_error(Reply& reply, const core::Error& e);
  // Bearer authentication of a tenant's key that holds `scope`; answers
  // 401 (no valid key) or 403 (an operator key, a suspended tenant, a
  // missing scope) itself when it fails.
  std::optional<core::Principal> authenticate(const Pistache::Rest::Request& request, Reply& reply,
                                              core::Scope scope);
  // The same for an operator key (/v1/admin/).
  std::optional<core::Principal> authenticate_operator(const Pistache::Rest::Request& request, Reply& reply);
  std::optional<core::MessageId> message_id(const Pistache::Rest::Request& request, Reply& reply);
  // The JSON body as an object, or nullopt after answering 400/422.
  std::optional<nlohmann::json> json_body(const Pistache::Rest::Request& request, Reply& reply);
  // ?include=body: whether a list shows bodies (answers 422 itself for any
  // other value; nullopt then).
  std::optional<bool> include_body(const Pistache::Rest::Request& request, Reply& reply);
  // Records that `p` is about to read the bodies of `ids` (action
  // "message.body_read" or "inbound.body_read"), in `tenant`'s audit log.
  // Unlike other audit entries it is not best effort: a read that cannot be
  // recorded is answered 503 and shows nothing.
  bool audit_body_read(const core::Principal& p, const Pistache::Rest::Request& request, core::TenantId tenant,
                       const std::string& action, const std::vector<std::string>& ids, Reply& reply);
  // Records a tenant-level API action in the audit log (best effort).
  void audit(const core::Principal& p, const Pistache::Rest::Request& request, const std::string& action,
             const std::string& subject, const std::string& detail);

  // routes_messages.cpp
  void send_message(const Pistache::Rest::Request&, Reply&);
  void send_bulk(const Pistache::Rest::Request&, Reply&);
  void get_batch(const Pistache::Rest::Request&, Reply&);
  void list_messages(const Pistache::Rest::Request&, Reply&);
  void get_message(const Pistache::Rest::Request&, Reply&);
  void get_events(const Pistache::Rest::Request&, Reply&);
  void refresh_message(const Pistache::Rest::Request&, Reply&);
  void retry_message(const Pistache::Rest::Request&, Reply&);
  void cancel_message(const Pistache::Rest::Request&, Reply&);

  // routes_templates.cpp
  void put_template(const Pistache::Rest::Request&, Reply&);
  void get_template(const Pistache::Rest::Request&, Reply&);
  void list_templates(const Pistache::Rest::Request&, Reply&);
  void delete_template(const Pistache::Rest::Request&, Reply&);

  // routes_recipients.cpp: preferences and inbound messages
  void get_preferences(const Pistache::Rest::Request&, Reply&);
  void put_preferences(const Pistache::Rest::Request&, Reply&);
  void list_inbound(const Pistache::Rest::Request&, Reply&);
  void admin_list_inbound(const Pistache::Rest::Request&, Reply&);
  // The filters of both (phone, since, cursor, limit), or nullopt once an
  // error is sent.
  std::optional<core::InboundFilter> inbound_filter(const Pistache::Rest::Request&, Reply&);

  // routes_webhooks.cpp: the tenants' event webhooks (endpoints, deliveries, replay)
  void create_webhook(const Pistache::Rest::Request&, Reply&);
  void list_webhooks(const Pistache::Rest::Request&, Reply&);
  void get_webhook(const Pistache::Rest::Request&, Reply&);
  void patch_webhook(const Pistache::Rest::Request&, Reply&);
  void delete_webhook(const Pistache::Rest::Request&, Reply&);
  void rotate_webhook_secret(const Pistache::Rest::Request&, Reply&);
  void webhook_deliveries(const Pistache::Rest::Request&, Reply&);
  void replay_webhook(const Pistache::Rest::Request&, Reply&);
  // The caller's endpoint named in the path, or nullopt once 404 is sent.
  std::optional<core::WebhookEndpoint> webhook_param(const Pistache::Rest::Request&, Reply&, core::TenantId tenant);

  // routes_callbacks.cpp: provider callbacks (POST /webhooks/{instance}/{kind})
  void provider_callback(const Pistache::Rest::Request&, Reply&);

  // routes_operations.cpp
  void stats(const Pistache::Rest::Request&, Reply&);
  void providers(const Pistache::Rest::Request&, Reply&);
  void admin_providers(const Pistache::Rest::Request&, Reply&);
  void get_settings(const Pistache::Rest::Request&, Reply&);
  void put_settings(const Pistache::Rest::Request&, Reply&);
  void send_settings(Reply& reply, core::TenantId tenant);
  void audit_log(const Pistache::Rest::Request&, Reply&);
  void admin_audit_log(const Pistache::Rest::Request&, Reply&);
  void send_audit(const Pistache::Rest::Request&, Reply&, core::TenantId tenant);
  void health(const Pistache::Rest::Request&, Reply&);
  void ready(const Pistache::Rest::Request&, Reply&);
  void metrics(const Pistache::Rest::Request&, Reply&);
  void openapi(const Pistache::Rest::Request&, Reply&);
  void not_found(const Pistache::Rest::Request&, Reply&);

  // routes_admin.cpp: the Operator API's tenants, keys and jobs, and usage
  // The {tenant} path parameter (an id or a unique name); answers 404 itself.
  std::optional<core::Tenant> tenant_param(const Pistache::Rest::Request& request, Reply& reply);
  // A tenant by id or unique name: 404 when there is none, or 422 naming
  // `query_field` when the reference came in that query parameter.
  std::optional<core::Tenant> tenant_by_ref(const std::string& ref, Reply& reply, const char* query_field = nullptr);
  // Records an operator's action in the affected tenant's audit log.
  void admin_audit(const core::Principal& op, const Pistache::Rest::Request& request, core::TenantId tenant,
                   const std::string& action, const std::string& subject, const std::string& detail);
  void admin_create_tenant(const Pistache::Rest::Request&, Reply&);
  void admin_list_tenants(const Pistache::Rest::Request&, Reply&);
  void admin_get_tenant(const Pistache::Rest::Request&, Reply&);
  void admin_put_tenant(const Pistache::Rest::Request&, Reply&);
  void admin_suspend_tenant(const Pistache::Rest::Request&, Reply&);
  void admin_resume_tenant(const Pistache::Rest::Request&, Reply&);
  void admin_set_suspended(const Pistache::Rest::Request&, Reply&, bool suspended);
  void admin_create_key(const Pistache::Rest::Request&, Reply&);
  void admin_list_keys(const Pistache::Rest::Request&, Reply&);
  void admin_revoke_key(const Pistache::Rest::Request&, Reply&);
  void admin_run_job(const Pistache::Rest::Request&, Reply&);
  void admin_get_job_run(const Pistache::Rest::Request&, Reply&);
  void admin_tenant_usage(const Pistache::Rest::Request&, Reply&);
  void usage(const Pistache::Rest::Request&, Reply&);
  void send_usage(Reply& reply, const core::Tenant& tenant);
};

}  // namespace barid::gateway
