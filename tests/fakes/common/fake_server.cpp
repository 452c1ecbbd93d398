#include "fake_server.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <pistache/endpoint.h>
#include <pistache/http.h>

#include <cctype>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace barid::fakes {

using namespace Pistache;
using Clock = std::chrono::steady_clock;

// ------------------------------------------------------------------ encoding

std::string percent_encode(std::string_view in) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (in[i] == '%' && i + 2 < in.size() && hexval(in[i + 1]) >= 0 && hexval(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexval(in[i + 1]) * 16 + hexval(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

Fields parse_form(std::string_view body) {
  Fields out;
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find('&', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view pair = body.substr(start, end - start);
    if (!pair.empty()) {
      std::size_t eq = pair.find('=');
      if (eq == std::string_view::npos) out.emplace_back(percent_decode(pair), "");
      else out.emplace_back(percent_decode(pair.substr(0, eq)), percent_decode(pair.substr(eq + 1)));
    }
    start = end + 1;
  }
  return out;
}

std::string encode_form(const Fields& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out.push_back('&');
    out += percent_encode(k) + "=" + percent_encode(v);
  }
  return out;
}

std::string field(const Fields& fields, std::string_view name) {
  for (const auto& [k, v] : fields)
    if (k == name) return v;
  return {};
}

bool has_field(const Fields& fields, std::string_view name) {
  for (const auto& [k, v] : fields)
    if (k == name) return true;
  return false;
}

nlohmann::json fields_json(const Fields& fields) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [k, v] : fields) out.push_back({k, v});
  return out;
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::pair<std::string, std::string>> basic_credentials(const FakeRequest& request) {
  std::string h = request.header("Authorization");
  if (h.rfind("Basic ", 0) != 0) return std::nullopt;
  std::string b64 = h.substr(6);
  std::string raw(b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  if (n < 0) return std::nullopt;
  raw.resize(static_cast<std::size_t>(n));
  // EVP_DecodeBlock keeps the padding's zero bytes.
  std::size_t pad = 0;
  for (auto it = b64.rbegin(); it != b64.rend() && *it == '='; ++it) ++pad;
  raw.resize(raw.size() - std::min(pad, raw.size()));
  auto colon = raw.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::make_pair(raw.substr(0, colon), raw.substr(colon + 1));
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FakeRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < k.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(k[i])) == std::tolower(static_cast<unsigned char>(name[i]));
    if (same) return v;
  }
  return {};
}

std::string phone_digits(std::string_view a) {
  std::string out;
  for (char c : a)
    if (c >= '0' && c <= '9') out.push_back(c);
  if (out.rfind("00", 0) == 0) out.erase(0, 2);
  return out;
}

// ------------------------------------------------------------------ server

namespace {

// A response header with a run-time name (Pistache writes typed headers only).
class NamedHeader final : public Http::Header::Header {
 public:
  NamedHeader(std::string name, std::string value) : name_(std::move(name)), value_(std::move(value)) {}
  const char* name() const override { return name_.c_str(); }
  void write(std::ostream& os) const override { os << value_; }
#ifdef SAFE_HEADER_CAST
  uint64_t hash() const override { return Http::Header::detail::hash(name_.c_str()); }
#endif

 private:
  std::string name_;
  std::string value_;
};

void send_response(Http::ResponseWriter& w, const FakeResponse& r) {
  for (const auto& [k, v] : r.headers) w.headers().add(std::make_shared<NamedHeader>(k, v));
  w.send(static_cast<Http::Code>(r.status), r.body, Http::Mime::MediaType::fromString(r.content_type));
}

}  // namespace

struct FakeHttpServer::Impl {
  Handler handler;
  std::shared_ptr<Http::Endpoint> endpoint;

  struct Pending {
    std::unique_ptr<Http::ResponseWriter> writer;
    FakeResponse response;
  };
  std::mutex mutex;
  std::condition_variable cv;
  std::multimap<Clock::time_point, Pending> delayed;
  bool stopping = false;
  std::thread delayer;

  void delay_loop() {
    std::unique_lock lock(mutex);
    while (true) {
      if (stopping && delayed.empty()) return;
      if (delayed.empty()) {
        cv.wait(lock);
        continue;
      }
      auto due = delayed.begin()->first;
      if (!stopping && due > Clock::now()) {
        cv.wait_until(lock, due);
        continue;
      }
      Pending p = std::move(delayed.begin()->second);
      delayed.erase(delayed.begin());
      lock.unlock();
      send_response(*p.writer, p.response);
      lock.lock();
    }
  }
};

namespace {

class PistacheHandler final : public Http::Handler {
 public:
  HTTP_PROTOTYPE(PistacheHandler)
  explicit PistacheHandler(FakeHttpServer::Impl* impl) : impl_(impl) {}

  void onRequest(const Http::Request& req, Http::ResponseWriter response) override {
    FakeRequest r;
    r.method = Http::methodString(req.method());
    r.path = req.resource();
    for (auto it = req.query().parameters_begin(); it != req.query().parameters_end(); ++it)
      r.query.emplace_back(percent_decode(it->first), percent_decode(it->second));
    for (const auto& [name, raw] : req.headers().rawList()) r.headers.emplace_back(name, raw.value());
    for (const auto& h : req.headers().list()) {
      std::ostringstream os;
      h->write(os);
      r.headers.emplace_back(h->name(), os.str());
    }
    r.body = req.body();
    FakeResponse out;
    try {
      out = impl_->handler(r);
    } catch (const std::exception& e) {
      out = FakeResponse::json(500, {{"fake_error", e.what()}});
    }
    if (out.delay.count() > 0) {
      std::lock_guard lock(impl_->mutex);
      impl_->delayed.emplace(Clock::now() + out.delay,
                             FakeHttpServer::Impl::Pending{std::make_unique<Http::ResponseWriter>(std::move(response)),
                                                           std::move(out)});
      impl_->cv.notify_all();
      return;
    }
    send_response(response, out);
  }

