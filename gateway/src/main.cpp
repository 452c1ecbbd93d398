// barid-gateway: the Barid messaging gateway.
//
//   barid-gateway --config FILE                      serve the API
//   barid-gateway --config FILE create-api-key --tenant NAME [--label TEXT]
//   barid-gateway --config FILE create-operator-key [--label TEXT]
//   barid-gateway --config FILE check-config         validate, load plugins, exit
//   barid-gateway --config FILE rotate-key           re-seal stored content with the first key
//   barid-gateway [--config FILE] describe-plugins [--plugin-dir DIR]...
//                                                    the plugins' configuration keys, as Markdown
//   barid-gateway --version

#include "app.hpp"
#include "config.hpp"
#include "http_api.hpp"
#include "plugin_tables.hpp"

#include <barid/core/http_client.hpp>
#include <barid/core/log.hpp>
#include <barid/core/mysql_store.hpp>
#include <barid/sdk/version.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>


namespace {

using namespace barid;

int usage(const char* why) {
  if (why) std::cerr << "barid-gateway: " << why << "\n";
  std::cerr << "usage:\n"
               "  barid-gateway --config FILE                     serve the API\n"
               "  barid-gateway --config FILE create-api-key --tenant NAME [--label TEXT]\n"
               "  barid-gateway --config FILE create-operator-key [--label TEXT]\n"
               "  barid-gateway --config FILE check-config        validate the configuration and plugins\n"
               "  barid-gateway --config FILE rotate-key          re-seal stored content with the first key\n"
               "  barid-gateway [--config FILE] describe-plugins [--plugin-dir DIR]...\n"
               "                                                  the plugins' configuration keys, as Markdown\n"
               "  barid-gateway --version\n";
  return 2;
}

int create_api_key(const gateway::GatewayConfig& config, const std::string& tenant, const std::string& label) {
  auto store = gateway::GatewayApp::open_store(config);
  if (!store) {
    std::cerr << "barid-gateway: " << store.error().message << "\n";
    return 1;
  }
  core::ApiKeys keys(**store, std::chrono::seconds(0));
  auto created = keys.create(tenant, label);
  if (!created) {
    std::cerr << "barid-gateway: cannot create the key: " << created.error().message << "\n";
    return 1;
  }
  std::cerr << "API key for tenant '" << created->tenant.name << "' (id " << created->key_id
            << "). It is shown once; only its hash is stored:\n";
  std::cout << created->key << std::endl;
  return 0;
}

int create_operator_key(const gateway::GatewayConfig& config, const std::string& label) {
  auto store = gateway::GatewayApp::open_store(config);
  if (!store) {
    std::cerr << "barid-gateway: " << store.error().message << "\n";
    return 1;
  }
  core::ApiKeys keys(**store, std::chrono::seconds(0));
  auto created = keys.create_operator(label);
  if (!created) {
    std::cerr << "barid-gateway: cannot create the key: " << created.error().message << "\n";
    return 1;
  }
  std::cerr << "Operator key (id " << created->key_id
            << ") for /v1/admin/. It is shown once; only its hash is stored:\n";
  std::cout << created->key << std::endl;
  return 0;
}

// Re-seals every message and inbound message not sealed with the first key
// of privacy.encryption (older keys, or content stored before encryption was
// turned on), in batches, while gateways keep running: each row is written
// only if its key is still the one it was read with.
int rotate_key(const gateway::GatewayConfig& config) {
  if (!config.mysql.cipher) {
    std::cerr << "barid-gateway: rotate-key needs privacy.encryption (key_file or key_env)\n";
    return 2;
  }
  core::MySqlStore store(config.mysql);
  if (auto st = store.migrate(); !st) {
    std::cerr << "barid-gateway: cannot prepare the database: " << st.error().message << "\n";
    return 1;
  }
  const std::string key = config.mysql.cipher->sealing_key_id();
  long long failed = 0;
  for (const std::string table : {"messages", "inbound_messages"}) {
    std::string after;
    long long scanned = 0, resealed = 0;
    for (;;) {
      auto b = store.reseal(table, after, 500);
      if (!b) {
        std::cerr << "barid-gateway: " << table << ": " << b.error().message << "\n";
        return 1;
      }
      if (b->scanned == 0) break;
      after = b->last;
      scanned += b->scanned;
      resealed += b->resealed;
      failed += b->failed;
      if (!b->first_error.empty()) std::cerr << "barid-gateway: " << table << " " << b->first_error << "\n";
    }
    std::cout << table << ": " << scanned << " rows, " << resealed << " re-sealed with key " << key << "\n";
  }
  {
    long long numbers = 0;
    for (;;) {
      auto n = store.reseal_numbers(500);
      if (!n) {
        std::cerr << "barid-gateway: numbers: " << n.error().message << "\n";
        return 1;
      }
      if (*n == 0) break;
      numbers += *n;
    }
    std::cout << "opt-outs, preferences, webhook events and audit subjects: " << numbers << " numbers "
              << (config.mysql.cipher->seals_numbers() ? "hashed or sealed" : "re-sealed") << "\n";
  }
  auto counts = store.sealed_counts();
  if (!counts) {
    std::cerr << "barid-gateway: " << counts.error().message << "\n";
    return 1;
  }
  std::set<std::string> others;
  for (const auto& [table, by_key] : *counts)
    for (const auto& [k, n] : by_key)
      if (k != key && n > 0) {
        std::cout << table << ": " << n << " rows still " << (k.empty() ? "in clear" : "sealed with key " + k)
                  << "\n";
        if (!k.empty()) others.insert(k);
      }
  if (failed > 0) {
    std::cout << failed << " rows did not open and were left as they are\n";
    return 1;
  }
  if (!others.empty()) {
    std::cout << "some rows were written with an older key while this ran (a gateway still seals with it?): "
                 "restart every gateway with the new key first, then run rotate-key again\n";
    return 1;
  }
  std::cout << "every stored value is sealed with key " << key
            << "; the other keys can be removed from the key file\n";
  return 0;
}

// Loads every plugin in `dirs` into `host`, printing what fails: how many
// files failed, or -1 when a folder cannot be read.
int load_plugins(core::PluginHost& host, const std::vector<std::filesystem::path>& dirs) {
  int failures = 0;
  for (const auto& dir : dirs) {
    auto r = host.load_directory(dir);
    if (!r) {
      std::cerr << "barid-gateway: " << r.error().message << "\n";
      return -1;
    }
    for (const auto& f : *r) {
      std::cerr << "barid-gateway: " << f.error << "\n";
      ++failures;
    }
  }
  return failures;
}

// Loads every plugin in `dirs` through the gateway's loader and prints the
// configuration keys each publishes, as Markdown tables (docs/providers.md
// carries the bundled plugins' ones). A plugin that does not load is an
// error: its table would be missing without a word.
int describe_plugins(const std::vector<std::filesystem::path>& dirs) {
  core::set_log_level(core::LogLevel::warn);  // not a line for each plugin loaded
  core::PluginHost host;
  const int failures = load_plugins(host, dirs);
  if (failures < 0) return 1;
  const auto plugins = host.plugins();
  if (plugins.empty()) {
    std::cerr << "barid-gateway: no plugin found in the plugin folders\n";
    return 1;
  }
  bool first = true;
  for (const auto& p : plugins) {
    if (!first) std::cout << "\n";
    first = false;
    std::cout << gateway::config_keys_markdown(p->descriptor());
  }
  std::cout.flush();
  return failures ? 1 : 0;
}

int serve(gateway::GatewayConfig config) {
  // Signals are taken by this thread alone (sigwait); every thread started
  // from here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto app = gateway::GatewayApp::create(std::move(config));
  if (!app) {
    core::log_error("gateway", app.error().message);
    return 1;
  }
  gateway::HttpApi api(**app);
  try {
    api.start();
  } catch (const std::exception& e) {
    const auto& s = (*app)->config().server;
    core::log_error("gateway", "cannot listen on " + s.host + ":" + std::to_string(s.port) + ": " + e.what());
    return 1;
  }
  (*app)->start();
  const auto& s = (*app)->config().server;
  const std::string scheme = s.tls_cert.empty() ? "http" : "https";
  core::log_info("gateway", "listening on " + scheme + "://" + s.host + ":" + std::to_string(api.port()));
  std::printf("listening on %s://%s:%u\n", scheme.c_str(), s.host.c_str(), static_cast<unsigned>(api.port()));
  std::fflush(stdout);

  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      if (auto st = (*app)->reload(); !st)
        core::log_error("gateway", "configuration not reloaded (the running one stays): " + st.error().message);
      continue;
    }
    core::log_info("gateway", std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ", draining");
    break;
  }
  // One deadline for the whole drain: answers under way, the accept queue,
  // sends under way, the running job.
  const auto deadline = std::chrono::steady_clock::now() + (*app)->config().server.drain_timeout;
  (*app)->begin_stop();
  api.drain_and_stop(deadline);
  (*app)->stop(deadline);
  core::log_info("gateway", "stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string config_path, command, tenant, label;
  std::vector<std::string> plugin_dirs;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= args.size()) {
        std::exit(usage((std::string(name) + " needs a value").c_str()));
      }
      return args[++i];
    };
    if (a == "--config" || a == "-c") {
      config_path = value("--config");
    } else if (a == "--tenant") {
      tenant = value("--tenant");
    } else if (a == "--label") {
      label = value("--label");
    } else if (a == "--plugin-dir") {
      plugin_dirs.push_back(value("--plugin-dir"));
    } else if (a == "--version") {
      std::cout << "barid-gateway " << BARID_VERSION << " (SDK ABI " << BARID_SDK_ABI_MAJOR << "."
                << BARID_SDK_ABI_MINOR << ")\n";
      return 0;
    } else if (a == "--help" || a == "-h") {
      usage(nullptr);
      return 0;
    } else if (command.empty() && (a == "create-api-key" || a == "create-operator-key" || a == "check-config" ||
                                   a == "rotate-key" || a == "describe-plugins")) {
      command = a;
    } else {
      return usage(("unexpected argument '" + a + "'").c_str());
    }
  }
  if (command == "describe-plugins" && !plugin_dirs.empty()) {
    if (!config_path.empty()) return usage("describe-plugins takes --plugin-dir or --config, not both");
    return describe_plugins({plugin_dirs.begin(), plugin_dirs.end()});
  }
  if (!plugin_dirs.empty()) return usage("--plugin-dir is for describe-plugins");
  if (config_path.empty()) return usage("--config is required");

  auto config = gateway::load_config(config_path);
  if (!config) {
    std::cerr << "barid-gateway: " << config_path << ": " << config.error().message << "\n";
    return 2;
  }
  core::set_log_level(config->log_level);
  // Once, before any thread: libcurl and the MySQL driver are not safe to
  // initialise concurrently.
  core::CurlHttpClient::global_init();
  core::MySqlStore::global_init();

  if (command == "create-api-key") {
    if (tenant.empty()) return usage("create-api-key needs --tenant NAME");
    return create_api_key(*config, tenant, label);
  }
  if (command == "create-operator-key") return create_operator_key(*config, label);
  if (command == "rotate-key") return rotate_key(*config);
  if (command == "describe-plugins") return describe_plugins(config->plugin_paths);
  if (command == "check-config") {
    core::PluginHost host;
    const int failures = load_plugins(host, config->plugin_paths);
    if (failures < 0) return 1;
    for (const auto& p : config->providers) {
      auto plugin = host.find(p.plugin);
      if (!plugin) {
        std::cerr << "barid-gateway: providers." << p.name << ".plugin: no plugin named '" << p.plugin << "'\n";
        return 1;
      }
      auto v = core::validate_provider_config(plugin->descriptor(), p.name, p.config);
      if (!v) {
        std::cerr << "barid-gateway: " << v.error().message << "\n";
        return 1;
      }
    }
    std::cout << "configuration OK: " << config->providers.size() << " provider instance(s), "
              << host.plugins().size() << " plugin(s) loaded" << (failures ? ", some plugins failed" : "") << "\n";
    return failures ? 1 : 0;
  }
  return serve(std::move(*config));
}
