// Messages: send, bulk, list, get, audit trail, refresh, retry, cancel.

#include "routes.hpp"

#include <barid/core/host_context.hpp>
#include <barid/core/log.hpp>
#include <barid/core/status_refresher.hpp>

#include <algorithm>

namespace barid::gateway {

using namespace Pistache;
using nlohmann::json;

namespace {

json bulk_problem_json(const core::BulkProblem& p) {
  json j{{"index", p.index}, {"to", p.to}, {"detail", p.detail}};
  if (!p.field.empty()) j["field"] = p.field;
  return j;
}

json batch_json(const core::Batch& b) {
  return json{{"id", b.id.str()},
              {"channel", std::string(sdk::to_string(b.channel))},
              {"template", b.template_code.empty() ? json(nullptr) : json(b.template_code)},
              {"total", b.total},
              {"accepted", b.accepted},
              {"suppressed", b.suppressed},
              {"rejected", b.rejected},
              {"created_at", core::format_iso8601(b.created_at)}};
}

// What an idempotent replay is compared by: the request's SHA-256, or with
// numbers sealed (privacy.encryption.numbers) its HMAC under the index key, so
// that a guessed request (number and body) cannot be confirmed from a dump.
std::string request_hash(const GatewayConfig& config, const std::string& text) {
  const auto& cipher = config.mysql.cipher;
  if (cipher && cipher->seals_numbers()) return cipher->keyed_hash(text);
  return core::OpenSslCrypto().sha256(text);
}

}  // namespace

// POST /v1/messages
void HttpApi::Routes::send_message(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::send);
  if (!principal) return;
  if (request.body().size() > app.config().server.max_message_request_bytes)
    return reply.send_problem(problem(413, "too-large", "Request too large",
                                      "a message request has at most " +
                                          std::to_string(app.config().server.max_message_request_bytes) + " bytes"));
  auto body = json_body(request, reply);
  if (!body) return;
  auto read = read_send_request(*body);
  if (!read) return send_error(reply, read.error());
  core::SendRequest req = std::move(*read);
  req.idempotency_key = header_value(request.headers(), "Idempotency-Key");
  if (!req.idempotency_key.empty()) req.request_hash = request_hash(app.config(), body->dump());

  auto message = app.intake().prepare(req, principal->tenant_id, actor_of(request, proxies, "key:" + principal->key_id),
                                      app.routable_channels(principal->tenant_id));
  if (!message) return send_error(reply, message.error());

  auto shared = std::make_shared<Reply>(std::move(reply));
  const bool queued = app.writer().submit(std::move(*message), [this, shared](const core::Result<core::InsertOutcome>& r) {
    if (!r) return send_error(*shared, r.error());
    switch (r->kind) {
      case core::InsertOutcome::Kind::idempotency_mismatch:
        shared->send_problem(problem(422, "idempotency-key-reused", "Idempotency key reused",
                                     "this Idempotency-Key was used with a different request (message " + r->id.str() +
                                         ")",
                                     "Idempotency-Key"));
        return;
      case core::InsertOutcome::Kind::over_quota:
      case core::InsertOutcome::Kind::over_spend_cap:
        return send_error(*shared, core::limit_error(*r));
      case core::InsertOutcome::Kind::duplicate:
        shared->header("Idempotent-Replayed", "true");
        [[fallthrough]];
      case core::InsertOutcome::Kind::inserted:
        shared->header("Location", "/v1/messages/" + r->id.str());
        json answer{{"id", r->id.str()}, {"status", std::string(sdk::to_string(r->status))}};
        if (!r->status_reason.empty()) answer["status_reason"] = r->status_reason;
        shared->send_json(202, answer);
        return;
    }
  });
  if (!queued) shared->send_problem(problem(503, "unavailable", "Temporarily unavailable", "the accept queue is full"));
}