 private:
  FakeHttpServer::Impl* impl_;
};

}  // namespace

FakeHttpServer::FakeHttpServer(Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
}

FakeHttpServer::~FakeHttpServer() { stop(); }

std::uint16_t FakeHttpServer::start(const std::string& host, std::uint16_t port, int threads) {
  Address addr(host, Port(port));
  impl_->endpoint = std::make_shared<Http::Endpoint>(addr);
  impl_->endpoint->init(Http::Endpoint::options()
                            .threads(threads)
                            .flags(Tcp::Options::ReuseAddr)
                            .maxRequestSize(4 * 1024 * 1024)
                            .maxResponseSize(16 * 1024 * 1024));
  impl_->endpoint->setHandler(Http::make_handler<PistacheHandler>(impl_.get()));
  impl_->endpoint->serveThreaded();
  impl_->delayer = std::thread([impl = impl_.get()] { impl->delay_loop(); });
  port_ = static_cast<std::uint16_t>(static_cast<uint16_t>(impl_->endpoint->getPort()));
  return port_;
}

void FakeHttpServer::stop() {
  if (!impl_ || !impl_->endpoint) return;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->delayer.joinable()) impl_->delayer.join();
  impl_->endpoint->shutdown();
  impl_->endpoint.reset();
}

void announce_listening(std::uint16_t port) {
  std::cout << "listening on http://127.0.0.1:" << port << std::endl;
}

void block_termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_termination() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

// ------------------------------------------------------------------ rules, journal

void RuleBook::add(const nlohmann::json& rule) {
  std::lock_guard lock(mutex_);
  rules_.push_back(rule);
}

void RuleBook::clear() {
  std::lock_guard lock(mutex_);
  rules_.clear();
}

std::optional<nlohmann::json> RuleBook::take(std::string_view op, std::string_view to, std::string_view default_op) {
  std::lock_guard lock(mutex_);
  const std::string digits = phone_digits(to);
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    const std::string rule_op = it->value("op", std::string(default_op));
    if (rule_op != op) continue;
    if (it->contains("to") && phone_digits(it->value("to", std::string())) != digits) continue;
    nlohmann::json rule = *it;
    if (it->contains("times")) {
      const int left = it->value("times", 1) - 1;
      if (left <= 0) rules_.erase(it);
      else (*it)["times"] = left;
    }
    return rule;
  }
  return std::nullopt;
}

nlohmann::json RuleBook::all() const {
  std::lock_guard lock(mutex_);
  return nlohmann::json(rules_);
}

void Journal::add(nlohmann::json entry) {
  std::lock_guard lock(mutex_);
  entries_.push_back(std::move(entry));
}

void Journal::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
}

nlohmann::json Journal::all() const {
  std::lock_guard lock(mutex_);
  return nlohmann::json(entries_);
}

// ------------------------------------------------------------------ webhooks

namespace {
size_t discard(char*, size_t size, size_t n, void*) { return size * n; }
}  // namespace

WebhookPoster::WebhookPoster() {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  thread_ = std::thread([this] { loop(); });
}

WebhookPoster::~WebhookPoster() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WebhookPoster::schedule(OutgoingWebhook hook, std::chrono::milliseconds after) {
  std::lock_guard lock(mutex_);
  queue_.emplace(Clock::now() + after, std::move(hook));
  cv_.notify_all();
}

int WebhookPoster::post_now(OutgoingWebhook hook) { return deliver(hook); }

void WebhookPoster::clear() {
  std::lock_guard lock(mutex_);
  queue_.clear();
  journal_.clear();
}

std::size_t WebhookPoster::pending() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void WebhookPoster::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto due = queue_.begin()->first;
    if (due > Clock::now()) {
      cv_.wait_until(lock, due);
      continue;
    }
    OutgoingWebhook hook = std::move(queue_.begin()->second);
    queue_.erase(queue_.begin());
    lock.unlock();
    deliver(hook);
    lock.lock();
  }
}

int WebhookPoster::deliver(OutgoingWebhook& hook) {
  if (hook.before) hook.before();
  if (hook.url.empty()) return 0;
  long status = 0;
  std::string error;
  CURL* c = curl_easy_init();
  if (c) {
    curl_slist* headers = nullptr;
    for (const auto& [k, v] : hook.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, hook.url.c_str());
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, hook.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(hook.body.size()));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "barid-fake-provider");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else error = curl_easy_strerror(rc);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
  }
  nlohmann::json record = hook.record;
  record["url"] = hook.url;
  record["http_status"] = status;
  record["at_ms"] = now_ms();
  if (!error.empty()) record["error"] = error;
  journal_.add(std::move(record));
  if (hook.on_done) hook.on_done(static_cast<int>(status));
  return static_cast<int>(status);
}

}  // namespace barid::fakes
