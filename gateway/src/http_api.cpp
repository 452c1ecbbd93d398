#include "http_api.hpp"

#include "representations.hpp"

#include <barid/core/host_context.hpp>
#include <barid/core/log.hpp>

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/router.h>

#include <chrono>
#include <sstream>

namespace barid::gateway {

using namespace Pistache;
using nlohmann::json;

// ---------------------------------------------------------------- TaskPool

TaskPool::TaskPool(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        std::function<void()> task;
        {
          std::unique_lock lock(mutex_);
          cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
          if (tasks_.empty()) return;
          task = std::move(tasks_.front());
          tasks_.pop_front();
        }
        try {
          task();
        } catch (const std::exception& e) {
          core::log_error("http", std::string("a handler task threw: ") + e.what());
        } catch (...) {
          core::log_error("http", "a handler task threw");
        }
      }
    });
  }
}

TaskPool::~TaskPool() { stop(); }

void TaskPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void TaskPool::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

// ---------------------------------------------------------------- helpers

namespace {

const Http::Mime::MediaType kJson(Http::Mime::Type::Application, Http::Mime::Subtype::Json);
const Http::Mime::MediaType kProblemJson = Http::Mime::MediaType::fromString("application/problem+json");

// The value of a header whether Pistache parsed it into a typed header or
// kept it raw.
std::string header_value(const Http::Header::Collection& headers, const std::string& name) {
  if (auto raw = headers.tryGetRaw(name)) return raw->value();
  if (auto typed = headers.tryGet(name)) {
    std::ostringstream os;
    typed->write(os);
    return os.str();
  }
  return {};
}

// A response header with a name known only at run time (Pistache writes
// typed headers only; raw ones are dropped from responses).
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

// Every response goes through here: Pistache answers a request without a
// Connection header with "Connection: Close", which makes HTTP/1.1 clients
// drop the connection after each response; keep it alive unless the client
// asked to close.
void set_connection(Http::ResponseWriter& response, bool close) {
  response.headers().remove<Http::Header::Connection>();
  response.headers().add<Http::Header::Connection>(close ? Http::ConnectionControl::Close
                                                         : Http::ConnectionControl::KeepAlive);
}

bool wants_close(const Rest::Request& request) {
  auto c = request.headers().tryGet<Http::Header::Connection>();
  return c && c->control() == Http::ConnectionControl::Close;
}

// Responses may be sent from any thread: Pistache queues the write for the
// connection's reactor.
class Reply {
 public:
  Reply(Http::ResponseWriter response, bool close, std::atomic<int>& outstanding)
      : response_(std::move(response)), close_(close), outstanding_(&outstanding) {
    outstanding_->fetch_add(1);
  }
  Reply(Reply&& o) noexcept : response_(std::move(o.response_)), close_(o.close_), outstanding_(o.outstanding_) {
    o.outstanding_ = nullptr;
  }
  Reply(const Reply&) = delete;
  ~Reply() {
    if (outstanding_ && !sent_) send_problem(problem(500, "internal", "Internal error", "no answer was produced"));
  }

  void send_json(int status, const json& body) { send(status, body.dump(), kJson); }

  void send_problem(const Problem& p) {
    if (p.status == 401) header("WWW-Authenticate", "Bearer");
    if (p.status == 503) header("Retry-After", "1");
    send(p.status, p.body().dump(), kProblemJson);
  }

  // The answer counts as outstanding until the connection's reactor has
  // written it (or found the client gone), so that a drain does not cut it.
  void send(int status, const std::string& body, const Http::Mime::MediaType& mime) {
    if (sent_ || !outstanding_) return;
    sent_ = true;
    set_connection(response_, close_);
    std::atomic<int>* counter = outstanding_;
    response_.send(static_cast<Http::Code>(status), body, mime)
        .then([counter](ssize_t) { counter->fetch_sub(1); },
              [counter](std::exception_ptr&) { counter->fetch_sub(1); });
  }

  void header(const std::string& name, const std::string& value) {
    response_.headers().add(std::make_shared<NamedHeader>(name, value));
  }

 private:
  Http::ResponseWriter response_;
  bool close_ = false;
  bool sent_ = false;
  std::atomic<int>* outstanding_;
};

core::Actor actor_of(const Rest::Request& request, const std::string& who) {
  core::Actor a;
  a.actor = who;
  try {
    a.ip = request.address().host();
  } catch (...) {
  }
  a.user_agent = header_value(request.headers(), "User-Agent");
  if (a.user_agent.size() > 255) a.user_agent.resize(255);
  return a;
}

// Reads an optional string member; a present member of another type is an
// error naming it.
core::Result<std::string> string_field(const json& obj, const char* name, bool required = false) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) {
    if (required) return core::Error::invalid(name, std::string(name) + " is required");
    return std::string();
  }
  if (!it->is_string()) return core::Error::invalid(name, std::string(name) + " must be a string");
  return it->get<std::string>();
}