// POST /v1/messages/bulk
void HttpApi::Routes::send_bulk(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::send);
  if (!principal) return;
  auto body = json_body(request, reply);
  if (!body) return;
  auto read = read_bulk_request(*body);
  if (!read) return send_error(reply, read.error());
  core::BulkRequest req = std::move(*read);
  req.common.idempotency_key = header_value(request.headers(), "Idempotency-Key");
  if (!req.common.idempotency_key.empty()) req.common.request_hash = request_hash(app.config(), body->dump());

  auto result = app.bulk().submit(req, principal->tenant_id, actor_of(request, proxies, "key:" + principal->key_id),
                                  app.routable_channels(principal->tenant_id));
  if (!result) {
    if (result.error().kind == core::ErrorKind::conflict && result.error().field == "Idempotency-Key")
      return reply.send_problem(problem(422, "idempotency-key-reused", "Idempotency key reused", result.error().message,
                                        "Idempotency-Key"));
    return send_error(reply, result.error());
  }
  if (result->replayed) reply.header("Idempotent-Replayed", "true");
  else if (app.dispatcher()) app.dispatcher()->wake();
  json out = batch_json(result->batch);
  json rejected = json::array(), suppressed = json::array();
  for (const auto& p : result->rejected) rejected.push_back(bulk_problem_json(p));
  for (const auto& p : result->suppressed) suppressed.push_back(bulk_problem_json(p));
  out["rejected_recipients"] = std::move(rejected);
  out["suppressed_recipients"] = std::move(suppressed);
  reply.header("Location", "/v1/batches/" + result->batch.id.str());
  reply.send_json(202, out);
}

// GET /v1/batches/:id
void HttpApi::Routes::get_batch(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::read);
  if (!principal) return;
  const auto text = request.param(":id").as<std::string>();
  auto id = core::Uuid::parse(text);
  if (!id) return reply.send_problem(problem(404, "not-found", "Not found", "no batch with id '" + text + "'"));
  auto batch = app.store().find_batch(principal->tenant_id, *id);
  if (!batch) return send_error(reply, batch.error());
  if (!*batch) return reply.send_problem(problem(404, "not-found", "Not found", "no batch with id '" + text + "'"));
  auto counts = app.store().batch_status_counts(principal->tenant_id, *id);
  if (!counts) return send_error(reply, counts.error());
  json out = batch_json(**batch);
  json by_status = json::object();
  std::int64_t pending = 0, finished = 0;
  for (const auto& [status, n] : *counts) {
    by_status[status] = n;
    auto st = sdk::status_from_string(status);
    if (st && core::is_pending(*st))
      pending += n;
    else
      finished += n;
  }
  out["by_status"] = by_status;
  out["pending"] = pending;
  out["done"] = pending == 0;
  out["finished"] = finished;
  reply.send_json(200, out);
}

// GET /v1/messages?status=&channel=&batch_id=&to=&recipient_id=&from=&to_time=&limit=&after=
void HttpApi::Routes::list_messages(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::read);
  if (!principal) return;
  core::MessageFilter f;
  const auto& q = request.query();
  auto bad = [&](const std::string& field, const std::string& why) {
    send_error(reply, core::Error::invalid(field, why));
  };
  if (auto v = q.get("status")) {
    f.status = sdk::status_from_string(*v);
    if (!f.status) return bad("status", "'" + *v + "' is not a status");
  }
  if (auto v = q.get("channel")) {
    f.channel = sdk::channel_from_string(*v);
    if (!f.channel) return bad("channel", "'" + *v + "' is not a channel");
  }
  if (auto v = q.get("batch_id")) {
    f.batch_id = core::Uuid::parse(*v);
    if (!f.batch_id) return bad("batch_id", "'" + *v + "' is not a batch id");
  }
  if (auto v = q.get("to")) {
    auto e164 = app.intake().phones().to_e164(*v, "to");
    if (!e164) return send_error(reply, e164.error());
    f.to = *e164;
  }
  if (auto v = q.get("recipient_id")) f.recipient_id = *v;
  for (const char* name : {"from", "until"}) {
    if (auto v = q.get(name)) {
      auto t = core::parse_iso8601(*v);
      if (!t) return bad(name, std::string(name) + ": an RFC 3339 time with a zone");
      (std::string(name) == "from" ? f.from : f.to_time) = *t;
    }
  }
  if (auto v = q.get("limit")) {
    try {
      f.limit = std::stoi(*v);
    } catch (...) {
      return bad("limit", page_limit_rule());
    }
    if (f.limit < 1 || f.limit > kMaxPageLimit) return bad("limit", page_limit_rule());
  }
  if (auto v = q.get("after")) {
    f.after = core::Uuid::parse(*v);
    if (!f.after) return bad("after", "'" + *v + "' is not a message id");
  }
  const auto with_body = include_body(request, reply);
  if (!with_body) return;
  auto list = app.store().list_messages(principal->tenant_id, f);
  if (!list) return send_error(reply, list.error());
  if (*with_body) {
    std::vector<std::string> read;
    for (const auto& m : *list)
      if (!m.body_redacted_at) read.push_back(m.id.str());
    if (!audit_body_read(*principal, request, principal->tenant_id, "message.body_read", read, reply)) return;
  }
  json items = json::array();
  for (const auto& m : *list) items.push_back(message_json(m, *with_body));
  json out{{"messages", items}};
  out["next"] = static_cast<int>(list->size()) == f.limit && !list->empty() ? json(list->back().id.str()) : json(nullptr);
  reply.send_json(200, out);
}

