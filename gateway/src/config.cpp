#include "config.hpp"

#include <barid/core/phone.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace barid::gateway {

using core::Error;
using core::Result;

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

namespace {

Result<std::string> read_secret_file(const std::string& path, const std::string& key) {
  if (path.empty() || path.front() != '/')
    return Error::invalid(key, key + ": ${file:...} takes an absolute path");
  if (auto why = readable_file(path)) return Error::invalid(key, key + ": cannot read " + path + ": " + *why);
  std::ifstream in(path, std::ios::binary);
  std::string content;
  constexpr std::size_t kMaxSecretBytes = 64 * 1024;
  content.resize(kMaxSecretBytes + 1);
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (in.bad()) return Error::invalid(key, key + ": cannot read " + path);
  content.resize(static_cast<std::size_t>(in.gcount()));
  if (content.size() > kMaxSecretBytes)
    return Error::invalid(key, key + ": " + path + " holds more than 64 KiB; a secret file holds one value");
  // The line end an editor or `echo` leaves is not part of the secret.
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) content.pop_back();
  return content;
}

}  // namespace

Result<std::string> interpolate(const std::string& value, const std::string& key, const EnvLookup& env) {
  std::string out;
  std::size_t i = 0;
  while (i < value.size()) {
    if (value.compare(i, 2, "${") != 0) {
      out.push_back(value[i++]);
      continue;
    }
    const std::size_t end = value.find('}', i + 2);
    if (end == std::string::npos) return Error::invalid(key, key + ": unterminated ${ in '" + value + "'");
    std::string inner = value.substr(i + 2, end - i - 2);
    if (inner.rfind("file:", 0) == 0) {
      // ${file:/path}: a secret kept in a file (a mounted secret, a file only
      // the gateway's user can read), read at start and at every SIGHUP.
      auto content = read_secret_file(inner.substr(5), key);
      if (!content) return content.error();
      out += *content;
      i = end + 1;
      continue;
    }
    std::optional<std::string> fallback;
    if (auto sep = inner.find(":-"); sep != std::string::npos) {
      fallback = inner.substr(sep + 2);
      inner = inner.substr(0, sep);
    }
    static const std::regex name_re("[A-Za-z_][A-Za-z0-9_]*");
    if (!std::regex_match(inner, name_re))
      return Error::invalid(key, key + ": '" + inner + "' is not an environment variable name");
    auto v = env(inner);
    if (!v || (v->empty() && fallback)) {
      if (!fallback)
        return Error::invalid(key, key + ": environment variable " + inner + " is not set");
      v = fallback;
    }
    out += *v;
    i = end + 1;
  }
  return out;
}

std::optional<std::string> readable_file(const std::filesystem::path& path) {
  // O_NONBLOCK: a FIFO must not hold up the start.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return std::generic_category().message(errno);
  struct stat st {};
  const bool ok = ::fstat(fd, &st) == 0;
  ::close(fd);
  if (ok && S_ISDIR(st.st_mode)) return std::string("it is a folder");
  if (!ok || !S_ISREG(st.st_mode)) return std::string("it is not a regular file");
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  // At most nine digits: a billion days still fits in milliseconds.
  static const std::regex re("\\s*([0-9]{1,9})\\s*(ms|s|m|h|d)\\s*");
  std::smatch m;
  if (!std::regex_match(text, m, re)) return std::nullopt;
  const long long n = std::stoll(m[1].str());
  const std::string unit = m[2].str();
  using namespace std::chrono;
  if (unit == "ms") return milliseconds(n);
  if (unit == "s") return duration_cast<milliseconds>(seconds(n));
  if (unit == "m") return duration_cast<milliseconds>(minutes(n));
  if (unit == "h") return duration_cast<milliseconds>(hours(n));
  return duration_cast<milliseconds>(hours(24 * n));
}

std::optional<std::size_t> parse_bytes(const std::string& text) {
  static const std::regex re("\\s*([0-9]{1,10})\\s*(B|KiB|MiB|GiB)?\\s*");
  std::smatch m;
  if (!std::regex_match(text, m, re)) return std::nullopt;
  const auto n = static_cast<std::size_t>(std::stoull(m[1].str()));
  const std::string unit = m[2].str();
  if (unit == "KiB") return n << 10;
  if (unit == "MiB") return n << 20;
  if (unit == "GiB") return n << 30;
  return n;
}

namespace {

// A YAML mapping read strictly: every key it has must be one the reader
// asks for; values are interpolated before they are converted.
class Section {
 public:
  Section(YAML::Node node, std::string path, const EnvLookup& env) : node_(node), path_(std::move(path)), env_(env) {}

  bool present() const { return node_ && !node_.IsNull(); }
  const std::string& path() const { return path_; }
  YAML::Node node() const { return node_; }

  std::string key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  Result<bool> check_mapping() const {
    if (present() && !node_.IsMap()) return Error::invalid(path_, path_ + ": must be a mapping");
    return true;
  }