core::Result<core::SendRequest> parse_send_request(const json& j) {
  if (!j.is_object()) return core::Error::invalid("", "the body must be a JSON object");
  static const std::set<std::string> known = {"to", "channel", "body", "from", "scheduled_at", "reference",
                                              "recipient_id", "category", "max_attempts", "provider_template"};
  for (const auto& [k, _] : j.items())
    if (!known.count(k)) return core::Error::invalid(k, "unknown field '" + k + "'");
  core::SendRequest r;
  struct {
    const char* name;
    std::string* out;
    bool required;
  } fields[] = {{"to", &r.to, true},           {"body", &r.body, false},
                {"from", &r.from, false},      {"scheduled_at", &r.scheduled_at, false},
                {"reference", &r.reference, false}, {"recipient_id", &r.recipient_id, false},
                {"category", &r.category, false}};
  for (auto& f : fields) {
    auto v = string_field(j, f.name, f.required);
    if (!v) return v.error();
    *f.out = std::move(*v);
  }
  auto channel = string_field(j, "channel");
  if (!channel) return channel.error();
  if (!channel->empty()) r.channel = *channel;
  if (auto it = j.find("max_attempts"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer()) return core::Error::invalid("max_attempts", "max_attempts must be an integer");
    r.max_attempts = it->get<int>();
  }
  if (auto it = j.find("provider_template"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return core::Error::invalid("provider_template", "provider_template must be an object");
    auto id = string_field(*it, "id", true);
    if (!id) return core::Error::invalid("provider_template/id", "provider_template.id must be a string");
    r.provider_template = *id;
    if (auto vars = it->find("variables"); vars != it->end() && !vars->is_null()) {
      if (!vars->is_array())
        return core::Error::invalid("provider_template/variables", "provider_template.variables must be a list");
      for (const auto& v : *vars) {
        if (!v.is_string())
          return core::Error::invalid("provider_template/variables", "each variable must be a string");
        r.template_variables.push_back(v.get<std::string>());
      }
    }
  }
  return r;
}

}  // namespace

// ---------------------------------------------------------------- routes

struct HttpApi::Routes {
  Routes(GatewayApp& a, TaskPool& p) : app(a), pool(p) {}
  GatewayApp& app;
  TaskPool& pool;
  std::atomic<int> outstanding{0};
  std::atomic<bool> draining{false};

  using Handler = void (Routes::*)(const Rest::Request&, Reply&);

  // Adapts a handler to Pistache: one place for headers and errors.
  Rest::Route::Handler wrap(Handler h, bool on_pool) {
    return [this, h, on_pool](const Rest::Request& request, Http::ResponseWriter response) {
      Reply reply(std::move(response), wants_close(request), outstanding);
      if (draining.load()) {
        reply.send_problem(problem(503, "unavailable", "Shutting down", "the gateway is shutting down"));
        return Rest::Route::Result::Ok;
      }
      if (!on_pool) {
        run(h, request, reply);
      } else {
        auto shared = std::make_shared<std::pair<Rest::Request, Reply>>(request, std::move(reply));
        pool.post([this, h, shared] { run(h, shared->first, shared->second); });
      }
      return Rest::Route::Result::Ok;
    };
  }

  void run(Handler h, const Rest::Request& request, Reply& reply) {
    try {
      (this->*h)(request, reply);
    } catch (const std::exception& e) {
      core::log_error("http", std::string("handler failed: ") + e.what());
      reply.send_problem(problem(500, "internal", "Internal error", "the gateway failed to handle the request"));
    }
  }

  void send_error(Reply& reply, const core::Error& e) {
    if (e.kind == core::ErrorKind::internal) core::log_error("http", e.message);
    reply.send_problem(problem_for(e));
  }

  // Bearer authentication; answers 401 itself when it fails.
  std::optional<core::Principal> authenticate(const Rest::Request& request, Reply& reply) {
    std::string auth = header_value(request.headers(), "Authorization");
    const std::string prefix = "Bearer ";
    if (auth.rfind(prefix, 0) != 0) {
      reply.send_problem(problem(401, "unauthorized", "Authentication required",
                                 "send the API key as 'Authorization: Bearer <key>'"));
      return std::nullopt;
    }
    auto p = app.api_keys().authenticate(std::string_view(auth).substr(prefix.size()));
    if (!p) {
      if (p.error().kind == core::ErrorKind::not_found)
        reply.send_problem(problem(401, "unauthorized", "Authentication required", "the API key is not valid"));
      else
        send_error(reply, p.error());
      return std::nullopt;
    }
    return *p;
  }

