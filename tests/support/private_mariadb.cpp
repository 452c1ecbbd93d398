#include "private_mariadb.hpp"

#include <array>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace barid::testing {

namespace {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string run(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run " + command);
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  if (::pclose(p) != 0) throw std::runtime_error(command + " failed:\n" + out);
  return out;
}

std::string value_of(const std::string& env, const std::string& name) {
  const std::string key = "export " + name + "=";
  auto pos = env.find(key);
  if (pos == std::string::npos) throw std::runtime_error(name + " missing from scripts/db output");
  auto end = env.find('\n', pos);
  return env.substr(pos + key.size(), end - pos - key.size());
}

}  // namespace

PrivateMariaDb::PrivateMariaDb(std::optional<ServerTls> tls) : tls_(std::move(tls)) {
  char tmpl[] = "/tmp/barid-private-db.XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  port_ = free_port();
  const std::string env = script("start");
  options_.host = "127.0.0.1";
  options_.port = port_;
  options_.user = value_of(env, "BARID_DB_USER");
  options_.password = value_of(env, "BARID_DB_PASSWORD");
  options_.database = value_of(env, "BARID_DB_NAME");
}

PrivateMariaDb::~PrivateMariaDb() {
  try {
    stop();
  } catch (...) {
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string PrivateMariaDb::script(const std::string& command) const {
  std::string line = std::string(BARID_SOURCE_DIR) + "/scripts/db " + command + " --dir " + dir_ + " --port " +
                     std::to_string(port_);
  if (command == "start" && tls_)
    line += " --ssl-ca " + tls_->ca + " --ssl-cert " + tls_->cert + " --ssl-key " + tls_->key;
  return run(line + " 2>&1");
}

void PrivateMariaDb::stop() { script("stop"); }
void PrivateMariaDb::start() { script("start"); }

std::string PrivateMariaDb::scalar(const std::string& sql) const {
  std::string out = run("mariadb --defaults-file=" + dir_ + "/my.cnf -uroot -N " + options_.database + " -e \"" + sql +
                        "\" 2>&1");
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace barid::testing