  // Every key must be in `allowed`.
  Result<bool> only(std::initializer_list<const char*> allowed) const {
    if (!present()) return true;
    if (auto r = check_mapping(); !r) return r;
    std::set<std::string> ok(allowed.begin(), allowed.end());
    for (const auto& kv : node_) {
      if (!kv.first.IsScalar())
        return Error::invalid(path(), path() + ": a key must be a plain word, not a list or a mapping");
      const auto k = kv.first.as<std::string>();
      if (!ok.count(k)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        return Error::invalid(key_path(k), key_path(k) + ": unknown key (known keys: " + list + ")");
      }
    }
    return true;
  }

  Section child(const std::string& key) const {
    return Section(present() && node_.IsMap() ? node_[key] : YAML::Node(), key_path(key), env_);
  }

  Result<std::optional<std::string>> scalar(const std::string& key) const {
    if (!present()) return std::optional<std::string>();
    YAML::Node v = node_[key];
    if (!v || v.IsNull()) return std::optional<std::string>();
    if (!v.IsScalar()) return Error::invalid(key_path(key), key_path(key) + ": must be a single value");
    auto r = interpolate(v.as<std::string>(), key_path(key), env_);
    if (!r) return r.error();
    return std::optional<std::string>(*r);
  }

  Result<bool> string(const std::string& key, std::string& out) const {
    auto v = scalar(key);
    if (!v) return v.error();
    if (*v) out = **v;
    return true;
  }

  template <typename Int>
  Result<bool> integer(const std::string& key, Int& out, long long min, long long max) const {
    auto v = scalar(key);
    if (!v) return v.error();
    if (!*v) return true;
    static const std::regex re("-?[0-9]+");
    if (!std::regex_match(**v, re))
      return Error::invalid(key_path(key), key_path(key) + ": '" + **v + "' is not an integer");
    long long n = 0;
    try {
      n = std::stoll(**v);
    } catch (...) {
      return Error::invalid(key_path(key), key_path(key) + ": '" + **v + "' is out of range");
    }
    if (n < min || n > max)
      return Error::invalid(key_path(key), key_path(key) + ": must be between " + std::to_string(min) + " and " +
                                               std::to_string(max));
    out = static_cast<Int>(n);
    return true;
  }

  Result<bool> number(const std::string& key, double& out, double min, double max) const {
    auto v = scalar(key);
    if (!v) return v.error();
    if (!*v) return true;
    char* end = nullptr;
    const double d = std::strtod((*v)->c_str(), &end);
    if ((*v)->empty() || *end != '\0' || !std::isfinite(d))
      return Error::invalid(key_path(key), key_path(key) + ": '" + **v + "' is not a number");
    if (d < min || d > max)
      return Error::invalid(key_path(key), key_path(key) + ": must be between " + std::to_string(min) + " and " +
                                               std::to_string(max));
    out = d;
    return true;
  }

  Result<bool> boolean(const std::string& key, bool& out) const {
    auto v = scalar(key);
    if (!v) return v.error();
    if (!*v) return true;
    if (**v == "true" || **v == "yes" || **v == "on") {
      out = true;
    } else if (**v == "false" || **v == "no" || **v == "off") {
      out = false;
    } else {
      return Error::invalid(key_path(key), key_path(key) + ": must be true or false");
    }
    return true;
  }

  template <typename Duration>
  Result<bool> duration(const std::string& key, Duration& out) const {
    auto v = scalar(key);
    if (!v) return v.error();
    if (!*v) return true;
    auto d = parse_duration(**v);
    if (!d)
      return Error::invalid(key_path(key), key_path(key) + ": '" + **v + "' is not a duration (e.g. 500ms, 30s, 5m)");
    out = std::chrono::duration_cast<Duration>(*d);
    return true;
  }

  Result<bool> bytes(const std::string& key, std::size_t& out, std::size_t min, std::size_t max) const {
    auto v = scalar(key);
    if (!v) return v.error();
    if (!*v) return true;
    auto n = parse_bytes(**v);
    if (!n) return Error::invalid(key_path(key), key_path(key) + ": '" + **v + "' is not a size (e.g. 65536, 64KiB, 1MiB)");
    if (*n < min || *n > max)
      return Error::invalid(key_path(key), key_path(key) + ": must be between " + std::to_string(min) + " and " +
                                               std::to_string(max) + " bytes");
    out = *n;
    return true;
  }

  Result<std::vector<std::string>> list(const std::string& key) const {
    std::vector<std::string> out;
    if (!present()) return out;
    YAML::Node v = node_[key];
    if (!v || v.IsNull()) return out;
    if (v.IsScalar()) {  // one value stands for a list of one
      auto r = interpolate(v.as<std::string>(), key_path(key), env_);
      if (!r) return r.error();
      out.push_back(*r);
      return out;
    }
    if (!v.IsSequence()) return Error::invalid(key_path(key), key_path(key) + ": must be a list");
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string item_key = key_path(key) + "[" + std::to_string(i) + "]";
      if (!v[i].IsScalar()) return Error::invalid(item_key, item_key + ": must be a single value");
      auto r = interpolate(v[i].as<std::string>(), item_key, env_);
      if (!r) return r.error();
      out.push_back(*r);
    }
    return out;
  }