  std::optional<core::MessageId> message_id(const Rest::Request& request, Reply& reply) {
    auto text = request.param(":id").as<std::string>();
    auto id = core::Uuid::parse(text);
    if (!id) reply.send_problem(problem(404, "not-found", "Not found", "no message with id '" + text + "'"));
    return id;
  }

  // POST /v1/messages
  void send_message(const Rest::Request& request, Reply& reply) {
    auto principal = authenticate(request, reply);
    if (!principal) return;
    if (request.body().size() > app.config().server.max_message_request_bytes) {
      reply.send_problem(problem(413, "too-large", "Request too large",
                                 "a message request has at most " +
                                     std::to_string(app.config().server.max_message_request_bytes) + " bytes"));
      return;
    }
    auto body = json::parse(request.body(), nullptr, false);
    if (body.is_discarded()) {
      reply.send_problem(problem(400, "malformed-json", "The body is not JSON", "the request body is not valid JSON"));
      return;
    }
    auto req = parse_send_request(body);
    if (!req) return send_error(reply, req.error());
    req->idempotency_key = header_value(request.headers(), "Idempotency-Key");
    if (!req->idempotency_key.empty()) req->request_hash = core::OpenSslCrypto().sha256(body.dump());

    auto message = app.intake().prepare(*req, principal->tenant_id, actor_of(request, "key:" + principal->key_id),
                                        app.routable_channels());
    if (!message) return send_error(reply, message.error());

    auto shared = std::make_shared<Reply>(std::move(reply));
    const bool queued = app.writer().submit(std::move(*message), [this, shared](const core::Result<core::InsertOutcome>& r) {
      if (!r) return send_error(*shared, r.error());
      switch (r->kind) {
        case core::InsertOutcome::Kind::idempotency_mismatch:
          shared->send_problem(problem(422, "idempotency-key-reused", "Idempotency key reused",
                                       "this Idempotency-Key was used with a different request (message " +
                                           r->id.str() + ")",
                                       "Idempotency-Key"));
          return;
        case core::InsertOutcome::Kind::duplicate:
          shared->header("Idempotent-Replayed", "true");
          [[fallthrough]];
        case core::InsertOutcome::Kind::inserted:
          shared->header("Location", "/v1/messages/" + r->id.str());
          shared->send_json(202, json{{"id", r->id.str()}, {"status", std::string(sdk::to_string(r->status))}});
          return;
      }
    });
    if (!queued)
      shared->send_problem(problem(503, "unavailable", "Temporarily unavailable", "the accept queue is full"));
  }

  // GET /v1/messages/:id
  void get_message(const Rest::Request& request, Reply& reply) {
    auto principal = authenticate(request, reply);
    if (!principal) return;
    auto id = message_id(request, reply);
    if (!id) return;
    auto m = app.store().find_message(principal->tenant_id, *id);
    if (!m) return send_error(reply, m.error());
    if (!*m) return reply.send_problem(problem(404, "not-found", "Not found", "no message with id '" + id->str() + "'"));
    reply.send_json(200, message_json(**m));
  }

  // GET /v1/messages/:id/events
  void get_events(const Rest::Request& request, Reply& reply) {
    auto principal = authenticate(request, reply);
    if (!principal) return;
    auto id = message_id(request, reply);
    if (!id) return;
    auto m = app.store().find_message(principal->tenant_id, *id);
    if (!m) return send_error(reply, m.error());
    if (!*m) return reply.send_problem(problem(404, "not-found", "Not found", "no message with id '" + id->str() + "'"));
    auto events = app.store().list_events(principal->tenant_id, *id);
    if (!events) return send_error(reply, events.error());
    json list = json::array();
    for (const auto& e : *events) list.push_back(event_json(e));
    reply.send_json(200, json{{"message_id", id->str()}, {"events", list}});
  }

