#include <barid/core/http_client.hpp>

#include <barid/core/net_address.hpp>

#include <curl/curl.h>

#include <cctype>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <sys/socket.h>

namespace barid::core {
namespace {

// Where a response goes, up to the limit: returning less than was given
// makes curl stop the transfer (CURLE_WRITE_ERROR) and close the connection.
struct Sink {
  std::string* body;
  sdk::HttpHeaders* headers;
  std::size_t limit;  // 0: none
  std::size_t header_bytes = 0;
  bool over = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t len = size * n;
  if (sink->limit && sink->body->size() + len > sink->limit) {
    sink->body->append(data, sink->limit - sink->body->size());
    sink->over = true;
    return 0;
  }
  sink->body->append(data, len);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  auto* headers = sink->headers;
  std::string_view line(data, size * n);
  sink->header_bytes += line.size();
  if (sink->limit && sink->header_bytes > sink->limit) {
    sink->over = true;
    return 0;
  }
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();  // a new response (after 100-continue or a redirect)
    sink->header_bytes = line.size();
    return size * n;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    auto name = line.substr(0, colon);
    auto value = line.substr(colon + 1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.remove_prefix(1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.remove_suffix(1);
    std::string lower(name);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    headers->emplace_back(std::move(lower), std::string(value));
  }
  return size * n;
}

// Opens the sockets of a request made with refuse_internal_addresses: a
// connection to a refused address is never made.
struct AddressGuard {
  bool check = false;
  bool refused = false;
};

curl_socket_t open_socket(void* user, curlsocktype purpose, struct curl_sockaddr* address) {
  auto* guard = static_cast<AddressGuard*>(user);
  if (guard->check && (purpose != CURLSOCKTYPE_IPCXN || !refused_address_kind(&address->addr).empty())) {
    guard->refused = true;
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

sdk::TransportError classify(CURLcode rc) {
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return sdk::TransportError::timeout;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return sdk::TransportError::connect;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
      return sdk::TransportError::tls;
    default:
      return sdk::TransportError::other;
  }
}

}  // namespace

// One request on its way: what it asked, what came back so far.
struct CurlHttpClient::Transfer {
  const sdk::HttpRequest* request = nullptr;  // perform()'s caller's, or `owned`
  sdk::HttpRequest owned;                     // start()'s
  Done done;
  sdk::HttpResponse response;
  Sink sink{nullptr, nullptr, 0, 0, false};
  AddressGuard guard;
  curl_slist* headers = nullptr;
  std::chrono::steady_clock::time_point started;
};

// start()'s thread and its multi handle (one connection cache for all).
struct CurlHttpClient::Multi {
  CURLM* handle = nullptr;
  std::thread thread;
  std::mutex mutex;
  std::deque<std::unique_ptr<Transfer>> incoming;
  bool stopping = false;
};

namespace {
// The multi handle whose thread this is, if any.
thread_local const void* running_multi = nullptr;
}  // namespace

void CurlHttpClient::global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

CurlHttpClient::CurlHttpClient(HttpClientOptions options) : options_(std::move(options)) { global_init(); }

CurlHttpClient::~CurlHttpClient() {
  if (multi_) {
    {
      std::lock_guard lock(multi_->mutex);
      multi_->stopping = true;
    }
    curl_multi_wakeup(multi_->handle);
    if (multi_->thread.joinable()) multi_->thread.join();
    curl_multi_cleanup(multi_->handle);
  }
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* CurlHttpClient::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void CurlHttpClient::release(void* handle) {
  std::lock_guard lock(mutex_);
  idle_.push_back(handle);
}

void CurlHttpClient::prepare(void* handle, Transfer& t) {
  CURL* curl = static_cast<CURL*>(handle);
  const sdk::HttpRequest& request = *t.request;
  // curl_easy_reset keeps the handle's connection cache: reuse survives.
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  auto total = request.timeout ? *request.timeout : options_.total_timeout;
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(total.count()));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);

  if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (request.method != "GET" && request.method != "HEAD") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  if (request.method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);

  if (request.basic_auth) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, request.basic_auth->user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, request.basic_auth->password.c_str());
  }
  for (const auto& [k, v] : request.headers) t.headers = curl_slist_append(t.headers, (k + ": " + v).c_str());
  t.headers = curl_slist_append(t.headers, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, t.headers);

  t.sink = Sink{&t.response.body, &t.response.headers, options_.max_response_bytes, 0, false};
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t.sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t.sink);

  t.guard.check = options_.refuse_internal_addresses &&
                  !(options_.may_reach_any_address && options_.may_reach_any_address(request.url));
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &t.guard);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  // A proxy would be the address connected to, not the endpoint's.
  if (options_.refuse_internal_addresses) curl_easy_setopt(curl, CURLOPT_PROXY, "");
  t.started = std::chrono::steady_clock::now();
}