 private:
  YAML::Node node_;
  std::string path_;
  const EnvLookup& env_;
};

#define TRY(expr)                        \
  do {                                   \
    auto _r = (expr);                    \
    if (!_r) return _r.error();          \
  } while (0)

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& p) {
  std::filesystem::path path(p);
  return path.is_absolute() ? path : (base / path).lexically_normal();
}

Result<bool> read_server(const Section& s, ServerConfig& out, const std::filesystem::path& base) {
  TRY(s.only({"listen", "threads", "handler_threads", "handler_queue", "max_request_bytes", "max_message_request_bytes",
              "public_base_url", "tls", "drain_timeout", "trusted_proxies", "metrics_token"}));
  std::string listen;
  TRY(s.string("listen", listen));
  if (!listen.empty()) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0)
      return Error::invalid(s.key_path("listen"), s.key_path("listen") + ": must be host:port, e.g. 127.0.0.1:8080");
    out.host = listen.substr(0, colon);
    const std::string port = listen.substr(colon + 1);
    static const std::regex port_re("[0-9]{1,5}");
    if (!std::regex_match(port, port_re) || std::stoi(port) > 65535)
      return Error::invalid(s.key_path("listen"), s.key_path("listen") + ": '" + port + "' is not a port");
    out.port = std::stoi(port);
  }
  TRY(s.integer("threads", out.threads, 1, 64));
  TRY(s.integer("handler_threads", out.handler_threads, 1, 256));
  TRY(s.integer("handler_queue", out.handler_queue, 1, 1000000));
  TRY(s.integer("max_request_bytes", out.max_request_bytes, 4096, 1LL << 30));
  TRY(s.integer("max_message_request_bytes", out.max_message_request_bytes, 1024, 1LL << 24));
  TRY(s.string("public_base_url", out.public_base_url));
  if (!out.public_base_url.empty() && out.public_base_url.rfind("http://", 0) != 0 &&
      out.public_base_url.rfind("https://", 0) != 0)
    return Error::invalid(s.key_path("public_base_url"),
                          s.key_path("public_base_url") + ": must start with http:// or https://");
  // Callback URLs are this plus a path; providers sign the whole URL.
  if (out.public_base_url.find_first_of("?#") != std::string::npos)
    return Error::invalid(s.key_path("public_base_url"),
                          s.key_path("public_base_url") + ": must not have a query string or fragment");
  TRY(s.duration("drain_timeout", out.drain_timeout));
  TRY(s.string("metrics_token", out.metrics_token));
  auto proxies = s.list("trusted_proxies");
  if (!proxies) return proxies.error();
  auto trusted = TrustedProxies::parse(*proxies, s.key_path("trusted_proxies"));
  if (!trusted) return trusted.error();
  out.trusted_proxies = std::move(*trusted);
  Section tls = s.child("tls");
  TRY(tls.only({"cert", "key"}));
  std::string cert, key;
  TRY(tls.string("cert", cert));
  TRY(tls.string("key", key));
  if (cert.empty() != key.empty())
    return Error::invalid(tls.path(), tls.path() + ": set both cert and key, or neither");
  if (!cert.empty()) {
    out.tls_cert = resolve(base, cert).string();
    out.tls_key = resolve(base, key).string();
  }
  return true;
}

Result<bool> read_storage_tls(const Section& tls, core::MySqlTlsOptions& out, const std::filesystem::path& base,
                              const FileCheck& files) {
  using core::MySqlTlsMode;
  TRY(tls.only({"mode", "ca", "cert", "key"}));
  std::string mode(core::to_string(out.mode));
  TRY(tls.string("mode", mode));
  auto m = core::mysql_tls_mode_from_string(mode);
  if (!m)
    return Error::invalid(tls.key_path("mode"), tls.key_path("mode") + ": '" + mode +
                                                    "' is not a mode (disabled, preferred, required, verify_identity)");
  out.mode = *m;
  const std::pair<const char*, std::string*> file_keys[] = {{"ca", &out.ca}, {"cert", &out.cert}, {"key", &out.key}};
  for (const auto& [key, field] : file_keys) {
    TRY(tls.string(key, *field));
    // With disabled, the file would be ignored: better said than silently so.
    if (!field->empty() && out.mode == MySqlTlsMode::disabled)
      return Error::invalid(tls.key_path(key),
                            tls.key_path(key) + ": not used with mode disabled (remove it, or choose another mode)");
  }
  if (out.cert.empty() != out.key.empty())
    return Error::invalid(tls.path(), tls.path() + ": set both cert and key, or neither");
  if (out.mode == MySqlTlsMode::verify_identity && out.ca.empty())
    return Error::invalid(tls.key_path("ca"), tls.key_path("ca") +
                                                  ": is required with mode verify_identity (the CA the server's "
                                                  "certificate must chain to)");
  // Checked now, not at the first connection: a typo in a path would
  // otherwise show as a TLS error, or not at all with preferred.
  for (const auto& [key, field] : file_keys) {
    if (field->empty()) continue;
    *field = resolve(base, *field).string();
    if (auto why = files(*field))
      return Error::invalid(tls.key_path(key), tls.key_path(key) + ": cannot read " + *field + ": " + *why);
  }
  return true;
}

