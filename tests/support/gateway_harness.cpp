#include "gateway_harness.hpp"

#include "log_scan.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace barid::testing {

std::string gateway_binary() { return BARID_GATEWAY_BINARY; }

std::vector<std::string> in_order_of_causes(std::vector<std::string> events) {
  auto sent = std::find(events.begin(), events.end(), "sent");
  if (sent == events.end()) return events;
  auto first_report = std::find_if(events.begin(), sent, [](const std::string& e) {
    return e == "delivered" || e == "read" || e == "undelivered";
  });
  if (first_report != sent) std::rotate(first_report, sent, sent + 1);
  return events;
}
std::string plugin_dir() { return BARID_TEST_PLUGIN_DIR; }

// storage.tls, when it is not the default.
std::string storage_tls(const core::MySqlTlsOptions& tls) {
  if (tls.mode == core::MySqlTlsOptions{}.mode && tls.ca.empty() && tls.cert.empty()) return {};
  std::string out = "  tls:\n    mode: " + std::string(core::to_string(tls.mode)) + "\n";
  if (!tls.ca.empty()) out += "    ca: \"" + tls.ca + "\"\n";
  if (!tls.cert.empty()) out += "    cert: \"" + tls.cert + "\"\n    key: \"" + tls.key + "\"\n";
  return out;
}

GatewayUnderTest::GatewayUnderTest(const TestDatabase& db, std::string sections)
    : GatewayUnderTest(db.options(), std::move(sections)) {}

GatewayUnderTest::GatewayUnderTest(const core::MySqlOptions& o, std::string sections)
    : db_password_(o.password), db_(o) {
  char tmpl[] = "/tmp/barid-e2e.XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  config_path_ = dir_ + "/gateway.yaml";
  env_ = {{"BARID_DB_PASSWORD", db_password_}};
  rewrite(sections);
}

GatewayUnderTest::GatewayUnderTest(const TestDatabase& db, ConfigFile file)
    : db_password_(db.options().password), db_(db.options()) {
  char tmpl[] = "/tmp/barid-e2e.XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  config_path_ = file.path;
  own_file_ = true;
  env_ = {{"BARID_DB_HOST", db_.host},         {"BARID_DB_PORT", std::to_string(db_.port)},
          {"BARID_DB_NAME", db_.database},     {"BARID_DB_USER", db_.user},
          {"BARID_DB_PASSWORD", db_password_}, {"BARID_PLUGIN_DIR", plugin_dir()},
          {"BARID_PORT", "0"}};
}

void GatewayUnderTest::add_server_keys(const std::string& lines) {
  server_keys_ += lines;
  rewrite(sections_);
}

void GatewayUnderTest::rewrite(const std::string& sections) {
  if (own_file_) throw std::logic_error("a gateway started with a configuration file of its own is not rewritten");
  sections_ = sections;
  const auto& o = db_;
  // Sections with an auth section of their own replace the default one.
  const bool own_auth = sections.rfind("auth:", 0) == 0 || sections.find("\nauth:") != std::string::npos;
  std::ofstream out(config_path_ + ".new");
  out << "server:\n  listen: \"127.0.0.1:0\"\n  threads: 2\n  handler_threads: 4\n" << server_keys_
      << "storage:\n  host: \"" << o.host << "\"\n  port: " << o.port << "\n  database: \"" << o.database
      << "\"\n  user: \"" << o.user << "\"\n  password: \"${BARID_DB_PASSWORD}\"\n  pool_size: 4\n"
      << storage_tls(o.tls) << "plugins:\n  path:\n    - \"" << plugin_dir() << "\"\n"
      << (own_auth ? "" : "auth:\n  key_cache_ttl: 1s\n") << sections << "\n";
  out.close();
  std::filesystem::rename(config_path_ + ".new", config_path_);
}

void GatewayUnderTest::signal(int sig) {
  if (process_) process_->signal(sig);
}

