#include "app.hpp"

#include <barid/core/host_context.hpp>
#include <barid/core/log.hpp>
#include <barid/core/mysql_store.hpp>

namespace barid::gateway {

using core::Error;
using core::Result;

GatewayApp::GatewayApp(GatewayConfig config)
    : config_(std::move(config)), public_url_(std::make_shared<core::PublicUrl>(config_.server.public_base_url)) {}

GatewayApp::~GatewayApp() { stop(); }

Result<std::unique_ptr<core::Store>> GatewayApp::open_store(const GatewayConfig& config) {
  auto store = std::make_unique<core::MySqlStore>(config.mysql);
  if (auto st = store->migrate(); !st)
    return Error::unavailable("cannot prepare the database " + config.mysql.database + " at " +
                              (config.mysql.socket.empty()
                                   ? config.mysql.host + ":" + std::to_string(config.mysql.port)
                                   : config.mysql.socket) +
                              ": " + st.error().message);
  return std::unique_ptr<core::Store>(std::move(store));
}

Result<std::unique_ptr<GatewayApp>> GatewayApp::create(GatewayConfig config) {
  std::unique_ptr<GatewayApp> app(new GatewayApp(std::move(config)));
  const GatewayConfig& c = app->config_;

  auto store = open_store(c);
  if (!store) return store.error();
  app->store_ = std::move(*store);

  for (const auto& dir : c.plugin_paths) {
    auto failures = app->plugins_.load_directory(dir);
    if (!failures) return failures.error();
    for (auto& f : *failures) {
      core::log_warn("plugins", f.error);
      app->plugin_failures_.push_back(std::move(f));
    }
  }

  auto set = std::make_shared<core::ProviderSet>();
  for (const auto& p : c.providers) {
    core::GatewayHostContextFactory contexts(app->public_url_, p.http);
    auto instance = app->plugins_.instantiate(p.plugin, p.name, p.config, contexts);
    if (!instance) {
      std::string detail = instance.error().message;
      for (const auto& f : app->plugin_failures_) detail += "\n  (a plugin failed to load: " + f.error + ")";
      return Error{instance.error().kind, detail, instance.error().field};
    }
    core::ProviderSlot slot;
    slot.instance = *instance;
    if (p.rate_limit > 0) slot.limiter = std::make_shared<core::RateLimiter>(p.rate_limit, p.burst);
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
    set->routes[r.channel] = core::Route{r.provider, r.fallback, r.primary_attempts};
  }
  app->providers_.replace(set);

  app->intake_ = std::make_unique<core::MessageIntake>(core::PhoneNormalizer(c.default_region), c.limits,
                                                        c.retry.max_attempts);
  if (c.dispatch_enabled)
    app->dispatcher_ = std::make_unique<core::Dispatcher>(*app->store_, app->providers_, c.dispatch, c.retry);
  core::Dispatcher* dispatcher = app->dispatcher_.get();
  app->writer_ = std::make_unique<core::IntakeWriter>(*app->store_, c.intake, [dispatcher] {
    if (dispatcher) dispatcher->wake();
  });
  app->api_keys_ = std::make_unique<core::ApiKeys>(*app->store_, c.api_key_cache_ttl);
  app->callbacks_ = std::make_unique<core::CallbackProcessor>(*app->store_, app->providers_);
  return app;
}

std::set<sdk::Channel> GatewayApp::routable_channels() const {
  std::set<sdk::Channel> out;
  for (const auto& [ch, _] : providers_.snapshot()->routes) out.insert(ch);
  return out;
}

void GatewayApp::start() {
  if (dispatcher_) dispatcher_->start();
}

void GatewayApp::stop() {
  if (writer_) writer_->stop();
  if (dispatcher_) dispatcher_->stop();
}

}  // namespace barid::gateway
