#pragma once
// The REST API on Pistache. Handlers are thin: they authenticate, turn JSON
// into requests for the core and the core's answers into JSON. The accept
// path (POST /v1/messages) never blocks a reactor thread on the database: it
// hands the message to the IntakeWriter and answers from the writer's thread
// once the message is committed. Handlers that read the database run on a
// small pool of their own.

#include "app.hpp"

#include <chrono>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace Pistache::Http {
class Endpoint;
}
namespace Pistache::Rest {
class Router;
}

namespace barid::gateway {

// A fixed pool of threads for handlers that wait on the database.
class TaskPool {
 public:
  // At most `max_queued` tasks wait; post refuses more.
  TaskPool(int threads, std::size_t max_queued);
  ~TaskPool();
  // False when the queue is full (answer 503 with Retry-After).
  bool post(std::function<void()> task);
  void stop();

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::size_t max_queued_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// Who may call a route.
enum class RouteAccess {
  open,          // no key (health, readiness, metrics, the OpenAPI document)
  tenant,        // a tenant's API key; it sees and changes that tenant's objects only
  operator_key,  // an operator key (/v1/admin/)
  provider       // a provider's callback, checked by its plugin's signature rules
};

// One route as the API serves it. The path is in the router's form
// ("/v1/messages/:id"); docs/openapi.json writes it "/v1/messages/{id}".
struct RouteSpec {
  std::string method;  // "GET", "POST", ...
  std::string path;
  RouteAccess access;
};

class HttpApi {
 public:
  // Every route, from the one table the router is built from: tests walk it
  // (each route is documented; each tenant route refuses another tenant's
  // objects), so a new route cannot be forgotten by them.
  static const std::vector<RouteSpec>& route_table();

  explicit HttpApi(GatewayApp& app);
  ~HttpApi();

  // Binds and starts serving (throws std::runtime_error when it cannot bind).
  void start();
  // The bound port (the real one when the configuration said 0).
  std::uint16_t port() const;
  // Refuse new work (503), wait for the answers under way, then stop.
  void drain_and_stop(std::chrono::steady_clock::time_point deadline);

  struct Routes;  // the handlers (http_api.cpp)

 private:
  GatewayApp& app_;
  std::unique_ptr<Pistache::Http::Endpoint> endpoint_;
  std::unique_ptr<Pistache::Rest::Router> router_;
  TaskPool pool_;
  std::unique_ptr<Routes> routes_;
};

}  // namespace barid::gateway