Result<bool> read_storage(const Section& s, core::MySqlOptions& out, const std::filesystem::path& base,
                          const FileCheck& files) {
  TRY(s.only({"driver", "host", "port", "socket", "database", "user", "password", "pool_size", "connect_timeout",
              "io_timeout", "acquire_timeout", "tls"}));
  std::string driver = "mysql";
  TRY(s.string("driver", driver));
  if (driver != "mysql")
    return Error::invalid(s.key_path("driver"), s.key_path("driver") + ": '" + driver + "' is not supported (mysql)");
  TRY(s.string("host", out.host));
  TRY(s.integer("port", out.port, 1, 65535));
  TRY(s.string("socket", out.socket));
  TRY(s.string("database", out.database));
  TRY(s.string("user", out.user));
  TRY(s.string("password", out.password));
  TRY(s.integer("pool_size", out.pool_size, 1, 256));
  TRY(s.duration("connect_timeout", out.connect_timeout));
  TRY(s.duration("io_timeout", out.io_timeout));
  TRY(s.duration("acquire_timeout", out.acquire_timeout));
  if (out.user.empty()) return Error::invalid(s.key_path("user"), s.key_path("user") + ": is required");
  if (out.database.empty()) return Error::invalid(s.key_path("database"), s.key_path("database") + ": is required");
  TRY(read_storage_tls(s.child("tls"), out.tls, base, files));
  return true;
}

Result<bool> read_providers(const Section& s, std::vector<ProviderInstanceConfig>& out) {
  if (!s.present()) return true;
  TRY(s.check_mapping());
  static const std::regex name_re("[a-z0-9][a-z0-9_-]{0,62}");
  for (const auto& kv : s.node()) {
    ProviderInstanceConfig p;
    p.name = kv.first.as<std::string>();
    Section inst = s.child(p.name);
    if (!std::regex_match(p.name, name_re))
      return Error::invalid(inst.path(), inst.path() + ": an instance name has lower-case letters, digits, '-', '_'");
    TRY(inst.only({"plugin", "config", "rate_limit", "burst", "http", "price", "allow_unauthenticated_callbacks",
                   "default_tenant"}));
    TRY(inst.string("plugin", p.plugin));
    if (p.plugin.empty()) return Error::invalid(inst.key_path("plugin"), inst.key_path("plugin") + ": is required");
    Section cfg = inst.child("config");
    TRY(cfg.check_mapping());
    if (cfg.present()) {
      for (const auto& c : cfg.node()) {
        const auto key = c.first.as<std::string>();
        auto v = cfg.scalar(key);
        if (!v) return v.error();
        p.config[key] = v->value_or("");
      }
    }
    TRY(inst.boolean("allow_unauthenticated_callbacks", p.allow_unauthenticated_callbacks));
    TRY(inst.string("default_tenant", p.default_tenant));
    TRY(inst.number("rate_limit", p.rate_limit, 0, 1e6));
    TRY(inst.number("burst", p.burst, 0, 1e6));
    if (p.burst == 0) p.burst = 1;
    Section http = inst.child("http");
    TRY(http.only({"connect_timeout", "timeout", "ca_file", "max_response_bytes"}));
    TRY(http.duration("connect_timeout", p.http.connect_timeout));
    TRY(http.duration("timeout", p.http.total_timeout));
    TRY(http.string("ca_file", p.http.ca_file));
    TRY(http.bytes("max_response_bytes", p.http.max_response_bytes, 1 << 10, std::size_t{1} << 30));
    Section price = inst.child("price");
    TRY(price.only({"per_segment", "currency"}));
    if (price.present()) {
      std::string amount, currency;
      TRY(price.string("per_segment", amount));
      TRY(price.string("currency", currency));
      auto micros = parse_money(amount);
      if (!micros)
        return Error::invalid(price.key_path("per_segment"),
                              price.key_path("per_segment") + ": '" + amount + "' is not an amount (e.g. 0.0075)");
      static const std::regex currency_re("[A-Z]{3}");
      if (!std::regex_match(currency, currency_re))
        return Error::invalid(price.key_path("currency"),
                              price.key_path("currency") + ": an ISO 4217 code such as USD or SAR");
      p.price_per_segment = sdk::Money{*micros, currency};
    }
    out.push_back(std::move(p));
  }
  return true;
}