GatewayUnderTest::~GatewayUnderTest() {
  process_.reset();
  archive_log();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void GatewayUnderTest::start(std::chrono::milliseconds timeout) {
  ChildProcess::Options opts;
  opts.program = gateway_binary();
  opts.args = {"--config", config_path_};
  opts.env = env_;
  opts.stderr_path = dir_ + "/gateway.log";
  archive_log();  // the log of an earlier start, before it is overwritten
  process_ = std::make_unique<ChildProcess>(opts);
  auto url = process_->wait_for_line("listening on ", timeout);
  ASSERT_TRUE(url.has_value()) << "the gateway did not start; its log:\n" << log();
  base_url_ = *url;
}

std::optional<int> GatewayUnderTest::start_expecting_exit(std::chrono::milliseconds timeout) {
  ChildProcess::Options opts;
  opts.program = gateway_binary();
  opts.args = {"--config", config_path_};
  opts.env = env_;
  opts.stderr_path = dir_ + "/gateway.log";
  archive_log();
  ChildProcess p(opts);
  return p.wait_exit(timeout);
}

void GatewayUnderTest::kill9() {
  if (!process_) return;
  process_->signal(SIGKILL);
  process_->wait_exit(std::chrono::seconds(10));
}

std::optional<int> GatewayUnderTest::terminate(std::chrono::milliseconds timeout) {
  if (!process_) return std::nullopt;
  process_->signal(SIGTERM);
  return process_->wait_exit(timeout);
}

std::string GatewayUnderTest::log() const {
  std::ifstream in(dir_ + "/gateway.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string GatewayUnderTest::create_api_key(const std::string& tenant) {
  return run_key_command({"create-api-key", "--tenant", tenant});
}

std::string GatewayUnderTest::create_operator_key() { return run_key_command({"create-operator-key"}); }

GatewayUnderTest::CommandResult GatewayUnderTest::run_command(const std::vector<std::string>& command,
                                                              std::chrono::milliseconds timeout) {
  ChildProcess::Options opts;
  opts.program = gateway_binary();
  opts.args = {"--config", config_path_};
  opts.args.insert(opts.args.end(), command.begin(), command.end());
  opts.env = env_;
  opts.stderr_path = dir_ + "/command.log";
  ChildProcess p(opts);
  CommandResult r;
  r.status = p.wait_exit(timeout);
  r.out = r.status ? p.stdout_after_exit() : p.stdout_text();
  r.err = p.stderr_text();
  keep_gateway_log(opts.stderr_path);
  return r;
}

std::string GatewayUnderTest::run_key_command(const std::vector<std::string>& command) {
  auto r = run_command(command, std::chrono::seconds(30));
  EXPECT_EQ(r.status, std::optional<int>(0)) << r.err;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("brd_", 0) == 0) return line;
  return {};
}

void GatewayUnderTest::archive_log() const { keep_gateway_log(dir_ + "/gateway.log"); }

sdk::HttpResponse GatewayUnderTest::request(const std::string& method, const std::string& path,
                                            const std::string& body, const std::string& api_key,
                                            sdk::HttpHeaders headers) {
  record_sent(method, path, body);
  sdk::HttpRequest r;
  r.method = method;
  r.url = base_url_ + path;
  r.body = body;
  r.headers = std::move(headers);
  if (!body.empty()) r.headers.emplace_back("Content-Type", "application/json");
  if (!api_key.empty()) r.headers.emplace_back("Authorization", "Bearer " + api_key);
  return http_.perform(r);
}

nlohmann::json GatewayUnderTest::json(const std::string& method, const std::string& path, const nlohmann::json& body,
                                      const std::string& api_key, long* status, sdk::HttpHeaders headers) {
  auto resp = request(method, path, body.is_null() ? std::string() : body.dump(), api_key, std::move(headers));
  if (status) *status = resp.status;
  return nlohmann::json::parse(resp.body, nullptr, false);
}

nlohmann::json GatewayUnderTest::call(const std::string& api_key, const std::string& method, const std::string& path,
                                      const nlohmann::json& body, long expect) {
  long status = 0;
  auto r = json(method, path, body, api_key, &status);
  EXPECT_EQ(status, expect) << method << " " << path << " -> " << r.dump();
  return r;
}

nlohmann::json GatewayUnderTest::wait_for_status(const std::string& api_key, const std::string& id,
                                                 const std::string& status, std::chrono::milliseconds timeout) {
  nlohmann::json last;
  const bool reached = eventually(
      [&] {
        last = json("GET", "/v1/messages/" + id, nullptr, api_key);
        return last.is_object() && last.value("status", "") == status;
      },
      timeout, std::chrono::milliseconds(50));
  if (!reached)
    ADD_FAILURE() << "message " << id << " did not reach '" << status << "' within " << timeout.count()
                  << " ms; last seen: " << last.dump();
  return last;
}

}  // namespace barid::testing
