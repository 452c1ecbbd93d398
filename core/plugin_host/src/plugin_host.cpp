#include <barid/core/plugin_host.hpp>

#include <barid/core/log.hpp>

#include <boost/dll/library_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

namespace barid::core {

namespace dll = boost::dll;

struct LoadedPlugin::Impl {
  dll::shared_library library;
  std::filesystem::path path;
  sdk::AbiVersion abi{};
  sdk::PluginDescriptor descriptor;  // a host-owned copy
  sdk::CreateFunction* create = nullptr;
};

LoadedPlugin::LoadedPlugin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LoadedPlugin::~LoadedPlugin() = default;
const sdk::PluginDescriptor& LoadedPlugin::descriptor() const noexcept { return impl_->descriptor; }
const std::filesystem::path& LoadedPlugin::path() const noexcept { return impl_->path; }
sdk::AbiVersion LoadedPlugin::abi() const noexcept { return impl_->abi; }

sdk::CreateResult LoadedPlugin::create(const sdk::ProviderConfig& config, sdk::HostContext& host) const {
  // The factory is not noexcept: catch here, while the library is loaded.
  try {
    return impl_->create(config, host);
  } catch (const std::exception& e) {
    return sdk::CreateResult::fail(std::string("the plugin's factory threw: ") + e.what());
  } catch (...) {
    return sdk::CreateResult::fail("the plugin's factory threw an unknown exception");
  }
}

ProviderInstance::ProviderInstance(std::string name, std::shared_ptr<const LoadedPlugin> plugin,
                                   std::unique_ptr<sdk::HostContext> context,
                                   std::unique_ptr<sdk::Provider> provider, sdk::ProviderConfig config)
    : name_(std::move(name)),
      plugin_(std::move(plugin)),
      context_(std::move(context)),
      config_(std::move(config)),
      provider_(std::move(provider)) {}

// The provider's destructor is the plugin's code: it runs first, while the
// library is certainly loaded. (Destructors are noexcept: a plugin whose
// destructor throws terminates the process; the plugin guide says so.)
ProviderInstance::~ProviderInstance() { provider_.reset(); }

const sdk::PluginDescriptor& ProviderInstance::descriptor() const noexcept { return plugin_->descriptor(); }

PluginHost::PluginHost() = default;
PluginHost::~PluginHost() = default;

namespace {

std::string version_text(sdk::AbiVersion v) {
  return std::to_string(v.major) + "." + std::to_string(v.minor);
}

std::string validate_descriptor(const sdk::PluginDescriptor& d) {
  static const std::regex name_re("[a-z0-9][a-z0-9_-]{0,62}");
  if (!std::regex_match(d.name, name_re))
    return "plugin name '" + d.name + "' is not valid (lower-case letters, digits, '-' and '_', at most 63)";
  if (d.channels.empty()) return "plugin '" + d.name + "' declares no channel";
  std::set<std::string> keys;
  for (const auto& k : d.config_keys) {
    if (k.name.empty()) return "plugin '" + d.name + "' declares a config key with no name";
    if (!keys.insert(k.name).second)
      return "plugin '" + d.name + "' declares config key '" + k.name + "' twice";
  }
  return {};
}

}  // namespace

Result<std::shared_ptr<const LoadedPlugin>> PluginHost::load(const std::filesystem::path& file) {
  const std::string where = "plugin " + file.string();
  auto impl = std::make_unique<LoadedPlugin::Impl>();
  impl->path = file;
  try {
    impl->library.load(file, dll::load_mode::rtld_now | dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    return Error::invalid("plugins", where + ": cannot be loaded: " + e.what());
  }

  // 1. The ABI handshake, before anything else is read.
  if (!impl->library.has(sdk::kAbiSymbol))
    return Error::invalid("plugins", where + ": missing entry point '" + sdk::kAbiSymbol +
                                         "' (not a Barid plugin, or not built with BARID_PROVIDER_PLUGIN)");
  // The entry points are read as Boost.DLL aliases (pointers the macro puts
  // in the "boostdll" section); a symbol of that name exported any other way
  // would be read as a pointer and crash the gateway.
  try {
    const auto aliases = dll::library_info(file).symbols("boostdll");
    for (const char* symbol : {sdk::kAbiSymbol, sdk::kDescriptorSymbol, sdk::kCreateSymbol}) {
      if (impl->library.has(symbol) && std::find(aliases.begin(), aliases.end(), symbol) == aliases.end())
        return Error::invalid("plugins", where + ": '" + symbol +
                                             "' is not exported by BARID_PROVIDER_PLUGIN (not a Boost.DLL alias)");
    }
  } catch (const std::exception& e) {
    return Error::invalid("plugins", where + ": cannot read its symbol table: " + e.what());
  }
  try {
    auto& abi_fn = *impl->library.get_alias<sdk::AbiFunction>(sdk::kAbiSymbol);
    impl->abi = abi_fn();
  } catch (const std::exception& e) {
    return Error::invalid("plugins", where + ": cannot read its SDK ABI version: " + e.what());
  }
  if (!sdk::abi_compatible(sdk::kAbiVersion, impl->abi)) {
    return Error::invalid(
        "plugins", where + ": built against SDK ABI " + version_text(impl->abi) + ", this gateway provides " +
                       version_text(sdk::kAbiVersion) + " (the major must be " +
                       std::to_string(sdk::kAbiVersion.major) + " and the minor at most " +
                       std::to_string(sdk::kAbiVersion.minor) + "); rebuild the plugin against this SDK");
  }

  // 2. The descriptor.
  for (const char* symbol : {sdk::kDescriptorSymbol, sdk::kCreateSymbol}) {
    if (!impl->library.has(symbol))
      return Error::invalid("plugins", where + ": missing entry point '" + symbol +
                                           "' (build it with BARID_PROVIDER_PLUGIN)");
  }
  try {
    auto& descriptor_fn = *impl->library.get_alias<sdk::DescriptorFunction>(sdk::kDescriptorSymbol);
    impl->descriptor = descriptor_fn();
    impl->create = impl->library.get_alias<sdk::CreateFunction>(sdk::kCreateSymbol);
  } catch (const std::exception& e) {
    return Error::invalid("plugins", where + ": its descriptor could not be read: " + e.what());
  } catch (...) {
    return Error::invalid("plugins", where + ": its descriptor could not be read");
  }
  if (auto problem = validate_descriptor(impl->descriptor); !problem.empty())
    return Error::invalid("plugins", where + ": " + problem);

  // 3. Names are unique.
  const std::string name = impl->descriptor.name;
  std::lock_guard lock(mutex_);
  if (auto it = by_name_.find(name); it != by_name_.end()) {
    return Error::invalid("plugins", "plugin name '" + name + "' is provided twice: by " +
                                         it->second->path().string() + " and by " + file.string());
  }

  auto plugin = std::make_shared<const LoadedPlugin>(std::move(impl));
  by_name_.emplace(name, plugin);
  log_info("plugins", "loaded plugin '" + name + "' " + plugin->descriptor().version + " (SDK ABI " +
                          version_text(plugin->abi()) + ") from " + file.string());
  return std::shared_ptr<const LoadedPlugin>(plugin);
}

Result<std::vector<LoadFailure>> PluginHost::load_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return Error::invalid("plugins.path", "plugin directory " + dir.string() + " does not exist");
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".so") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<LoadFailure> failures;
  for (const auto& f : files) {
    bool loaded = false;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [_, p] : by_name_) loaded = loaded || std::filesystem::equivalent(p->path(), f, ec);
    }
    if (loaded) continue;
    auto r = load(f);
    if (!r) failures.push_back({f, r.error().message});
  }
  return failures;
}

