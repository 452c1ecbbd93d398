#pragma once
// Wires the gateway together from its configuration: store (migrated),
// plugins, provider instances and routing, intake, dispatcher, API keys.

#include "config.hpp"

#include <barid/core/accept_policy.hpp>
#include <barid/core/api_keys.hpp>
#include <barid/core/bulk.hpp>
#include <barid/core/callbacks.hpp>
#include <barid/core/dispatcher.hpp>
#include <barid/core/health_monitor.hpp>
#include <barid/core/host_context.hpp>
#include <barid/core/intake.hpp>
#include <barid/core/jobs.hpp>
#include <barid/core/plugin_host.hpp>
#include <barid/core/provider_registry.hpp>
#include <barid/core/status_refresher.hpp>
#include <barid/core/store.hpp>
#include <barid/core/template_catalog.hpp>

#include <memory>
#include <mutex>
#include <set>

namespace barid::gateway {

class GatewayApp {
 public:
  // Connects to the database and applies migrations, loads the plugins and
  // creates the provider instances. Errors say what to fix.
  static core::Result<std::unique_ptr<GatewayApp>> create(GatewayConfig config);

  // Only what create-api-key needs: the store, migrated. With report_tls
  // (the server, not a command), logs whether its connections use TLS.
  static core::Result<std::unique_ptr<core::Store>> open_store(const GatewayConfig& config, bool report_tls = false);

  ~GatewayApp();

  const GatewayConfig& config() const noexcept { return config_; }
  core::Store& store() noexcept { return *store_; }
  core::PluginHost& plugins() noexcept { return plugins_; }
  core::ProviderRegistry& providers() noexcept { return providers_; }
  core::MessageIntake& intake() noexcept { return *intake_; }
  core::IntakeWriter& writer() noexcept { return *writer_; }
  core::Dispatcher* dispatcher() noexcept { return dispatcher_.get(); }
  core::ApiKeys& api_keys() noexcept { return *api_keys_; }
  core::CallbackProcessor& callbacks() noexcept { return *callbacks_; }
  core::TemplateCatalog& catalog() noexcept { return *catalog_; }
  core::BulkIntake& bulk() noexcept { return *bulk_; }
  core::StatusRefresher& refresher() noexcept { return *refresher_; }
  core::HealthMonitor& health() noexcept { return *health_; }
  core::JobScheduler& jobs() noexcept { return *jobs_; }
  core::WebhookSender& webhooks() noexcept { return *webhooks_; }
  const std::string& node_id() const noexcept { return node_id_; }
  // The per-segment price of the instance that serves `channel`, if configured.
  std::optional<sdk::Money> price_per_segment(sdk::Channel channel) const;
  // That of the instance serving `channel` for this tenant (its own route, or
  // the global one).
  std::optional<sdk::Money> price_per_segment(sdk::Channel channel, core::TenantId tenant);
  // That of one instance.
  std::optional<sdk::Money> price_of_instance(const std::string& instance) const;
  // Tenants routed to their own instances, read from the database at most
  // every two seconds (for the dispatcher's claims).
  std::shared_ptr<const core::Dispatcher::TenantRoutes> tenant_routes();
  // A tenant's routes changed through this node: read them again now.
  void forget_tenant_routes();
  std::vector<core::LoadFailure> plugin_failures() const;
  // server.public_base_url, or the bound address when that is not configured.
  core::PublicUrl& public_url() noexcept { return *public_url_; }

  // The routes this tenant's messages take: its own for the channels it has
  // its own instances for, the global routing for the others. A tenant route
  // naming an instance the configuration no longer has is left out.
  std::map<sdk::Channel, core::Route> routes_of(core::TenantId tenant);
  // The channels a tenant can send on (the keys of routes_of). Its own
  // routes are read (at most every 2 s, from the database) only when the
  // global routing leaves a channel unserved.
  std::set<sdk::Channel> routable_channels(core::TenantId tenant);

  // Reads the configuration file again and switches provider instances and
  // routing to it (SIGHUP): unchanged instances are kept, changed ones
  // created anew; messages in flight finish on the instance they started
  // with. Other sections take effect at the next restart (logged). On an
  // error nothing changes.
  core::Status reload();

  void start();  // background work: the dispatcher and the periodic jobs
  // Drain: store what was accepted, finish the sends under way.
  // Drain in order, within `deadline`: jobs asked to stop, accepted messages
  // stored, sends finished or handed back, jobs joined.
  void stop(std::chrono::steady_clock::time_point deadline);
  // The first steps of stop(), taken while the API drains: no new claims,
  // the running job asked to stop.
  void begin_stop();
  void stop() { stop(std::chrono::steady_clock::now() + std::chrono::seconds(10)); }

 private:
  explicit GatewayApp(GatewayConfig config);
  core::Result<std::shared_ptr<core::ProviderSet>> build_providers(const GatewayConfig& c,
                                                                   const core::ProviderSet* current);

  GatewayConfig config_;
  std::shared_ptr<core::PublicUrl> public_url_;
  std::unique_ptr<core::Store> store_;
  core::PluginHost plugins_;  // outlives the instances (they also hold their library)
  mutable std::mutex failures_mutex_;
  std::vector<core::LoadFailure> plugin_failures_;
  core::ProviderRegistry providers_;
  std::string node_id_;
  std::unique_ptr<core::MessageIntake> intake_;
  std::unique_ptr<core::TemplateCatalog> catalog_;
  std::unique_ptr<core::AcceptPolicy> policy_;
  std::unique_ptr<core::BulkIntake> bulk_;
  std::unique_ptr<core::Dispatcher> dispatcher_;
  std::mutex tenant_routes_mutex_;
  std::shared_ptr<const core::Dispatcher::TenantRoutes> tenant_routes_ =
      std::make_shared<const core::Dispatcher::TenantRoutes>();
  std::chrono::steady_clock::time_point tenant_routes_read_{};
  std::unique_ptr<core::IntakeWriter> writer_;
  std::unique_ptr<core::ApiKeys> api_keys_;
  std::unique_ptr<core::CallbackProcessor> callbacks_;
  std::unique_ptr<core::StatusRefresher> refresher_;
  std::unique_ptr<core::HealthMonitor> health_;
  std::unique_ptr<core::JobScheduler> jobs_;
  std::unique_ptr<core::CurlHttpClient> webhook_http_;
  std::unique_ptr<core::WebhookSender> webhooks_;
};

}  // namespace barid::gateway
