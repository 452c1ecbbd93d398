#include "http_support.hpp"

#include <set>
#include <sstream>

namespace barid::gateway {

using namespace Pistache;
using nlohmann::json;

namespace {

// A response header with a name known only at run time: Pistache writes
// typed headers only and drops raw ones from responses.
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

// Pistache answers a request that has no Connection header with
// "Connection: Close", which makes HTTP/1.1 clients drop the connection after
// every response: keep it alive unless the client asked to close.
void set_connection(Http::ResponseWriter& response, bool close) {
  response.headers().remove<Http::Header::Connection>();
  response.headers().add<Http::Header::Connection>(close ? Http::ConnectionControl::Close
                                                         : Http::ConnectionControl::KeepAlive);
}

}  // namespace

std::string header_value(const Http::Header::Collection& headers, const std::string& name) {
  if (auto raw = headers.tryGetRaw(name)) return raw->value();
  if (auto typed = headers.tryGet(name)) {
    std::ostringstream os;
    typed->write(os);
    return os.str();
  }
  return {};
}

bool wants_close(const Rest::Request& request) {
  auto c = request.headers().tryGet<Http::Header::Connection>();
  return c && c->control() == Http::ConnectionControl::Close;
}

core::Actor actor_of(const Rest::Request& request, const TrustedProxies& proxies, const std::string& who) {
  core::Actor a;
  a.actor = who;
  try {
    a.ip = request.address().host();
  } catch (...) {
  }
  if (!proxies.empty()) a.ip = proxies.client_address(a.ip, header_value(request.headers(), "X-Forwarded-For"));
  // Whatever a client sends in its User-Agent goes into the audit trail:
  // made valid UTF-8 first, so that it can never fail the row (or the
  // commit it shares with other tenants' messages).
  a.user_agent = core::truncate_utf8(core::to_valid_utf8(header_value(request.headers(), "User-Agent")), 255);
  return a;
}

Reply::Reply(Http::ResponseWriter response, bool close, std::atomic<int>& outstanding)
    : response_(std::move(response)), close_(close), outstanding_(&outstanding) {
  outstanding_->fetch_add(1);
}

Reply::Reply(Reply&& o) noexcept
    : response_(std::move(o.response_)), close_(o.close_), sent_(o.sent_), outstanding_(o.outstanding_) {
  o.outstanding_ = nullptr;
}

Reply::~Reply() {
  if (outstanding_ && !sent_) send_problem(problem(500, "internal", "Internal error", "no answer was produced"));
}

void Reply::send_json(int status, const json& body) { send(status, body.dump(), "application/json"); }

void Reply::send_problem(const Problem& p) {
  if (p.status == 401) header("WWW-Authenticate", "Bearer");
  if (p.status == 503) header("Retry-After", "1");
  send(p.status, p.body().dump(), "application/problem+json");
}

void Reply::send(int status, const std::string& body, const std::string& content_type) {
  if (sent_ || !outstanding_) return;
  sent_ = true;
  set_connection(response_, close_);
  // The two types every answer uses are parsed once.
  static const auto json_type = Http::Mime::MediaType::fromString("application/json");
  static const auto problem_type = Http::Mime::MediaType::fromString("application/problem+json");
  const Http::Mime::MediaType mime = content_type == "application/json"           ? json_type
                                     : content_type == "application/problem+json" ? problem_type
                                                                                  : Http::Mime::MediaType::fromString(content_type);
  std::atomic<int>* counter = outstanding_;
  response_
      .send(static_cast<Http::Code>(status), body, mime)
      .then([counter](ssize_t) { counter->fetch_sub(1); }, [counter](std::exception_ptr&) { counter->fetch_sub(1); });
}

void Reply::header(const std::string& name, const std::string& value) {
  response_.headers().add(std::make_shared<NamedHeader>(name, value));
}

core::Status JsonReader::only(std::initializer_list<const char*> known) const {
  std::set<std::string> ok(known.begin(), known.end());
  for (const auto& [k, _] : j_.items())
    if (!ok.count(k)) return core::Error::invalid(field(k), "unknown field '" + field(k) + "'");
  return {};
}

bool JsonReader::has(const char* name) const {
  auto it = j_.find(name);
  return it != j_.end() && !it->is_null();
}

core::Result<std::string> JsonReader::str(const char* name, bool required) const {
  auto it = j_.find(name);
  if (it == j_.end() || it->is_null()) {
    if (required) return core::Error::invalid(field(name), field(name) + " is required");
    return std::string();
  }
  if (!it->is_string()) return core::Error::invalid(field(name), field(name) + " must be a string");
  return it->get<std::string>();
}

core::Result<std::optional<long long>> JsonReader::integer(const char* name) const {
  auto it = j_.find(name);
  if (it == j_.end() || it->is_null()) return std::optional<long long>();
  if (!it->is_number_integer()) return core::Error::invalid(field(name), field(name) + " must be an integer");
  return std::optional<long long>(it->get<long long>());
}

core::Result<std::optional<bool>> JsonReader::boolean(const char* name) const {
  auto it = j_.find(name);
  if (it == j_.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return core::Error::invalid(field(name), field(name) + " must be true or false");
  return std::optional<bool>(it->get<bool>());
}

core::Result<std::vector<std::string>> JsonReader::strings(const char* name) const {
  std::vector<std::string> out;
  auto it = j_.find(name);
  if (it == j_.end() || it->is_null()) return out;
  if (!it->is_array()) return core::Error::invalid(field(name), field(name) + " must be a list of strings");
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& v = (*it)[i];
    if (!v.is_string())
      return core::Error::invalid(field(name) + "[" + std::to_string(i) + "]",
                                  field(name) + "[" + std::to_string(i) + "] must be a string");
    out.push_back(v.get<std::string>());
  }
  return out;
}

core::Result<std::map<std::string, std::string>> JsonReader::string_map(const char* name) const {
  std::map<std::string, std::string> out;
  auto it = j_.find(name);
  if (it == j_.end() || it->is_null()) return out;
  if (!it->is_object()) return core::Error::invalid(field(name), field(name) + " must be an object");
  for (const auto& [k, v] : it->items()) {
    if (v.is_string())
      out[k] = v.get<std::string>();
    else if (v.is_number() || v.is_boolean())
      out[k] = v.dump();
    else
      return core::Error::invalid(field(name) + "." + k, field(name) + "." + k + " must be a string");
  }
  return out;
}

core::Result<const json*> JsonReader::object(const char* name) const {
  auto it = j_.find(name);
  if (it == j_.end() || it->is_null()) return static_cast<const json*>(nullptr);
  if (!it->is_object()) return core::Error::invalid(field(name), field(name) + " must be an object");
  return &*it;
}

}  // namespace barid::gateway