std::shared_ptr<const LoadedPlugin> PluginHost::find(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const LoadedPlugin>> PluginHost::plugins() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<const LoadedPlugin>> out;
  for (const auto& [_, p] : by_name_) out.push_back(p);
  return out;
}

Result<sdk::ProviderConfig> validate_provider_config(const sdk::PluginDescriptor& plugin,
                                                     const std::string& instance_name,
                                                     const std::map<std::string, std::string>& raw) {
  const std::string field_prefix = "providers." + instance_name + ".config";
  const std::string who = "provider instance '" + instance_name + "' (plugin '" + plugin.name + "')";
  std::set<std::string> known;
  for (const auto& k : plugin.config_keys) known.insert(k.name);
  for (const auto& [key, _] : raw) {
    if (!known.count(key)) {
      std::ostringstream list;
      for (auto it = known.begin(); it != known.end(); ++it) list << (it == known.begin() ? "" : ", ") << *it;
      return Error::invalid(field_prefix + "." + key,
                            who + ": unknown config key '" + key + "' (known keys: " + list.str() + ")");
    }
  }
  sdk::ProviderConfig config;
  config.instance_name = instance_name;
  for (const auto& k : plugin.config_keys) {
    // An empty value (or a YAML null) counts as not given: the default
    // applies, and a required key is missing.
    auto it = raw.find(k.name);
    if (it != raw.end() && !it->second.empty()) {
      config.values[k.name] = it->second;
    } else if (k.required) {
      return Error::invalid(field_prefix + "." + k.name,
                            who + ": missing required config key '" + k.name + "' (" + k.description + ")");
    } else {
      config.values[k.name] = k.default_value;
    }
  }
  return config;
}

Result<std::shared_ptr<ProviderInstance>> PluginHost::instantiate(
    const std::string& plugin_name, const std::string& instance_name,
    const std::map<std::string, std::string>& raw, HostContextFactory& contexts) {
  auto plugin = find(plugin_name);
  if (!plugin) {
    std::string loaded;
    for (const auto& p : plugins()) loaded += (loaded.empty() ? "" : ", ") + p->descriptor().name;
    return Error::invalid("providers." + instance_name + ".plugin",
                          "provider instance '" + instance_name + "': no plugin named '" + plugin_name +
                              "' is loaded (loaded: " + (loaded.empty() ? "none" : loaded) + ")");
  }
  auto config = validate_provider_config(plugin->descriptor(), instance_name, raw);
  if (!config) return config.error();

  auto context = contexts.make(instance_name, plugin->descriptor(), *config);
  auto created = plugin->create(*config, *context);
  if (!created.provider) {
    const std::string why =
        created.error.empty() ? "the plugin's factory returned no provider and gave no reason" : created.error;
    return Error::invalid("providers." + instance_name, "provider instance '" + instance_name + "' (plugin '" +
                                                            plugin_name + "') could not be created: " + why);
  }
  auto instance = std::make_shared<ProviderInstance>(instance_name, plugin, std::move(context),
                                                     std::move(created.provider), std::move(*config));
  instance->set_unauthenticated_callbacks(std::move(created.unauthenticated_callbacks));
  instance->set_default_sender(std::move(created.default_sender));
  return instance;
}

}  // namespace barid::core
