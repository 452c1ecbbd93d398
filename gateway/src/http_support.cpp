#include "http_support.hpp"

#include <cctype>
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

namespace {
int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int hi = hex_digit(text[i + 1]), lo = hex_digit(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::optional<std::string> decode_query(Rest::Request& request) {
  const auto& query = request.query();
  std::vector<std::pair<std::string, std::string>> decoded;
  bool changed = false;
  for (auto it = query.parameters_begin(); it != query.parameters_end(); ++it) {
    auto name = percent_decode(it->first);
    if (!name) return it->first;
    auto value = percent_decode(it->second);
    if (!value) return *name;
    changed = changed || *name != it->first || *value != it->second;
    decoded.emplace_back(std::move(*name), std::move(*value));
  }
  if (!changed) return std::nullopt;
  // Pistache (0.0.5) gives handlers its parsed query, undecoded, and no way
  // to set it: the request is the caller's own copy, so writing through
  // the const reference is defined.
  auto& writable = const_cast<Http::Uri::Query&>(query);
  writable.clear();
  for (auto& [name, value] : decoded) writable.add(std::move(name), std::move(value));
  return std::nullopt;
}

bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' || c == '-')) return false;
  return true;
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
    : response_(std::move(o.response_)),
      close_(o.close_),
      sent_(o.sent_),
      outstanding_(o.outstanding_),
      request_id_(std::move(o.request_id_)) {
  o.outstanding_ = nullptr;
}

Reply::~Reply() {
  if (outstanding_ && !sent_) send_problem(problem(500, "internal", "Internal error", "no answer was produced"));
}

void Reply::send_json(int status, const json& body) { send(status, body.dump(), "application/json"); }

void Reply::send_problem(const Problem& p) {
  if (p.status == 401) header("WWW-Authenticate", "Bearer");
  if (p.status == 503) header("Retry-After", "1");
  auto body = p.body();
  if (!request_id_.empty()) body["request_id"] = request_id_;
  send(p.status, body.dump(), "application/problem+json");
}

void Reply::send(int status, const std::string& body, const std::string& content_type) {
  if (sent_ || !outstanding_) return;
  sent_ = true;
  set_connection(response_, close_);
  if (!request_id_.empty()) header("X-Request-Id", request_id_);
  // The two types every answer uses are parsed once.
  static const auto json_type = Http::Mime::MediaType::fromString("application/json");
  static const auto problem_type = Http::Mime::MediaType::fromString("application/problem+json");
  const Http::Mime::MediaType mime = content_type == "application/json"           ? json_type
                                     : content_type == "application/problem+json" ? problem_type
                                                                                  : Http::Mime::MediaType::fromString(content_type);
  // No continuation on the promise send() returns: Pistache resolves it on
  // its reactor thread, and a `.then` attached here, on a handler or writer
  // thread, races with that resolution (Async::Promise is not thread-safe):
  // under a flood the gateway died with a segfault inside libpistache. The
  // answer counts as given once Pistache has it.
  (void)response_.send(static_cast<Http::Code>(status), body, mime);
  outstanding_->fetch_sub(1);
}

void Reply::header(const std::string& name, const std::string& value) {
  response_.headers().add(std::make_shared<NamedHeader>(name, value));
}

}  // namespace barid::gateway
