#pragma once
// Prism (@stoplight/prism-cli 5.14.2, the last release for Node 20), the
// third-party OpenAPI tool two suites run: the Twilio contract test (Prism's
// mock of Twilio's description) and the gateway's own description check
// (Prism's proxy in front of the real gateway). It is installed with npm
// into a folder of the build tree on first use. Without node or npm the
// suites are skipped, except when the environment variable CI is set: CI
// has them, so there it is a failure.

#include "child_process.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace barid::testing {

// CI=true (or any value but "", "0" and "false").
bool running_in_ci();

// A port that was free a moment ago (Prism takes a port number, not 0).
std::uint16_t free_port();

// An executable of PATH, or nullopt.
std::optional<std::string> find_program(const std::string& name);

// Installs the npm package `spec` (e.g. "standardwebhooks@1.1.1") into
// `dir` unless `dir`/node_modules/`name` is there. The same skip and error
// rules as Prism's: without node or npm, skip_reason (outside CI) or error.
struct NpmInstall {
  std::string skip_reason;
  std::string error;
};
NpmInstall install_npm_package(const std::filesystem::path& dir, const std::string& name, const std::string& spec);

struct PrismServer {
  std::unique_ptr<ChildProcess> process;
  std::string base_url;     // set when it listens
  std::string skip_reason;  // no node or npm, outside CI
  std::string error;        // it could not be installed or started
  void stop();
  ~PrismServer() { stop(); }
};

// Installs Prism into `dir` if needed and starts `prism <args> -h 127.0.0.1
// -p PORT` (args: "mock", spec; or "proxy", spec, upstream), waiting until
// it listens.
std::unique_ptr<PrismServer> start_prism(const std::filesystem::path& dir, const std::vector<std::string>& args);

}  // namespace barid::testing