Result<bool> read_routing(const Section& s, const std::vector<ProviderInstanceConfig>& providers,
                          std::vector<RouteConfig>& out) {
  TRY(s.only({"sms", "whatsapp"}));
  std::set<std::string> names;
  for (const auto& p : providers) names.insert(p.name);
  for (const char* channel : {"sms", "whatsapp"}) {
    Section r = s.child(channel);
    if (!r.present()) continue;
    TRY(r.only({"provider", "fallback", "primary_attempts"}));
    RouteConfig route;
    route.channel = *sdk::channel_from_string(channel);
    TRY(r.string("provider", route.provider));
    if (route.provider.empty())
      return Error::invalid(r.key_path("provider"), r.key_path("provider") + ": is required");
    if (!names.count(route.provider))
      return Error::invalid(r.key_path("provider"),
                            r.key_path("provider") + ": no provider instance named '" + route.provider + "'");
    auto fb = r.list("fallback");
    if (!fb) return fb.error();
    for (const auto& f : *fb)
      if (!names.count(f))
        return Error::invalid(r.key_path("fallback"),
                              r.key_path("fallback") + ": no provider instance named '" + f + "'");
    route.fallback = *fb;
    route.primary_attempts = route.fallback.empty() ? 0 : 1;
    TRY(r.integer("primary_attempts", route.primary_attempts, 0, 100));
    out.push_back(route);
  }
  return true;
}

Result<bool> read_job(const Section& s, JobConfig& job, std::initializer_list<const char*> extra_keys) {
  std::vector<const char*> keys{"enabled", "every", "daily_at"};
  keys.insert(keys.end(), extra_keys.begin(), extra_keys.end());
  if (s.present()) {
    TRY(s.check_mapping());
    std::set<std::string> ok(keys.begin(), keys.end());
    for (const auto& kv : s.node()) {
      const auto k = kv.first.as<std::string>();
      if (!ok.count(k)) {
        std::string list;
        for (const auto& a : keys) list += (list.empty() ? "" : ", ") + std::string(a);
        return Error::invalid(s.key_path(k), s.key_path(k) + ": unknown key (known keys: " + list + ")");
      }
    }
  }
  TRY(s.boolean("enabled", job.enabled));
  std::chrono::milliseconds every{0};
  TRY(s.duration("every", every));
  std::string daily;
  TRY(s.string("daily_at", daily));
  if (every.count() > 0 && !daily.empty())
    return Error::invalid(s.path(), s.path() + ": give either every or daily_at");
  if (every.count() > 0) {
    if (every < std::chrono::seconds(1))
      return Error::invalid(s.key_path("every"), s.key_path("every") + ": at least 1s");
    job.schedule = core::JobSchedule::interval(every);
  }
  if (!daily.empty()) {
    static const std::regex hhmm("([01][0-9]|2[0-3]):([0-5][0-9])");
    std::smatch m;
    if (!std::regex_match(daily, m, hhmm))
      return Error::invalid(s.key_path("daily_at"), s.key_path("daily_at") + ": HH:MM in UTC, e.g. \"23:00\"");
    job.schedule = core::JobSchedule::daily(std::stoi(m[1].str()), std::stoi(m[2].str()));
  }
  return true;
}

// privacy.encryption: the keys that seal content at rest, from a file (mode
// 600) or an environment variable, never from the YAML itself.
Result<bool> read_privacy(const Section& s, core::MySqlOptions& mysql, const std::filesystem::path& base_dir,
                          const EnvLookup& env) {
  TRY(s.only({"encryption"}));
  Section enc = s.child("encryption");
  TRY(enc.only({"key_file", "key_env", "numbers"}));
  std::string file, env_name;
  bool numbers = false;
  TRY(enc.string("key_file", file));
  TRY(enc.string("key_env", env_name));
  TRY(enc.boolean("numbers", numbers));
  if (!file.empty() && !env_name.empty())
    return Error::invalid("privacy.encryption", "privacy.encryption: key_file or key_env, not both");
  std::optional<core::ContentCipher> cipher;
  if (!file.empty()) {
    auto c = core::ContentCipher::from_file(resolve(base_dir, file).string());
    if (!c) return Error::invalid("privacy.encryption.key_file", "privacy.encryption.key_file: " + c.error().message);
    cipher = std::move(*c);
  } else if (!env_name.empty()) {
    auto text = env(env_name);
    if (!text || text->empty())
      return Error::invalid("privacy.encryption.key_env",
                            "privacy.encryption.key_env: environment variable " + env_name + " is not set");
    // One key a line, or a comma between keys (easier in an environment).
    std::string lines = *text;
    std::replace(lines.begin(), lines.end(), ',', '\n');
    auto c = core::ContentCipher::from_text(lines);
    if (!c)
      return Error::invalid("privacy.encryption.key_env",
                            "privacy.encryption.key_env: " + env_name + ": " + c.error().message);
    cipher = std::move(*c);
  }
  if (numbers) {
    if (!cipher)
      return Error::invalid("privacy.encryption.numbers", "privacy.encryption.numbers: needs key_file or key_env");
    if (!cipher->has_index_key())
      return Error::invalid("privacy.encryption.numbers",
                            "privacy.encryption.numbers: the keys need a line index:<base64 of 32 bytes> (the key "
                            "of the numbers' keyed hash)");
    cipher->set_seal_numbers(true);
  }
  if (cipher) mysql.cipher = std::make_shared<const core::ContentCipher>(std::move(*cipher));
  return true;
}

