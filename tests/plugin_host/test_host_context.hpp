#pragma once
// A HostContext for tests: an HTTP client that answers from a script and
// records every request, a logger that records every line, real digests and
// a fixed clock. Everything recorded goes to a shared Journal that outlives
// the contexts, so that a test can see what a provider did while it was
// being destroyed.

#include <barid/core/plugin_host.hpp>
#include <barid/sdk/sdk.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace barid::test_host {

class Journal {
 public:
  void add(std::string line);
  std::vector<std::string> lines() const;
  bool contains(const std::string& needle) const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

class ScriptedHttpClient final : public sdk::HttpClient {
 public:
  using Handler = std::function<sdk::HttpResponse(const sdk::HttpRequest&)>;

  // Without a handler every request gets a 200 with an empty body.
  void answer_with(Handler handler);
  sdk::HttpResponse perform(const sdk::HttpRequest& request) noexcept override;
  std::vector<sdk::HttpRequest> requests() const;

 private:
  mutable std::mutex mutex_;
  Handler handler_;
  std::vector<sdk::HttpRequest> requests_;
};

class TestHostContext final : public sdk::HostContext {
 public:
  TestHostContext(std::string instance, std::shared_ptr<Journal> journal, std::string public_base_url = {});
  ~TestHostContext() override;

  sdk::HttpClient& http() noexcept override { return http_; }
  sdk::Logger& logger() noexcept override { return logger_; }
  const sdk::Crypto& crypto() const noexcept override;
  std::chrono::system_clock::time_point now() const noexcept override { return now_; }
  std::string webhook_url(std::string_view kind) const override;

  ScriptedHttpClient& scripted_http() noexcept { return http_; }

 private:
  class JournalLogger final : public sdk::Logger {
   public:
    JournalLogger(std::string instance, std::shared_ptr<Journal> journal)
        : instance_(std::move(instance)), journal_(std::move(journal)) {}
    void log(sdk::LogLevel level, std::string_view message) noexcept override;

   private:
    std::string instance_;
    std::shared_ptr<Journal> journal_;
  };

  std::string instance_;
  std::shared_ptr<Journal> journal_;
  std::string public_base_url_;
  ScriptedHttpClient http_;
  JournalLogger logger_;
  std::chrono::system_clock::time_point now_;
};

// Makes TestHostContexts and remembers what it was asked for.
class TestHostContextFactory final : public core::HostContextFactory {
 public:
  explicit TestHostContextFactory(std::shared_ptr<Journal> journal = std::make_shared<Journal>(),
                                  std::string public_base_url = {});

  std::unique_ptr<sdk::HostContext> make(const std::string& instance_name, const sdk::PluginDescriptor& plugin,
                                         const sdk::ProviderConfig& config) override;

  struct Call {
    std::string instance;
    std::string plugin;
    sdk::ProviderConfig config;
  };
  const std::vector<Call>& calls() const { return calls_; }
  const std::shared_ptr<Journal>& journal() const { return journal_; }
  // The context made for `instance` (owned by its ProviderInstance).
  TestHostContext* context_of(const std::string& instance) const;
  // What the next context's HTTP client answers.
  void answer_with(ScriptedHttpClient::Handler handler) { handler_ = std::move(handler); }

 private:
  std::shared_ptr<Journal> journal_;
  std::string public_base_url_;
  std::vector<Call> calls_;
  std::map<std::string, TestHostContext*> contexts_;
  ScriptedHttpClient::Handler handler_;
};

}  // namespace barid::test_host
