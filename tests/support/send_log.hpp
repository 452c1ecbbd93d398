#pragma once
// What the mock provider was asked to send: its `send_log` file, one line
// per send call, "<unix µs> <message id> <validity s or ->" (see
// docs/providers.md). Tests read it to check what reached the provider, not
// only what the database says.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace barid::testing {

struct SendLog {
  struct Line {
    std::int64_t at_us = 0;
    std::string id;
    std::string validity;
  };
  std::vector<Line> lines;  // in the order of their times

  static SendLog read(const std::string& path) {
    SendLog log;
    std::ifstream in(path);
    Line l;
    while (in >> l.at_us >> l.id >> l.validity) log.lines.push_back(l);
    std::stable_sort(log.lines.begin(), log.lines.end(),
                     [](const Line& a, const Line& b) { return a.at_us < b.at_us; });
    return log;
  }
  const Line* find(const std::string& id) const {
    for (const auto& l : lines)
      if (l.id == id) return &l;
    return nullptr;
  }
  // How many send calls each message had.
  std::map<std::string, int> times() const {
    std::map<std::string, int> out;
    for (const auto& l : lines) ++out[l.id];
    return out;
  }
  // The messages sent more than once, with their counts ("" when none).
  std::string sent_twice() const {
    std::string out;
    for (const auto& [id, n] : times())
      if (n > 1) out += id + " x" + std::to_string(n) + " ";
    return out;
  }
  // The most sends in any one-second window.
  int busiest_second() const {
    int best = 0;
    std::size_t j = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      while (lines[i].at_us - lines[j].at_us >= 1000000) ++j;
      best = std::max(best, static_cast<int>(i - j + 1));
    }
    return best;
  }
  // The most sends busiest_second() may find when the gateway keeps to
  // `per_second` slots a second. Each send is logged at or after its slot;
  // on a machine that a parallel build keeps busy, now and then a wake-up is
  // tens of milliseconds late, so a second may hold the slots of 1.25 s and
  // one more. A gateway that did not pace would put hundreds there.
  static int most_per_second_when_paced(double per_second) {
    return static_cast<int>(per_second * 1.25) + 1;
  }
};

// A send log of one test's own: a file in a fresh temporary folder, removed
// with it. `config()` is the mock instance's config key for it.
class SendLogFile {
 public:
  SendLogFile() {
    char tmpl[] = "/tmp/barid-sends-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    path_ = dir_ + "/sends.log";
  }
  ~SendLogFile() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  SendLogFile(const SendLogFile&) = delete;
  SendLogFile& operator=(const SendLogFile&) = delete;

  const std::string& path() const { return path_; }
  // `send_log: "<path>"`, for the instance's config map.
  std::string config() const { return "send_log: \"" + path_ + "\""; }
  SendLog read() const { return SendLog::read(path_); }
  // `sections` with every provider instance's `config: {` map given this
  // send log (all instances then write to the one file).
  std::string into(std::string sections) const {
    const std::string at = "config: {";
    for (auto p = sections.find(at); p != std::string::npos; p = sections.find(at, p + 1))
      sections.insert(p + at.size(), config() + ", ");
    return sections;
  }

 private:
  std::string dir_, path_;
};

}  // namespace barid::testing