Result<bool> read_jobs(const Section& s, JobsConfig& j) {
  TRY(s.only({"poll", "status_refresh", "retry_sweep", "retention", "provider_health"}));
  TRY(s.duration("poll", j.poll));
  Section refresh = s.child("status_refresh");
  TRY(read_job(refresh, j.status_refresh, {"window", "batch"}));
  TRY(refresh.duration("window", j.refresh_window));
  TRY(refresh.integer("batch", j.refresh_batch, 1, 100000));
  Section sweep = s.child("retry_sweep");
  TRY(read_job(sweep, j.retry_sweep, {"window", "max_attempts"}));
  TRY(sweep.duration("window", j.sweep_window));
  TRY(sweep.integer("max_attempts", j.sweep_max_attempts, 1, 10));
  Section retention = s.child("retention");
  TRY(read_job(retention, j.retention, {"days", "max_days", "batch", "audit_min_days"}));
  TRY(retention.integer("days", j.retention_days, 1, 36500));
  TRY(retention.integer("max_days", j.retention_max_days, 1, 36500));
  if (j.retention_days > j.retention_max_days)
    return Error::invalid("jobs.retention.days", "jobs.retention.days: at most jobs.retention.max_days (" +
                                                     std::to_string(j.retention_max_days) + ")");
  // The audit's minimum: 365 days, or max_days when that is shorter; set
  // above max_days it is refused (nothing is kept beyond max_days).
  int audit_min_days = 0;
  TRY(retention.integer("audit_min_days", audit_min_days, 1, 36500));
  if (audit_min_days > j.retention_max_days)
    return Error::invalid("jobs.retention.audit_min_days",
                          "jobs.retention.audit_min_days: at most jobs.retention.max_days (" +
                              std::to_string(j.retention_max_days) + ")");
  j.retention_audit_min_days = audit_min_days > 0 ? audit_min_days : std::min(365, j.retention_max_days);
  TRY(retention.integer("batch", j.retention_batch, 1, 100000));
  TRY(read_job(s.child("provider_health"), j.provider_health, {}));
  return true;
}

}  // namespace