void CurlHttpClient::conclude(void* handle, int curl_code, Transfer& t) {
  CURL* curl = static_cast<CURL*>(handle);
  const auto rc = static_cast<CURLcode>(curl_code);
  sdk::HttpResponse& response = t.response;
  auto elapsed = std::chrono::steady_clock::now() - t.started;
  response.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed);
  curl_slist_free_all(t.headers);
  t.headers = nullptr;

  requests_.fetch_add(1, std::memory_order_relaxed);
  latency_us_.fetch_add(static_cast<std::uint64_t>(
                            std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()),
                        std::memory_order_relaxed);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  const bool cut = rc == CURLE_WRITE_ERROR && t.sink.over && !options_.fail_large_responses && code > 0;
  if (rc != CURLE_OK && !cut) {
    if (rc == CURLE_WRITE_ERROR && t.sink.over) {
      response.error = sdk::TransportError::other;
      response.error_message = kResponseTooLarge;
      response.body.clear();
    } else if (t.guard.refused && rc == CURLE_COULDNT_CONNECT) {
      response.error = sdk::TransportError::connect;
      response.error_message = kAddressNotAllowed;
    } else {
      response.error = classify(rc);
      response.error_message = curl_easy_strerror(rc);
    }
    response.status = 0;
    transport_errors_.fetch_add(1, std::memory_order_relaxed);
  } else {
    // Cut at the limit: the status and headers as they came, the body
    // truncated, the connection closed by curl.
    response.status = static_cast<int>(code);
    if (code >= 400) http_errors_.fetch_add(1, std::memory_order_relaxed);
  }
}

sdk::HttpResponse CurlHttpClient::perform(const sdk::HttpRequest& request) noexcept {
  Transfer t;
  try {
    CURL* curl = static_cast<CURL*>(acquire());
    if (!curl) {
      t.response.error = sdk::TransportError::other;
      t.response.error_message = "cannot create a curl handle";
      return t.response;
    }
    t.request = &request;  // not copied: perform() is on the dispatcher's path
    prepare(curl, t);
    conclude(curl, curl_easy_perform(curl), t);
    release(curl);
  } catch (const std::exception& e) {
    t.response.error = sdk::TransportError::other;
    t.response.error_message = e.what();
  }
  return std::move(t.response);
}

void CurlHttpClient::start(sdk::HttpRequest request, Done done) {
  auto t = std::make_unique<Transfer>();
  t->owned = std::move(request);
  t->request = &t->owned;
  t->done = std::move(done);
  Multi* m = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (!multi_) {
      auto fresh = std::make_unique<Multi>();
      fresh->handle = curl_multi_init();
      if (fresh->handle) {
        multi_ = std::move(fresh);
        multi_->thread = std::thread([this] { run_multi(); });
      }
    }
    m = multi_.get();
  }
  if (!m) {
    t->response.error = sdk::TransportError::other;
    t->response.error_message = "cannot create a curl multi handle";
    t->done(std::move(t->response));
    return;
  }
  bool wake = false;
  {
    std::lock_guard lock(m->mutex);
    // One wakeup for what arrives before the thread next takes the queue
    // (a wakeup is kept until its poll): not a syscall a request. A
    // request started by a callback, on the thread itself, needs none: the
    // thread looks at the queue before it waits again.
    wake = m->incoming.empty() && running_multi != m;
    m->incoming.push_back(std::move(t));
  }
  if (wake) curl_multi_wakeup(m->handle);
}

void CurlHttpClient::run_multi() {
  Multi& m = *multi_;
  running_multi = &m;
  std::map<CURL*, std::unique_ptr<Transfer>> running;
  auto finish = [](Transfer& t) {
    try {
      t.done(std::move(t.response));
    } catch (...) {  // a callback's failure is its own; the loop goes on
    }
  };
  while (true) {
    std::deque<std::unique_ptr<Transfer>> fresh;
    bool stopping = false;
    {
      std::lock_guard lock(m.mutex);
      fresh.swap(m.incoming);
      stopping = m.stopping;
    }
    if (stopping) {
      for (auto& [easy, t] : running) {
        curl_multi_remove_handle(m.handle, easy);
        curl_slist_free_all(t->headers);
        curl_easy_cleanup(easy);
        fresh.push_back(std::move(t));
      }
      for (auto& t : fresh) {
        t->response.error = sdk::TransportError::other;
        t->response.error_message = "the HTTP client stopped";
        finish(*t);
      }
      return;
    }
    for (auto& t : fresh) {
      CURL* easy = static_cast<CURL*>(acquire());
      if (easy) prepare(easy, *t);
      if (!easy || curl_multi_add_handle(m.handle, easy) != CURLM_OK) {
        if (easy) {
          curl_slist_free_all(t->headers);
          release(easy);
        }
        t->response.error = sdk::TransportError::other;
        t->response.error_message = "cannot start the request";
        finish(*t);
        continue;
      }
      running.emplace(easy, std::move(t));
    }
    int under_way = 0;
    curl_multi_perform(m.handle, &under_way);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(m.handle, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      const CURLcode rc = msg->data.result;  // read before the handle is removed
      curl_multi_remove_handle(m.handle, easy);
      auto it = running.find(easy);
      if (it == running.end()) continue;
      std::unique_ptr<Transfer> t = std::move(it->second);
      running.erase(it);
      conclude(easy, rc, *t);
      release(easy);
      finish(*t);
    }
    bool more = false;  // started by the callbacks above
    {
      std::lock_guard lock(m.mutex);
      more = !m.incoming.empty();
    }
    if (!more) curl_multi_poll(m.handle, nullptr, 0, 1000, nullptr);
  }
}

HttpClientStats CurlHttpClient::stats() const noexcept {
  HttpClientStats s;
  s.requests = requests_.load();
  s.transport_errors = transport_errors_.load();
  s.http_errors = http_errors_.load();
  s.total_latency_us = latency_us_.load();
  return s;
}

}  // namespace barid::core
