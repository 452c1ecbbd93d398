#pragma once
// A fake provider server started as a child process for one test: waits for
// its "listening on" line (deadline), stops it with SIGTERM at the end.

#include "child_process.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

namespace barid::fakes {

class FakeProcess {
 public:
  FakeProcess(const std::string& program, std::vector<std::string> args) {
    static std::atomic<int> counter{0};
    barid::testing::ChildProcess::Options o;
    o.program = program;
    o.args = std::move(args);
    o.stderr_path = ::testing::TempDir() + "barid-fake-" + std::to_string(::getpid()) + "-" +
                    std::to_string(counter.fetch_add(1)) + ".err";
    process_ = std::make_unique<barid::testing::ChildProcess>(o);
    auto url = process_->wait_for_line("listening on ", std::chrono::seconds(10));
    if (!url) throw std::runtime_error(program + " did not start: " + process_->stderr_text());
    base_ = *url;
  }
  ~FakeProcess() {
    process_->signal(SIGTERM);
    process_->wait_exit(std::chrono::seconds(10));
  }
  FakeProcess(const FakeProcess&) = delete;
  FakeProcess& operator=(const FakeProcess&) = delete;

  const std::string& base() const { return base_; }
  barid::testing::ChildProcess& process() { return *process_; }

 private:
  std::unique_ptr<barid::testing::ChildProcess> process_;
  std::string base_;
};

}  // namespace barid::fakes