  // POST /webhooks/:instance/:kind
  void webhook(const Rest::Request& request, Reply& reply) {
    const auto instance = request.param(":instance").as<std::string>();
    sdk::CallbackRequest cb;
    cb.kind = request.param(":kind").as<std::string>();
    cb.method = Http::methodString(request.method());
    std::string base = app.public_url().get();
    while (!base.empty() && base.back() == '/') base.pop_back();
    cb.url = base + request.resource() + request.query().as_str();
    for (const auto& [name, raw] : request.headers().rawList()) cb.headers.emplace_back(name, raw.value());
    for (const auto& h : request.headers().list()) {
      std::ostringstream os;
      h->write(os);
      cb.headers.emplace_back(h->name(), os.str());
    }
    cb.body = request.body();
    auto r = app.callbacks().process(instance, cb, actor_of(request, "provider:" + instance));
    if (!r) {
      if (r.error().field == "signature")
        return reply.send_problem(problem(403, "forbidden", "Forbidden", r.error().message));
      if (r.error().kind == core::ErrorKind::invalid)
        return reply.send_problem(problem(400, "bad-webhook", "The webhook could not be used", r.error().message));
      return send_error(reply, r.error());
    }
    reply.send(r->http_status, r->body, Http::Mime::MediaType::fromString(r->content_type));
  }

  // GET /health: the process is up.
  void health(const Rest::Request&, Reply& reply) { reply.send_json(200, json{{"status", "ok"}}); }

  // GET /ready: the database answers and providers are loaded.
  void ready(const Rest::Request&, Reply& reply) {
    json checks;
    bool ok = true;
    auto db = app.store().ping();
    checks["database"] = db ? json{{"status", "ok"}} : json{{"status", "down"}, {"detail", db.error().message}};
    ok = ok && db.ok();
    auto set = app.providers().snapshot();
    json providers = json::object();
    for (const auto& [name, slot] : set->instances)
      providers[name] = {{"plugin", slot.instance->descriptor().name}};
    checks["providers"] = {{"status", set->instances.empty() ? "none" : "ok"}, {"instances", providers}};
    ok = ok && !set->instances.empty();
    reply.send_json(ok ? 200 : 503, json{{"status", ok ? "ready" : "not ready"}, {"checks", checks}});
  }

  void not_found(const Rest::Request& request, Reply& reply) {
    reply.send_problem(problem(404, "not-found", "Not found", "no route for " + request.resource()));
  }
};

// ---------------------------------------------------------------- HttpApi

HttpApi::HttpApi(GatewayApp& app)
    : app_(app), router_(std::make_unique<Rest::Router>()), pool_(app.config().server.handler_threads) {
  routes_ = std::make_unique<Routes>(app_, pool_);
}

HttpApi::~HttpApi() {
  if (endpoint_) endpoint_->shutdown();
  pool_.stop();
}

void HttpApi::start() {
  const auto& s = app_.config().server;
  auto& r = *routes_;
  using R = Routes;
  Rest::Routes::Post(*router_, "/v1/messages", r.wrap(&R::send_message, false));
  Rest::Routes::Get(*router_, "/v1/messages/:id", r.wrap(&R::get_message, true));
  Rest::Routes::Get(*router_, "/v1/messages/:id/events", r.wrap(&R::get_events, true));
  Rest::Routes::Post(*router_, "/webhooks/:instance/:kind", r.wrap(&R::webhook, true));
  Rest::Routes::Get(*router_, "/health", r.wrap(&R::health, false));
  Rest::Routes::Get(*router_, "/ready", r.wrap(&R::ready, true));
  router_->addNotFoundHandler(r.wrap(&R::not_found, false));

  Address addr(s.host, Port(static_cast<std::uint16_t>(s.port)));
  endpoint_ = std::make_unique<Http::Endpoint>(addr);
  auto opts = Http::Endpoint::options()
                  .threads(s.threads)
                  .flags(Tcp::Options::ReuseAddr)
                  .maxRequestSize(s.max_request_bytes)
                  .maxResponseSize(64 * 1024 * 1024);
  endpoint_->init(opts);
  if (!s.tls_cert.empty()) endpoint_->useSSL(s.tls_cert, s.tls_key);
  endpoint_->setHandler(router_->handler());
  endpoint_->serveThreaded();
  if (s.public_base_url.empty())
    app_.public_url().set((s.tls_cert.empty() ? "http://" : "https://") + s.host + ":" + std::to_string(port()));
}

std::uint16_t HttpApi::port() const { return static_cast<std::uint16_t>(endpoint_->getPort()); }

void HttpApi::drain_and_stop() {
  routes_->draining = true;
  // Everything accepted is committed and answered before the sockets go.
  app_.writer().stop();
  const auto deadline = std::chrono::steady_clock::now() + app_.config().server.drain_timeout;
  while (routes_->outstanding.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (routes_->outstanding.load() > 0)
    core::log_warn("http", std::to_string(routes_->outstanding.load()) + " answers still pending at shutdown");
  pool_.stop();
  endpoint_->shutdown();
}

}  // namespace barid::gateway
