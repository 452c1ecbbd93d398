#include "log_scan.hpp"

#include <barid/sdk/encoding.hpp>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

namespace barid::testing {

namespace fs = std::filesystem;

namespace {

std::string archive_dir() {
  const char* d = std::getenv("BARID_E2E_LOG_DIR");
  return d && *d ? std::string(d) : std::string();
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A '+' and 8 to 15 digits, or 9 to 15 bare digits: as specific as a phone
// number must be not to match a count or a duration in a log line.
bool phone_like(const std::string& v) {
  const bool plus = !v.empty() && v[0] == '+';
  const std::size_t digits = v.size() - (plus ? 1 : 0);
  if (!std::all_of(v.begin() + (plus ? 1 : 0), v.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  return digits >= (plus ? 8u : 9u) && digits <= 15;
}

class Collector {
 public:
  // A number, if `decoded` is one: it and the forms it is written in
  // (`raw`: as it was sent, e.g. percent-encoded).
  bool number(const std::string& decoded, const std::string& raw = {}) {
    if (!phone_like(decoded)) return false;
    add(decoded);
    if (!raw.empty()) add(raw);
    if (decoded[0] == '+' && decoded.size() >= 11) add(decoded.substr(1));
    if (decoded.size() == 10 && decoded.rfind("05", 0) == 0) {
      add("+966" + decoded.substr(1));
      add("966" + decoded.substr(1));
    }
    return true;
  }
  // A number or a body (a text long enough not to match ordinary log text).
  void text(const std::string& decoded, const std::string& raw = {}) {
    if (number(decoded, raw)) return;
    std::istringstream lines(decoded);  // one value a line in sent-*.txt
    for (std::string line; std::getline(lines, line);)
      if (line.size() >= 12) add(line);
  }
  std::vector<std::string> values;

 private:
  void add(const std::string& v) {
    if (std::find(values.begin(), values.end(), v) == values.end()) values.push_back(v);
  }
};

// Every value of a query string or a form, as sent and decoded (with '+'
// as '+' and as a space: a server may read it either way): the numbers, or
// (under a key of `texts`) the numbers and the texts.
void take_pairs(const std::string& encoded, Collector& c, const std::set<std::string>& texts = {}) {
  std::istringstream pairs(encoded);
  for (std::string pair; std::getline(pairs, pair, '&');) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos) continue;
    const bool text = texts.count(sdk::url_decode(pair.substr(0, eq))) > 0;
    const std::string raw = pair.substr(eq + 1);
    std::string decoded = sdk::url_decode(raw, false);
    if (c.number(decoded, raw)) continue;
    std::string spaced = sdk::url_decode(raw, true);
    if (c.number(spaced.substr(std::min(spaced.find_first_not_of(' '), spaced.size())), raw)) continue;
    if (text) c.text(spaced);
  }
}

}  // namespace

std::vector<std::string> sent_values(const std::string& method, const std::string& target, const std::string& body) {
  Collector c;
  const auto q = target.find('?');
  std::istringstream segments(target.substr(0, q));
  for (std::string segment; std::getline(segments, segment, '/');) c.number(sdk::url_decode(segment, false), segment);
  if (q != std::string::npos) take_pairs(target.substr(q + 1), c);

  if ((method != "POST" && method != "PUT" && method != "PATCH") || body.empty()) return c.values;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) {
    take_pairs(body, c, {"Body"});
    return c.values;
  }
  std::function<void(const nlohmann::json&, const std::string&)> walk = [&](const nlohmann::json& v,
                                                                            const std::string& key) {
    if (v.is_object()) {
      for (const auto& [k, e] : v.items()) walk(e, key == "variables" ? key : k);  // template variables by name
    } else if (v.is_array()) {
      for (const auto& e : v) walk(e, key);
    } else if (v.is_string() && (key == "body" || key == "text" || key == "variables")) {
      c.text(v.get<std::string>());
    } else if (v.is_string()) {
      // to, from, phone, recipients; elsewhere only a '+' number (a bare
      // run of digits there may be a reference a log rightly shows)
      const std::string s = v.get<std::string>();
      if (key == "to" || key == "from" || key == "phone" || key == "recipients" || s.rfind('+', 0) == 0) c.number(s);
    }
  };
  walk(j, "");
  return c.values;
}

void record_sent(const std::string& method, const std::string& target, const std::string& body) {
  const std::string dir = archive_dir();
  if (dir.empty()) return;
  const auto values = sent_values(method, target, body);
  if (values.empty()) return;
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::ofstream out(dir + "/sent-" + std::to_string(::getpid()) + ".txt", std::ios::app);
  for (const auto& v : values) out << v << "\n";
}

void keep_gateway_log(const fs::path& log) {
  static std::atomic<int> n{0};
  const std::string dir = archive_dir();
  if (dir.empty() || !fs::exists(log)) return;
  std::error_code ec;
  fs::create_directories(dir, ec);
  fs::copy_file(log, dir + "/gateway-" + std::to_string(::getpid()) + "-" + std::to_string(++n) + ".log",
                fs::copy_options::overwrite_existing, ec);
}

LogScanResult scan_logs(const fs::path& dir) {
  LogScanResult r;
  std::set<std::string> sent;
  std::vector<std::pair<std::string, std::string>> logs;  // name, text
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("sent-", 0) == 0) {
      std::istringstream lines(read(entry.path()));
      for (std::string line; std::getline(lines, line);)
        if (!line.empty()) sent.insert(line);
    } else if (name.rfind("gateway-", 0) == 0) {
      logs.emplace_back(name, read(entry.path()));
    }
  }
  r.logs = logs.size();
  r.values = sent.size();
  for (const auto& [name, text] : logs) {
    r.bytes += text.size();
    for (const auto& value : sent)
      if (text.find(value) != std::string::npos)
        r.findings.push_back(name + " holds a value a test sent (" + std::to_string(value.size()) +
                             " bytes, starting '" + value.substr(0, 4) + "')");
  }
  return r;
}

}  // namespace barid::testing