namespace {

Result<GatewayConfig> read_config(const std::string& yaml_text, const std::filesystem::path& base_dir,
                                  const EnvLookup& env, const FileCheck& files) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return Error::invalid("", std::string("the configuration is not valid YAML: ") + e.what());
  }
  GatewayConfig c;
  Section top(root, "", env);
  if (top.present() && !root.IsMap()) return Error::invalid("", "the configuration must be a YAML mapping");
  TRY(top.only({"server", "storage", "plugins", "providers", "routing", "retry", "dispatch", "intake", "messaging",
                "jobs", "auth", "log", "webhooks", "privacy"}));

  TRY(read_server(top.child("server"), c.server, base_dir));
  if (!top.child("storage").present()) return Error::invalid("storage", "storage: is required");
  TRY(read_storage(top.child("storage"), c.mysql, base_dir, files));
  TRY(read_privacy(top.child("privacy"), c.mysql, base_dir, env));

  Section plugins = top.child("plugins");
  TRY(plugins.only({"path"}));
  auto paths = plugins.list("path");
  if (!paths) return paths.error();
  for (const auto& p : *paths) c.plugin_paths.push_back(resolve(base_dir, p));
  if (c.plugin_paths.empty()) return Error::invalid("plugins.path", "plugins.path: at least one directory is required");

  TRY(read_providers(top.child("providers"), c.providers));
  if (c.providers.empty()) return Error::invalid("providers", "providers: at least one provider instance is required");
  TRY(read_routing(top.child("routing"), c.providers, c.routes));
  if (c.routes.empty()) return Error::invalid("routing", "routing: route at least one channel (sms or whatsapp)");

  Section retry = top.child("retry");
  TRY(retry.only({"max_attempts", "initial_backoff", "max_backoff", "multiplier", "jitter"}));
  TRY(retry.integer("max_attempts", c.retry.max_attempts, 1, 10));
  TRY(retry.duration("initial_backoff", c.retry.initial_backoff));
  TRY(retry.duration("max_backoff", c.retry.max_backoff));
  TRY(retry.number("multiplier", c.retry.multiplier, 1.0, 10.0));
  TRY(retry.number("jitter", c.retry.jitter, 0.0, 1.0));
  if (c.retry.max_backoff < c.retry.initial_backoff)
    return Error::invalid("retry.max_backoff", "retry.max_backoff: must not be shorter than retry.initial_backoff");

  Section dispatch = top.child("dispatch");
  TRY(dispatch.only(
      {"enabled", "senders", "claim_batch", "lease", "poll_interval", "lease_sweep", "node_id", "pace_horizon"}));
  TRY(dispatch.boolean("enabled", c.dispatch_enabled));
  TRY(dispatch.integer("senders", c.dispatch.senders, 1, 4096));
  TRY(dispatch.integer("claim_batch", c.dispatch.claim_batch, 1, 10000));
  TRY(dispatch.duration("lease", c.dispatch.lease));
  TRY(dispatch.duration("poll_interval", c.dispatch.idle_poll));
  TRY(dispatch.duration("lease_sweep", c.dispatch.lease_sweep));
  TRY(dispatch.string("node_id", c.dispatch.node_id));
  TRY(dispatch.duration("pace_horizon", c.dispatch.pace_horizon));
  if (c.dispatch.lease < std::chrono::seconds(1))
    return Error::invalid("dispatch.lease", "dispatch.lease: at least 1s");
  if (c.dispatch.pace_horizon < std::chrono::milliseconds(100) || c.dispatch.pace_horizon > std::chrono::seconds(60))
    return Error::invalid("dispatch.pace_horizon", "dispatch.pace_horizon: between 100ms and 60s");
  // A node never starts a send that could outlive its lease (another node
  // could send the message too): the lease must hold a claimed message's
  // wait for its slot, the slowest provider call and the recording of it.
  for (const auto& p : c.providers) {
    const auto needed = c.dispatch.pace_horizon + p.http.total_timeout + std::chrono::seconds(2);
    if (c.dispatch.lease < needed)
      return Error::invalid("dispatch.lease", "dispatch.lease: at least " + std::to_string(needed.count()) +
                                                  " ms: pace_horizon + providers." + p.name +
                                                  ".http.timeout + 2s to record the outcome");
  }

  Section intake = top.child("intake");
  TRY(intake.only({"writers", "max_batch", "max_pending"}));
  TRY(intake.integer("writers", c.intake.writers, 1, 64));
  TRY(intake.integer("max_batch", c.intake.max_batch, 1, 10000));
  TRY(intake.integer("max_pending", c.intake.max_pending, 1, 10000000));

  Section messaging = top.child("messaging");
  TRY(messaging.only({"default_region", "max_sms_characters", "max_whatsapp_characters", "max_bulk_recipients",
                      "template_cache_ttl", "inbound_assignment_window"}));
  TRY(messaging.integer("max_bulk_recipients", c.max_bulk_recipients, 1, 1000000));
  TRY(messaging.duration("template_cache_ttl", c.template_cache_ttl));
  TRY(messaging.duration("inbound_assignment_window", c.inbound_assignment_window));
  if (c.inbound_assignment_window.count() <= 0)
    return Error::invalid("messaging.inbound_assignment_window",
                          "messaging.inbound_assignment_window: at least 1s");
  TRY(messaging.string("default_region", c.default_region));
  if (!c.default_region.empty() && !core::PhoneNormalizer::is_known_region(c.default_region))
    return Error::invalid("messaging.default_region",
                          "messaging.default_region: '" + c.default_region + "' is not a region (e.g. SA, AE, US)");
  TRY(messaging.integer("max_sms_characters", c.limits.max_sms_characters, 1, 10000));
  TRY(messaging.integer("max_whatsapp_characters", c.limits.max_whatsapp_characters, 1, 65536));

  TRY(read_jobs(top.child("jobs"), c.jobs));

  Section auth = top.child("auth");
  TRY(auth.only({"key_cache_ttl", "revocation_poll"}));
  TRY(auth.duration("key_cache_ttl", c.api_key_cache_ttl));
  TRY(auth.duration("revocation_poll", c.revocation_poll));
  if (c.revocation_poll < std::chrono::milliseconds(100))
    return Error::invalid("auth.revocation_poll", "auth.revocation_poll: at least 100ms");

  Section hooks = top.child("webhooks");
  TRY(hooks.only({"allow_hosts", "allow_http_hosts", "max_response_bytes", "workers", "timeout", "poll_interval",
                  "initial_backoff", "max_backoff", "give_up_after", "disable_after", "secret_overlap",
                  "endpoint_concurrency", "replay_limit"}));
  auto allow_hosts = hooks.list("allow_hosts");
  if (!allow_hosts) return allow_hosts.error();
  for (std::size_t i = 0; i < allow_hosts->size(); ++i) {
    std::string h = (*allow_hosts)[i];
    std::transform(h.begin(), h.end(), h.begin(), ::tolower);
    static const std::regex host_port("([a-z0-9._-]+|\\[[0-9a-f:.]+\\]):([0-9]{1,5})");
    std::smatch m;
    const std::string key = "webhooks.allow_hosts[" + std::to_string(i) + "]";
    if (!std::regex_match(h, m, host_port) || std::stol(m[2].str()) < 1 || std::stol(m[2].str()) > 65535)
      return Error::invalid(key, key + ": '" + h + "' is not host:port (e.g. 127.0.0.1:8080, [::1]:8080)");
    c.webhooks.hosts.allow_hosts.push_back(m[1].str() + ":" + std::to_string(std::stol(m[2].str())));
  }
  auto http_hosts = hooks.list("allow_http_hosts");
  if (!http_hosts) return http_hosts.error();
  for (auto h : *http_hosts) {
    std::transform(h.begin(), h.end(), h.begin(), ::tolower);
    c.webhooks.hosts.any_port_hosts.push_back(h);
  }
  if (!http_hosts->empty())
    c.warnings.push_back(
        "webhooks.allow_http_hosts is deprecated: it opens every port of its hosts to tenants' webhooks; list "
        "host:port in webhooks.allow_hosts instead");
  TRY(hooks.bytes("max_response_bytes", c.webhooks.max_response_bytes, 1 << 10, std::size_t{1} << 30));
  TRY(hooks.integer("workers", c.webhooks.workers, 1, 64));
  TRY(hooks.integer("endpoint_concurrency", c.webhooks.endpoint_concurrency, 1, 64));
  TRY(hooks.integer("replay_limit", c.webhooks.replay_limit, 1, 1000000));
  TRY(hooks.duration("timeout", c.webhooks.timeout));
  TRY(hooks.duration("poll_interval", c.webhooks.poll_interval));
  TRY(hooks.duration("initial_backoff", c.webhooks.initial_backoff));
  TRY(hooks.duration("max_backoff", c.webhooks.max_backoff));
  TRY(hooks.duration("give_up_after", c.webhooks.give_up_after));
  TRY(hooks.duration("disable_after", c.webhooks.disable_after));
  TRY(hooks.duration("secret_overlap", c.webhooks.secret_overlap));
  if (c.webhooks.timeout < std::chrono::milliseconds(100) || c.webhooks.timeout > std::chrono::minutes(2))
    return Error::invalid("webhooks.timeout", "webhooks.timeout: 100ms to 2m");
  if (c.webhooks.poll_interval < std::chrono::milliseconds(10))
    return Error::invalid("webhooks.poll_interval", "webhooks.poll_interval: at least 10ms");
  if (c.webhooks.initial_backoff < std::chrono::milliseconds(100) ||
      c.webhooks.max_backoff < c.webhooks.initial_backoff)
    return Error::invalid("webhooks.max_backoff",
                          "webhooks: initial_backoff at least 100ms, and max_backoff at least initial_backoff");
  if (c.webhooks.give_up_after < std::chrono::hours(24))
    return Error::invalid("webhooks.give_up_after", "webhooks.give_up_after: at least 24h");
  if (c.webhooks.disable_after < std::chrono::hours(24))
    return Error::invalid("webhooks.disable_after", "webhooks.disable_after: at least 24h");

  Section log = top.child("log");
  TRY(log.only({"level"}));
  std::string level = "info";
  TRY(log.string("level", level));
  if (!core::parse_log_level(level, c.log_level))
    return Error::invalid("log.level", "log.level: must be debug, info, warn or error");
  return c;
}

}  // namespace

