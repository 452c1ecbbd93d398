#include "prism.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <optional>

namespace barid::testing {

namespace fs = std::filesystem;
using namespace std::chrono;

namespace {

constexpr const char* kPackage = "@stoplight/prism-cli@5.14.2";

std::optional<std::string> search_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (!path) return std::nullopt;
  std::string p(path);
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    fs::path candidate = fs::path(p.substr(start, end - start)) / name;
    if (!candidate.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return std::nullopt;
}

}  // namespace

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  if (!ci) return false;
  const std::string v(ci);
  return !v.empty() && v != "0" && v != "false";
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::optional<std::string> find_program(const std::string& name) { return search_path(name); }

NpmInstall install_npm_package(const fs::path& dir, const std::string& name, const std::string& spec) {
  NpmInstall out;
  auto node = find_program("node");
  auto npm = find_program("npm");
  if (!node || !npm) {
    if (running_in_ci())
      out.error = "CI is set but node and npm are not installed: " + spec + " cannot run";
    else
      out.skip_reason = "node and npm are needed for " + spec + " (install nodejs and npm)";
    return out;
  }
  fs::create_directories(dir);
  if (fs::exists(dir / "node_modules" / name / "package.json")) return out;
  ChildProcess::Options o;
  o.program = *npm;
  o.args = {"install", "--prefix", dir.string(), "--no-audit", "--no-fund", "--loglevel=error", spec};
  o.env = {{"npm_config_cache", (dir / ".npm-cache").string()}, {"npm_config_update_notifier", "false"}};
  o.stderr_path = (dir / "npm-install.log").string();
  ChildProcess install(o);
  auto rc = install.wait_exit(minutes(10));
  if (rc != 0 || !fs::exists(dir / "node_modules" / name / "package.json"))
    out.error = "npm install " + spec + " failed (exit " + (rc ? std::to_string(*rc) : std::string("timeout")) +
                "): " + install.stderr_text();
  return out;
}

void PrismServer::stop() {
  if (!process) return;
  process->signal(SIGTERM);
  if (!process->wait_exit(seconds(10))) process->signal(SIGKILL);
  process.reset();
}

std::unique_ptr<PrismServer> start_prism(const fs::path& dir, const std::vector<std::string>& args) {
  auto out = std::make_unique<PrismServer>();
  const fs::path prism = dir / "node_modules" / ".bin" / "prism";
  auto installed = install_npm_package(dir, "@stoplight/prism-cli", kPackage);
  out->skip_reason = installed.skip_reason;
  out->error = installed.error;
  if (!out->skip_reason.empty() || !out->error.empty()) return out;
  for (int attempt = 0; attempt < 3 && out->base_url.empty(); ++attempt) {
    const auto port = free_port();
    ChildProcess::Options o;
    o.program = prism.string();
    o.args = args;
    for (const char* a : {"-h", "127.0.0.1", "-p"}) o.args.push_back(a);
    o.args.push_back(std::to_string(port));
    o.stderr_path = (dir / ("prism-" + args.front() + ".err")).string();
    out->process = std::make_unique<ChildProcess>(o);
    // Prism logs every path of the description before it listens.
    const bool up = eventually(
        [&] { return out->process->stdout_text().find("is listening on") != std::string::npos || !out->process->running(); },
        minutes(3), milliseconds(200));
    if (up && out->process->running()) {
      out->base_url = "http://127.0.0.1:" + std::to_string(port);
      out->error.clear();
    } else {
      out->error = "prism " + args.front() + " did not start: " + out->process->stderr_text();
      out->process.reset();
    }
  }
  return out;
}

}  // namespace barid::testing
