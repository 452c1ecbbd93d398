#include "app.hpp"

#include <barid/core/host_context.hpp>
#include <barid/core/log.hpp>
#include <barid/core/mysql_store.hpp>

namespace barid::gateway {

using core::Error;
using core::Result;
using core::Status;

namespace {

// Once, at start: whether what the gateway stores travels encrypted, so the
// operator sees it without asking the server (protocol and cipher only).
void log_storage_tls(const core::MySqlOptions& o, core::MySqlStore& store) {
  const std::string mode = "storage.tls.mode " + std::string(core::to_string(o.tls.mode));
  auto tls = store.connection_tls();
  if (!tls) {
    core::log_warn("store", "cannot tell whether the database connections use TLS: " + tls.error().message);
  } else if (!tls->empty()) {
    core::log_info("store", "the database connections use TLS (" + *tls + "; " + mode + ")");
  } else if (o.tls.mode == core::MySqlTlsMode::disabled) {
    core::log_info("store", "the database connections are not encrypted (" + mode + ")");
  } else {
    // preferred, and the server offered no TLS. Across a network that is
    // patients' data in plain text; on this machine it is only a note.
    const bool local = !o.socket.empty() || o.host == "localhost" || o.host == "::1" || o.host.rfind("127.", 0) == 0;
    const std::string text = "the database connections are not encrypted: the server offered no TLS (" + mode +
                             "; required or verify_identity would refuse it)";
    if (local)
      core::log_info("store", text);
    else
      core::log_warn("store", text);
  }
}

}  // namespace

GatewayApp::GatewayApp(GatewayConfig config)
    : config_(std::move(config)), public_url_(std::make_shared<core::PublicUrl>(config_.server.public_base_url)) {}

GatewayApp::~GatewayApp() { stop(); }

Result<std::unique_ptr<core::Store>> GatewayApp::open_store(const GatewayConfig& config, bool report_tls) {
  auto store = std::make_unique<core::MySqlStore>(config.mysql);
  if (auto st = store->migrate(); !st)
    return Error::unavailable("cannot prepare the database " + config.mysql.database + " at " +
                              (config.mysql.socket.empty()
                                   ? config.mysql.host + ":" + std::to_string(config.mysql.port)
                                   : config.mysql.socket) +
                              ": " + st.error().message);
  if (report_tls) log_storage_tls(config.mysql, *store);
  return std::unique_ptr<core::Store>(std::move(store));
}

Result<std::unique_ptr<GatewayApp>> GatewayApp::create(GatewayConfig config) {
  std::unique_ptr<GatewayApp> app(new GatewayApp(std::move(config)));
  const GatewayConfig& c = app->config_;

  auto opened = open_store(c, /*report_tls=*/true);
  if (!opened) return opened.error();
  app->store_ = std::move(*opened);

  auto set = app->build_providers(c, nullptr);
  if (!set) return set.error();
  app->providers_.replace(*set);
  if (const std::string w = public_url_warning(c); !w.empty()) core::log_warn("gateway", w);
  for (const auto& w : c.warnings) core::log_warn("gateway", w);

  core::Store& store = *app->store_;
  app->node_id_ = c.dispatch.node_id.empty() ? "node-" + core::random_hex(6) : c.dispatch.node_id;
  core::DispatcherOptions dispatch = c.dispatch;
  dispatch.node_id = app->node_id_;

  app->intake_ = std::make_unique<core::MessageIntake>(core::PhoneNormalizer(c.default_region), c.limits,
                                                        c.retry.max_attempts);
  app->catalog_ = std::make_unique<core::TemplateCatalog>(store, store, c.template_cache_ttl);
  app->policy_ = std::make_unique<core::AcceptPolicy>(store, *app->catalog_, c.limits);
  app->policy_->set_pricing([raw = app.get()](sdk::Channel ch, const std::string& instance) {
    return instance.empty() ? raw->price_per_segment(ch) : raw->price_of_instance(instance);
  });
  app->policy_->set_shared_sender([raw = app.get()](sdk::Channel ch) {
    const auto set = raw->providers_.snapshot();
    const auto route = set->routes.find(ch);
    const auto* slot = route == set->routes.end() ? nullptr : set->find(route->second.primary);
    return slot ? slot->instance->default_sender() : std::string();
  });
  app->bulk_ = std::make_unique<core::BulkIntake>(*app->intake_, *app->policy_, store, c.max_bulk_recipients);
  if (c.dispatch_enabled) {
    app->dispatcher_ = std::make_unique<core::Dispatcher>(store, app->providers_, dispatch, c.retry);
    // A provider that refuses an unsubscribed recipient: record the opt-out
    // so later sends are suppressed instead of refused again.
    // It holds for the tenants that instance serves, as a STOP through it.
    app->dispatcher_->set_opt_out_hook([&store, self = app.get()](const core::Message& m, const std::string& instance) {
      core::OptOut o;
      o.phone = m.to;
      o.channel = std::string(sdk::to_string(m.channel));
      o.instance = instance;
      o.source = "provider:" + instance;
      o.detail = "the provider refused the recipient as unsubscribed";
      o.notify_tenant = m.tenant_id;
      const auto scope = core::opt_out_scope(*self->providers_.snapshot(), *self->tenant_routes(), instance, m.channel);
      if (auto st = core::record_scoped_opt_out(store, scope, o, m.tenant_id); !st)
        core::log_warn("dispatcher", "cannot record an opt-out: " + st.error().message);
    });
    // A send that found the credentials rejected (or working again): the
    // instance's health changes now in GET /v1/providers and /ready, not at
    // the next provider-health run.
    // (The health monitor is made below; sends start only after create.)
    app->dispatcher_->set_tenant_routes([self = app.get()] { return self->tenant_routes(); });
    app->dispatcher_->set_health_hook([self = app.get()](const std::string& instance, const sdk::HealthReport& h) {
      self->health().record(instance, h);
      if (h.state == sdk::HealthState::healthy) core::log_info("health", instance + " is healthy again: " + h.detail);
    });
  }
  core::Dispatcher* dispatcher = app->dispatcher_.get();
  app->writer_ = std::make_unique<core::IntakeWriter>(store, app->policy_.get(), c.intake, [dispatcher] {
    if (dispatcher) dispatcher->wake();
  });
  app->api_keys_ = std::make_unique<core::ApiKeys>(store, c.api_key_cache_ttl);
  app->callbacks_ =
      std::make_unique<core::CallbackProcessor>(store, store, app->providers_, core::PhoneNormalizer(c.default_region),
                                                c.inbound_assignment_window);
  app->callbacks_->set_tenant_routes([self = app.get()] { return self->tenant_routes(); });
  app->refresher_ = std::make_unique<core::StatusRefresher>(store, store, app->providers_);
  app->health_ = std::make_unique<core::HealthMonitor>(store, app->providers_, app->node_id_);

  GatewayApp* self = app.get();
  auto jobs = core::standard_jobs(c.jobs, store, store, *app->refresher_, *app->health_, [self] {
    if (self->dispatcher()) self->dispatcher()->wake();
  });
  const auto& j = c.jobs;
  app->jobs_ = std::make_unique<core::JobScheduler>(store, app->node_id_, std::move(jobs), j.poll);
  core::HttpClientOptions hook_http;
  hook_http.total_timeout = c.webhooks.timeout;
  hook_http.connect_timeout = std::min(c.webhooks.timeout, std::chrono::milliseconds(5000));
  hook_http.user_agent = "barid-webhooks";
  hook_http.max_response_bytes = c.webhooks.max_response_bytes;
  hook_http.fail_large_responses = false;  // the status code decides
  hook_http.refuse_internal_addresses = true;
  hook_http.may_reach_any_address = [hosts = c.webhooks.hosts](const std::string& url) {
    return core::webhook_host_listed(url, hosts);
  };
  app->webhook_http_ = std::make_unique<core::CurlHttpClient>(hook_http);
  core::WebhookOptions hooks = c.webhooks;
  hooks.node_id_is_stable = !c.dispatch.node_id.empty();
  app->webhooks_ = std::make_unique<core::WebhookSender>(store, store, *app->webhook_http_, hooks, app->node_id_);
  return app;
}

namespace {

// What a provider instance was configured with, to tell whether a reload
// changed it.
std::string fingerprint(const ProviderInstanceConfig& p) {
  std::string f = p.plugin + "\n" + std::to_string(p.rate_limit) + "/" + std::to_string(p.burst) + "\n" +
                  std::to_string(p.http.connect_timeout.count()) + "/" + std::to_string(p.http.total_timeout.count()) +
                  "/" + p.http.ca_file + "/" + std::to_string(p.http.max_response_bytes) + "\n";
  if (p.price_per_segment) f += std::to_string(p.price_per_segment->micros) + p.price_per_segment->currency;
  f += p.allow_unauthenticated_callbacks ? "\nunauthenticated callbacks allowed" : "";
  for (const auto& [k, v] : p.config) f += "\n" + k + "=" + v;
  return f;
}

}  // namespace

Result<std::shared_ptr<core::ProviderSet>> GatewayApp::build_providers(const GatewayConfig& c,
                                                                       const core::ProviderSet* current) {
  // New plugin files in the plugin folders are loaded; loaded ones stay.
  for (const auto& dir : c.plugin_paths) {
    auto failures = plugins_.load_directory(dir);
    if (!failures) return failures.error();
    for (auto& f : *failures) {
      core::log_warn("plugins", f.error);
      std::lock_guard lock(failures_mutex_);
      plugin_failures_.push_back(std::move(f));
    }
  }

  auto set = std::make_shared<core::ProviderSet>();
  for (const auto& p : c.providers) {
    const std::string print = fingerprint(p);
    if (current) {
      // Unchanged instances are kept as they are (connections, state).
      if (const auto* old = current->find(p.name); old && old->fingerprint == print) {
        set->instances.emplace(p.name, *old);
        continue;
      }
    }
    core::GatewayHostContextFactory contexts(public_url_, p.http);
    auto instance = plugins_.instantiate(p.plugin, p.name, p.config, contexts);
    if (!instance) {
      std::string detail = instance.error().message;
      for (const auto& f : plugin_failures()) detail += "\n  (a plugin failed to load: " + f.error + ")";
      return Error{instance.error().kind, detail, instance.error().field};
    }
    // A callback anyone can call moves messages and opts patients out: the
    // operator has to say that this is meant.
    if (const auto& why = (*instance)->unauthenticated_callbacks(); !why.empty()) {
      const std::string key = "providers." + p.name + ".allow_unauthenticated_callbacks";
      if (!p.allow_unauthenticated_callbacks)
        return Error::invalid(key, "provider instance '" + p.name + "': " + why +
                                       "; or set " + key + ": true to accept unauthenticated webhooks");
      core::log_warn("providers", "instance '" + p.name + "' accepts unauthenticated webhooks (" + key + ")");
    }
    core::ProviderSlot slot;
    slot.instance = *instance;
    slot.rate = p.rate_limit;
    slot.burst = p.burst;
    slot.send_timeout = p.http.total_timeout;
    slot.price_per_segment = p.price_per_segment;
    slot.default_tenant = p.default_tenant;
    slot.fingerprint = print;
    set->instances.emplace(p.name, std::move(slot));
    core::log_info("providers", "instance '" + p.name + "' of plugin '" + p.plugin + "' is ready");
  }
  for (const auto& r : c.routes) {
    const auto* slot = set->find(r.provider);
    if (!slot->instance->descriptor().serves(r.channel))
      return Error::invalid("routing." + std::string(sdk::to_string(r.channel)) + ".provider",
                            "routing." + std::string(sdk::to_string(r.channel)) + ".provider: instance '" + r.provider +
                                "' (plugin '" + slot->instance->descriptor().name + "') does not serve " +
                                std::string(sdk::to_string(r.channel)));
    for (const auto& f : r.fallback)
      if (!set->find(f)->instance->descriptor().serves(r.channel))
        return Error::invalid("routing." + std::string(sdk::to_string(r.channel)) + ".fallback",
                              "routing." + std::string(sdk::to_string(r.channel)) + ".fallback: instance '" + f +
                                  "' does not serve " + std::string(sdk::to_string(r.channel)));
    set->routes[r.channel] = core::Route{r.provider, r.fallback, r.primary_attempts};
  }
  return set;
}

std::vector<core::LoadFailure> GatewayApp::plugin_failures() const {
  std::lock_guard lock(failures_mutex_);
  return plugin_failures_;
}

Status GatewayApp::reload() {
  if (config_.source.empty()) return Error::invalid("--config", "the configuration did not come from a file");
  auto next = load_config(config_.source);
  if (!next) return next.error();
  // What lives in the provider snapshot switches now; the rest is read once.
  std::vector<std::string> ignored;
  auto differs = [&](bool changed, const char* section) {
    if (changed) ignored.push_back(section);
  };
  const auto& a = config_;
  const auto& b = *next;
  differs(a.server.host != b.server.host || a.server.port != b.server.port || a.server.threads != b.server.threads ||
              a.server.public_base_url != b.server.public_base_url || a.server.tls_cert != b.server.tls_cert,
          "server");
  differs(a.mysql.host != b.mysql.host || a.mysql.port != b.mysql.port || a.mysql.database != b.mysql.database ||
              a.mysql.user != b.mysql.user || a.mysql.socket != b.mysql.socket || a.mysql.tls.mode != b.mysql.tls.mode ||
              a.mysql.tls.ca != b.mysql.tls.ca || a.mysql.tls.cert != b.mysql.tls.cert ||
              a.mysql.tls.key != b.mysql.tls.key,
          "storage");
  differs(a.retry.max_attempts != b.retry.max_attempts || a.retry.initial_backoff != b.retry.initial_backoff ||
              a.retry.max_backoff != b.retry.max_backoff,
          "retry");
  differs(a.dispatch.senders != b.dispatch.senders || a.dispatch.lease != b.dispatch.lease, "dispatch");
  differs(a.default_region != b.default_region, "messaging.default_region");
  differs(a.webhooks.hosts != b.webhooks.hosts || a.webhooks.max_response_bytes != b.webhooks.max_response_bytes ||
              a.webhooks.workers != b.webhooks.workers ||
              a.webhooks.timeout != b.webhooks.timeout || a.webhooks.poll_interval != b.webhooks.poll_interval ||
              a.webhooks.initial_backoff != b.webhooks.initial_backoff ||
              a.webhooks.max_backoff != b.webhooks.max_backoff || a.webhooks.give_up_after != b.webhooks.give_up_after ||
              a.webhooks.disable_after != b.webhooks.disable_after ||
              a.webhooks.secret_overlap != b.webhooks.secret_overlap ||
              a.webhooks.endpoint_concurrency != b.webhooks.endpoint_concurrency ||
              a.webhooks.replay_limit != b.webhooks.replay_limit,
          "webhooks");
  auto set = build_providers(b, providers_.snapshot().get());
  if (!set) return set.error();
  const auto old = providers_.snapshot();
  providers_.replace(*set);
  int kept = 0, created = 0, removed = 0;
  for (const auto& [name, slot] : (*set)->instances) {
    const auto* before = old->find(name);
    if (before && before->instance == slot.instance) {
      ++kept;
      continue;
    }
    ++created;
    // A new or changed instance (new credentials, say) is checked now, so
    // that /ready and GET /v1/providers stop showing what the instance it
    // replaces last reported (e.g. rejected credentials) before the next
    // provider-health run.
    health_->record(name, slot.instance->provider().check_health());
  }
  for (const auto& [name, _] : old->instances)
    if (!(*set)->find(name)) ++removed;
  std::string routes;
  for (const auto& [ch, r] : (*set)->routes)
    routes += (routes.empty() ? "" : ", ") + std::string(sdk::to_string(ch)) + " -> " + r.primary;
  core::log_info("gateway", "configuration reloaded: " + std::to_string(kept) + " provider instance(s) kept, " +
                                std::to_string(created) + " created, " + std::to_string(removed) + " removed; " +
                                routes);
  if (!ignored.empty()) {
    std::string list;
    for (const auto& i : ignored) list += (list.empty() ? "" : ", ") + i;
    core::log_warn("gateway", "changes to " + list + " take effect at the next restart");
  }
  return {};
}

std::optional<sdk::Money> GatewayApp::price_per_segment(sdk::Channel channel) const {
  auto set = providers_.snapshot();
  auto route = set->routes.find(channel);
  if (route == set->routes.end()) return std::nullopt;
  const auto* slot = set->find(route->second.primary);
  return slot ? slot->price_per_segment : std::nullopt;
}

std::optional<sdk::Money> GatewayApp::price_of_instance(const std::string& instance) const {
  auto set = providers_.snapshot();
  const auto* slot = set->find(instance);
  return slot ? slot->price_per_segment : std::nullopt;
}

std::shared_ptr<const core::Dispatcher::TenantRoutes> GatewayApp::tenant_routes() {
  std::lock_guard lock(tenant_routes_mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (now - tenant_routes_read_ < std::chrono::seconds(2)) return tenant_routes_;
  tenant_routes_read_ = now;
  auto tenants = store_->list_tenants();
  if (!tenants) {
    core::log_warn("dispatcher", "cannot read the tenants' routes (the last ones read stay): " +
                                     tenants.error().message);
    return tenant_routes_;
  }
  core::Dispatcher::TenantRoutes routes;
  for (const auto& t : *tenants)
    if (!t.policy.routing.empty()) routes[t.id] = t.policy.routing;
  // The same object while nothing changed: the dispatcher compares pointers.
  if (routes != *tenant_routes_) tenant_routes_ = std::make_shared<const core::Dispatcher::TenantRoutes>(std::move(routes));
  return tenant_routes_;
}

void GatewayApp::forget_tenant_routes() {
  std::lock_guard lock(tenant_routes_mutex_);
  tenant_routes_read_ = {};
}

std::map<sdk::Channel, core::Route> GatewayApp::routes_of(core::TenantId tenant) {
  const auto set = providers_.snapshot();
  std::map<sdk::Channel, core::Route> out = set->routes;
  const auto own = tenant_routes();
  const auto mine = own->find(tenant);
  if (mine == own->end()) return out;
  for (const auto& [channel, r] : mine->second)
    if (set->find(r.provider)) out[channel] = core::Route{r.provider, r.fallback, r.primary_attempts};
  return out;
}

std::set<sdk::Channel> GatewayApp::routable_channels(core::TenantId tenant) {
  // The accept path asks this on the reactor: when the global routing
  // serves every channel, a tenant's own routes change nothing here, and
  // neither the routes' lock nor their read from the database is needed.
  std::set<sdk::Channel> out;
  for (const auto& [ch, _] : providers_.snapshot()->routes) out.insert(ch);
  if (out.count(sdk::Channel::sms) && out.count(sdk::Channel::whatsapp)) return out;
  for (const auto& [ch, _] : routes_of(tenant)) out.insert(ch);
  return out;
}

std::optional<sdk::Money> GatewayApp::price_per_segment(sdk::Channel channel, core::TenantId tenant) {
  const auto routes = routes_of(tenant);
  const auto route = routes.find(channel);
  return route == routes.end() ? std::nullopt : price_of_instance(route->second.primary);
}

void GatewayApp::start() {
  // Revoked keys and suspended tenants, whichever node changed them.
  api_keys_->watch(config_.revocation_poll);
  if (dispatcher_) dispatcher_->start();
  if (jobs_) jobs_->start();
  if (webhooks_) webhooks_->start();
}

void GatewayApp::begin_stop() {
  if (jobs_) jobs_->request_stop();
  if (dispatcher_) dispatcher_->stop_claiming();
}

void GatewayApp::stop(std::chrono::steady_clock::time_point deadline) {
  // A running job winds down (after its current batch) while the writer
  // stores what was accepted and the dispatcher hands back or finishes its
  // sends.
  if (jobs_) jobs_->request_stop();
  if (writer_) writer_->stop();
  if (dispatcher_) dispatcher_->stop(deadline);
  if (webhooks_) webhooks_->stop();  // the requests under way finish; the rest waits in the outbox
  if (jobs_) jobs_->stop();
}

}  // namespace barid::gateway
