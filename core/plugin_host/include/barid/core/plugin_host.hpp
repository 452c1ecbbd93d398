#pragma once
// Loads provider plugins (shared libraries built against the SDK) with
// Boost.DLL and makes provider instances from them.
//
// Loading a plugin reads, in this order: the SDK ABI version (refused with a
// message naming both versions unless the major matches and the plugin's minor
// is not newer than the host's), then the descriptor (validated: name,
// channels; a second plugin with the same name is refused), then the factory.
// Each provider instance holds a reference to its library, so the library
// stays loaded while any object from it lives.

#include <barid/core/result.hpp>
#include <barid/sdk/plugin.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace barid::core {

class LoadedPlugin;

// The host side of one provider instance: the plugin's Provider plus what
// keeps it valid (its HostContext, then its library, destroyed in that order
// after the provider).
class ProviderInstance {
 public:
  ProviderInstance(std::string name, std::shared_ptr<const LoadedPlugin> plugin,
                   std::unique_ptr<sdk::HostContext> context, std::unique_ptr<sdk::Provider> provider,
                   sdk::ProviderConfig config);
  ~ProviderInstance();
  ProviderInstance(const ProviderInstance&) = delete;
  ProviderInstance& operator=(const ProviderInstance&) = delete;

  const std::string& name() const noexcept { return name_; }
  const LoadedPlugin& plugin() const noexcept { return *plugin_; }
  const sdk::PluginDescriptor& descriptor() const noexcept;
  const sdk::ProviderConfig& config() const noexcept { return config_; }
  sdk::Provider& provider() noexcept { return *provider_; }
  sdk::HostContext& context() noexcept { return *context_; }
  // Empty when the instance authenticates its webhooks; else why not.
  const std::string& unauthenticated_callbacks() const noexcept { return unauthenticated_callbacks_; }
  void set_unauthenticated_callbacks(std::string why) { unauthenticated_callbacks_ = std::move(why); }
  // The sender of a send that names none (sdk::CreateResult::default_sender);
  // empty when the provider picks it.
  const std::string& default_sender() const noexcept { return default_sender_; }
  void set_default_sender(std::string sender) { default_sender_ = std::move(sender); }

 private:
  std::string name_;
  std::shared_ptr<const LoadedPlugin> plugin_;  // destroyed last
  std::unique_ptr<sdk::HostContext> context_;
  sdk::ProviderConfig config_;
  std::unique_ptr<sdk::Provider> provider_;  // destroyed first
  std::string unauthenticated_callbacks_;
  std::string default_sender_;
};

// Makes the HostContext a new instance gets (the gateway's HTTP client,
// logger with the instance's secrets to redact, crypto, clock, webhook URL).
class HostContextFactory {
 public:
  virtual ~HostContextFactory() = default;
  virtual std::unique_ptr<sdk::HostContext> make(const std::string& instance_name,
                                                 const sdk::PluginDescriptor& plugin,
                                                 const sdk::ProviderConfig& config) = 0;
};

struct LoadFailure {
  std::filesystem::path path;
  std::string error;
};

class PluginHost {
 public:
  PluginHost();
  ~PluginHost();
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  // Loads one plugin file. Errors name the file and say what is wrong.
  Result<std::shared_ptr<const LoadedPlugin>> load(const std::filesystem::path& file);

  // Loads every *.so in `dir` (sorted by name) that is not loaded yet. Files
  // that fail are reported in the returned list and skipped; a missing
  // directory is an error.
  Result<std::vector<LoadFailure>> load_directory(const std::filesystem::path& dir);

  std::shared_ptr<const LoadedPlugin> find(const std::string& name) const;
  std::vector<std::shared_ptr<const LoadedPlugin>> plugins() const;

  // Validates `raw` against the plugin's declared keys (unknown keys and
  // missing required keys are errors naming the instance, the plugin and the
  // key; defaults are filled in), then calls the plugin's factory.
  Result<std::shared_ptr<ProviderInstance>> instantiate(const std::string& plugin_name,
                                                        const std::string& instance_name,
                                                        const std::map<std::string, std::string>& raw,
                                                        HostContextFactory& contexts);

 private:
  mutable std::mutex mutex_;  // loading (start-up, reload) and reading may overlap
  std::map<std::string, std::shared_ptr<const LoadedPlugin>> by_name_;
};

// Validation of an instance's configuration alone (no library needed).
Result<sdk::ProviderConfig> validate_provider_config(const sdk::PluginDescriptor& plugin,
                                                     const std::string& instance_name,
                                                     const std::map<std::string, std::string>& raw);

class LoadedPlugin {
 public:
  struct Impl;
  explicit LoadedPlugin(std::unique_ptr<Impl> impl);
  ~LoadedPlugin();

  const sdk::PluginDescriptor& descriptor() const noexcept;
  const std::filesystem::path& path() const noexcept;
  sdk::AbiVersion abi() const noexcept;
  sdk::CreateResult create(const sdk::ProviderConfig& config, sdk::HostContext& host) const;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace barid::core
