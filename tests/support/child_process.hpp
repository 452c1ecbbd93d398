#pragma once
// A child process for end-to-end tests: started with arguments and extra
// environment, its stdout read line by line (to wait for "listening on ..."
// with a deadline), its stderr kept in a file for the failure message.

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace barid::testing {

class ChildProcess {
 public:
  struct Options {
    std::string program;
    std::vector<std::string> args;
    std::map<std::string, std::string> env;  // added to (or replacing in) this process's environment
    std::string stderr_path;                 // empty: inherit
  };

  explicit ChildProcess(Options options);  // throws std::runtime_error when it cannot start
  ~ChildProcess();                         // SIGKILL and reap if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const noexcept { return pid_; }

  // The rest of the first stdout line that starts with `prefix`, waiting up
  // to `timeout`; nullopt if it did not come (or the process exited).
  std::optional<std::string> wait_for_line(const std::string& prefix, std::chrono::milliseconds timeout);
  std::string stdout_text();
  // Everything it wrote to stdout, once it has exited (waits for the reader
  // to reach the end of the pipe).
  std::string stdout_after_exit();
  std::string stderr_text() const;

  void signal(int sig);
  // The exit status (128 + signal when killed), or nullopt after `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running();

 private:
  void read_stdout(int fd);

  Options options_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string out_;
  bool out_closed_ = false;
  std::thread reader_;
};

// Polls `condition` until it is true or `timeout` passes.
template <typename F>
bool eventually(F&& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

}  // namespace barid::testing