// GET /v1/messages/:id
void HttpApi::Routes::get_message(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::read);
  if (!principal) return;
  auto id = message_id(request, reply);
  if (!id) return;
  auto m = app.store().find_message(principal->tenant_id, *id);
  if (!m) return send_error(reply, m.error());
  if (!*m) return reply.send_problem(problem(404, "not-found", "Not found", "no message with id '" + id->str() + "'"));
  if (!(*m)->body_redacted_at &&
      !audit_body_read(*principal, request, principal->tenant_id, "message.body_read", {id->str()}, reply))
    return;
  reply.send_json(200, message_json(**m, true));
}

// GET /v1/messages/:id/events
void HttpApi::Routes::get_events(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::read);
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

// POST /v1/messages/:id/refresh
void HttpApi::Routes::refresh_message(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::send);
  if (!principal) return;
  auto id = message_id(request, reply);
  if (!id) return;
  auto m = app.store().find_message(principal->tenant_id, *id);
  if (!m) return send_error(reply, m.error());
  if (!*m) return reply.send_problem(problem(404, "not-found", "Not found", "no message with id '" + id->str() + "'"));
  const core::Actor actor = actor_of(request, proxies, "key:" + principal->key_id);
  auto r = app.refresher().refresh(**m, actor);
  if (!r && r.error().kind == core::ErrorKind::conflict &&
      r.error().field == core::StatusRefresher::kUnknownToProvider) {
    // The provider answered, and has no such message (a mock restarted, a
    // message of another provider account): not an outage. On record, and
    // the message stays as it is.
    if (auto st = app.store().record_event(principal->tenant_id, *id, "refresh_requested", r.error().message, actor);
        !st)
      return send_error(reply, st.error());
    return reply.send_problem(problem(409, "provider-does-not-know-message", "The provider does not know this message",
                                      r.error().message));
  }
  if (!r) return send_error(reply, r.error());
  // A change is in the audit trail with this actor already; a refresh that
  // found nothing new is recorded too.
  if (r->kind != core::ReportOutcome::Kind::applied)
    if (auto st = app.store().record_event(principal->tenant_id, *id, "refresh_requested",
                                           "the provider reports " + std::string(sdk::to_string(r->to)), actor);
        !st)
      return send_error(reply, st.error());
  auto updated = app.store().find_message(principal->tenant_id, *id);
  if (!updated || !*updated) return send_error(reply, core::Error::internal("the message vanished during refresh"));
  json out = message_json(**updated, false);
  out["refresh"] = {{"changed", r->kind == core::ReportOutcome::Kind::applied},
                    {"provider_status", std::string(sdk::to_string(r->to))}};
  reply.send_json(200, out);
}

// POST /v1/messages/:id/retry
void HttpApi::Routes::retry_message(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::send);
  if (!principal) return;
  auto id = message_id(request, reply);
  if (!id) return;
  auto m = app.store().retry_message(principal->tenant_id, *id, actor_of(request, proxies, "key:" + principal->key_id));
  if (!m) return send_error(reply, m.error());
  if (app.dispatcher()) app.dispatcher()->wake();
  reply.send_json(202, message_json(*m, false));
}

// POST /v1/messages/:id/cancel
void HttpApi::Routes::cancel_message(const Rest::Request& request, Reply& reply) {
  auto principal = authenticate(request, reply, core::Scope::send);
  if (!principal) return;
  auto id = message_id(request, reply);
  if (!id) return;
  auto m = app.store().cancel_message(principal->tenant_id, *id, actor_of(request, proxies, "key:" + principal->key_id));
  if (!m) return send_error(reply, m.error());
  reply.send_json(200, message_json(*m, false));
}

}  // namespace barid::gateway
