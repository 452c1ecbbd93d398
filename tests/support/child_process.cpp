#include "child_process.hpp"

#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace barid::testing {

ChildProcess::ChildProcess(Options options) : options_(std::move(options)) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");

  // Build argv and envp before fork: only async-signal-safe calls after it.
  std::vector<std::string> args{options_.program};
  args.insert(args.end(), options_.args.begin(), options_.args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : options_.env) env[k] = v;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  int err_fd = -1;
  if (!options_.stderr_path.empty()) {
    err_fd = ::open(options_.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (err_fd < 0) throw std::runtime_error("cannot open " + options_.stderr_path);
  }

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(pipefd[1], STDOUT_FILENO);
    if (err_fd >= 0) dup2(err_fd, STDERR_FILENO);
    // A fresh signal mask: the test runner's must not leak into the child.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::close(pipefd[1]);
  if (err_fd >= 0) ::close(err_fd);
  reader_ = std::thread([this, fd = pipefd[0]] { read_stdout(fd); });
}

ChildProcess::~ChildProcess() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait_exit(std::chrono::seconds(10));
  }
  if (reader_.joinable()) reader_.join();
}

void ChildProcess::read_stdout(int fd) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    std::lock_guard lock(mutex_);
    out_.append(buf, static_cast<std::size_t>(n));
    cv_.notify_all();
  }
  ::close(fd);
  std::lock_guard lock(mutex_);
  out_closed_ = true;
  cv_.notify_all();
}

std::optional<std::string> ChildProcess::wait_for_line(const std::string& prefix, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  std::optional<std::string> found;
  cv_.wait_for(lock, timeout, [&] {
    std::istringstream in(out_);
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof()) break;  // a line without its newline is not complete yet
      if (line.rfind(prefix, 0) == 0) {
        found = line.substr(prefix.size());
        return true;
      }
    }
    return out_closed_;
  });
  return found;
}

std::string ChildProcess::stdout_text() {
  std::lock_guard lock(mutex_);
  return out_;
}

std::string ChildProcess::stdout_after_exit() {
  if (reader_.joinable()) reader_.join();
  return stdout_text();
}

std::string ChildProcess::stderr_text() const {
  if (options_.stderr_path.empty()) return {};
  std::ifstream in(options_.stderr_path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void ChildProcess::signal(int sig) {
  if (pid_ > 0 && !exit_status_) ::kill(pid_, sig);
}

bool ChildProcess::running() {
  if (exit_status_ || pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  eventually([&] { return !running(); }, timeout, std::chrono::milliseconds(10));
  return exit_status_;
}

}  // namespace barid::testing