Result<GatewayConfig> parse_config(const std::string& yaml_text, const std::filesystem::path& base_dir,
                                   const EnvLookup& env, const FileCheck& files) {
  // A value of an unexpected shape anywhere (a list where a word belongs, a
  // mapping as a key) makes yaml-cpp throw while it is read: that is a bad
  // configuration, said as such, never a crash.
  try {
    return read_config(yaml_text, base_dir, env, files);
  } catch (const YAML::Exception& e) {
    return Error::invalid("", std::string("the configuration has a value of the wrong shape: ") + e.what());
  }
}

Result<GatewayConfig> load_config(const std::filesystem::path& file, const EnvLookup& env, const FileCheck& files) {
  std::ifstream in(file);
  if (!in) return Error::invalid("--config", "cannot read the configuration file " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  auto abs = std::filesystem::absolute(file);
  auto r = parse_config(ss.str(), abs.parent_path(), env, files);
  if (r) r->source = abs;
  return r;
}

namespace {

// The host of an http(s) URL, lower-case, without brackets, user or port.
std::string url_host(const std::string& url) {
  std::string rest = url.substr(url.find("://") == std::string::npos ? 0 : url.find("://") + 3);
  rest = rest.substr(0, rest.find('/'));
  if (auto at = rest.rfind('@'); at != std::string::npos) rest.erase(0, at + 1);
  std::string host;
  if (!rest.empty() && rest.front() == '[') {
    host = rest.substr(1, rest.find(']') == std::string::npos ? std::string::npos : rest.find(']') - 1);
  } else {
    host = rest.substr(0, rest.find(':'));
  }
  for (auto& ch : host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return host;
}

bool loopback_or_unspecified(const std::string& host) {
  const bool ipv4 = !host.empty() && host.find_first_not_of("0123456789.") == std::string::npos;
  return host == "localhost" || (host.size() > 10 && host.ends_with(".localhost")) ||
         (ipv4 && host.rfind("127.", 0) == 0) ||
         host == "::1" || host == "0:0:0:0:0:0:0:1" || host == "0.0.0.0" || host == "::" || host == "0:0:0:0:0:0:0:0";
}

}  // namespace

std::string public_url_warning(const GatewayConfig& c) {
  std::string real;
  for (const auto& p : c.providers)
    if (p.plugin != "mock") real += (real.empty() ? "" : ", ") + p.name;
  if (real.empty()) return {};
  const std::string consequence =
      ": provider instance(s) " + real +
      " will hand their providers webhook URLs that they cannot reach, so delivery reports and inbound "
      "messages (STOP) will not arrive; set server.public_base_url to the URL the providers call";
  if (c.server.public_base_url.empty())
    return "server.public_base_url is not set, so webhook URLs name the listen address (" + c.server.host + ")" +
           consequence;
  const std::string host = url_host(c.server.public_base_url);
  if (loopback_or_unspecified(host))
    return "server.public_base_url names " + host + ", a loopback or unspecified address" + consequence;
  return {};
}

}  // namespace barid::gateway
