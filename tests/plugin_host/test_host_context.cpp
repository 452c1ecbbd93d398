#include "test_host_context.hpp"

#include <barid/core/host_context.hpp>

#include <algorithm>

namespace barid::test_host {

void Journal::add(std::string line) {
  std::lock_guard lock(mutex_);
  lines_.push_back(std::move(line));
}

std::vector<std::string> Journal::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

bool Journal::contains(const std::string& needle) const {
  std::lock_guard lock(mutex_);
  return std::any_of(lines_.begin(), lines_.end(),
                     [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

void ScriptedHttpClient::answer_with(Handler handler) {
  std::lock_guard lock(mutex_);
  handler_ = std::move(handler);
}

sdk::HttpResponse ScriptedHttpClient::perform(const sdk::HttpRequest& request) noexcept {
  Handler handler;
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
    handler = handler_;
  }
  if (!handler) {
    sdk::HttpResponse ok;
    ok.status = 200;
    return ok;
  }
  try {
    return handler(request);
  } catch (...) {
    sdk::HttpResponse failed;
    failed.error = sdk::TransportError::other;
    failed.error_message = "the test's HTTP handler threw";
    return failed;
  }
}

std::vector<sdk::HttpRequest> ScriptedHttpClient::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

TestHostContext::TestHostContext(std::string instance, std::shared_ptr<Journal> journal,
                                 std::string public_base_url)
    : instance_(std::move(instance)),
      journal_(std::move(journal)),
      public_base_url_(std::move(public_base_url)),
      logger_(instance_, journal_),
      now_(std::chrono::sys_days(std::chrono::year{2026} / 11 / 25) + std::chrono::hours(4)) {}

TestHostContext::~TestHostContext() { journal_->add("context " + instance_ + " destroyed"); }

const sdk::Crypto& TestHostContext::crypto() const noexcept {
  static const core::OpenSslCrypto crypto;
  return crypto;
}

std::string TestHostContext::webhook_url(std::string_view kind) const {
  if (public_base_url_.empty()) return {};
  return public_base_url_ + "/webhooks/" + instance_ + "/" + std::string(kind);
}

void TestHostContext::JournalLogger::log(sdk::LogLevel level, std::string_view message) noexcept {
  static constexpr const char* names[] = {"debug", "info", "warn", "error"};
  try {
    journal_->add(std::string(names[static_cast<int>(level)]) + " " + instance_ + ": " + std::string(message));
  } catch (...) {
  }
}

TestHostContextFactory::TestHostContextFactory(std::shared_ptr<Journal> journal, std::string public_base_url)
    : journal_(std::move(journal)), public_base_url_(std::move(public_base_url)) {}

std::unique_ptr<sdk::HostContext> TestHostContextFactory::make(const std::string& instance_name,
                                                               const sdk::PluginDescriptor& plugin,
                                                               const sdk::ProviderConfig& config) {
  calls_.push_back({instance_name, plugin.name, config});
  auto context = std::make_unique<TestHostContext>(instance_name, journal_, public_base_url_);
  if (handler_) context->scripted_http().answer_with(handler_);
  contexts_[instance_name] = context.get();
  return context;
}

TestHostContext* TestHostContextFactory::context_of(const std::string& instance) const {
  auto it = contexts_.find(instance);
  return it == contexts_.end() ? nullptr : it->second;
}

}  // namespace barid::test_host
