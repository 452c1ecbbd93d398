#include <barid/core/bulk.hpp>

#include <barid/core/log.hpp>

namespace barid::core {

Result<BulkResult> BulkIntake::submit(const BulkRequest& request, TenantId tenant, const Actor& actor,
                                      const std::set<sdk::Channel>& routable) {
  if (request.recipients.empty()) return Error::invalid("recipients", "at least one recipient is required");
  if (request.recipients.size() > max_recipients_)
    return Error::invalid("recipients", "at most " + std::to_string(max_recipients_) + " recipients per request");

  BulkResult result;
  Batch& batch = result.batch;
  batch.id = Uuid::v7();
  batch.tenant_id = tenant;
  batch.total = static_cast<int>(request.recipients.size());
  batch.idempotency_key = request.common.idempotency_key;
  batch.request_hash = request.common.request_hash;
  batch.actor = actor.actor;
  if (request.common.template_request) batch.template_code = request.common.template_request->code;

  std::vector<NewMessage> messages;
  std::vector<std::size_t> index_of;  // messages[k] is recipient index_of[k]
  messages.reserve(request.recipients.size());
  for (std::size_t i = 0; i < request.recipients.size(); ++i) {
    const BulkRecipient& r = request.recipients[i];
    SendRequest one = request.common;
    one.idempotency_key.clear();  // the batch carries the key
    one.to = r.to;
    if (!r.recipient_id.empty()) one.recipient_id = r.recipient_id;
    if (!r.reference.empty()) one.reference = r.reference;
    if (one.template_request) {
      for (const auto& [k, v] : r.variables) one.template_request->variables[k] = v;
      if (!r.language.empty()) one.template_request->language = r.language;
    }
    auto m = intake_.prepare(one, tenant, actor, routable);
    if (!m) {
      const auto& e = m.error();
      // Errors of the shared part are the whole request's.
      if (e.field != "to" && e.field != "recipient_id" && e.field != "reference" &&
          e.field.rfind("template.", 0) != 0)
        return e;
      result.rejected.push_back({i, r.to, "recipients[" + std::to_string(i) + "]." + e.field, e.message});
      continue;
    }
    m->batch_id = batch.id;
    batch.channel = m->channel;
    messages.push_back(std::move(*m));
    index_of.push_back(i);
  }

  auto verdicts = policy_.apply(messages, /*single_sends=*/false);
  if (!verdicts) return verdicts.error();
  std::vector<NewMessage> to_store;
  to_store.reserve(messages.size());
  for (std::size_t k = 0; k < messages.size(); ++k) {
    const std::size_t i = index_of[k];
    if ((*verdicts)[k]) {
      const Error& e = *(*verdicts)[k];
      // The priority is the request's (or its template's), and so are the
      // template and the channel it must serve: the whole request's error,
      // named as for a single send.
      if (e.field == "priority" || e.field == "template.code" || e.field == "channel") return e;
      std::string field = "recipients[" + std::to_string(i) + "]." + e.field;
      // A variable named here that was given is one the template does not
      // use (a missing one was not given): the request's error when the
      // shared variables hold it, else the recipient's own variables'.
      static const std::string kVariable = "template.variables.";
      if (e.field.rfind(kVariable, 0) == 0 && request.common.template_request) {
        const std::string name = e.field.substr(kVariable.size());
        const auto& own = request.recipients[i].variables;
        if (own.count(name)) field = "recipients[" + std::to_string(i) + "].variables." + name;
        else if (request.common.template_request->variables.count(name)) return e;
      }
      result.rejected.push_back({i, request.recipients[i].to, std::move(field), e.message});
      continue;
    }
    // Neither the request nor its template chose: an announcement yields to
    // single sends.
    if (!messages[k].priority) messages[k].priority = Priority::low;
    if (messages[k].status == MessageStatus::suppressed)
      result.suppressed.push_back({i, messages[k].to, "", messages[k].status_reason});
    to_store.push_back(std::move(messages[k]));
  }
  std::sort(result.rejected.begin(), result.rejected.end(),
            [](const BulkProblem& a, const BulkProblem& b) { return a.index < b.index; });
  if (to_store.empty()) {
    const auto& first = result.rejected.front();
    return Error::invalid(first.field, "no recipient is valid; the first problem: " + first.detail);
  }
  batch.rejected = static_cast<int>(result.rejected.size());
  batch.suppressed = static_cast<int>(result.suppressed.size());
  batch.accepted = static_cast<int>(to_store.size()) - batch.suppressed;

  auto stored = store_.insert_batch(batch, to_store);
  if (!stored) return stored.error();
  if (stored->replayed) {
    // The earlier request's batch is the answer; this one stored nothing.
    BulkResult earlier;
    earlier.batch = stored->batch;
    earlier.replayed = true;
    return earlier;
  }
  result.batch = stored->batch;
  log_info("bulk", "batch " + batch.id.str() + ": " + std::to_string(batch.total) + " recipients, " +
                       std::to_string(batch.accepted) + " queued, " + std::to_string(batch.suppressed) +
                       " suppressed, " + std::to_string(batch.rejected) + " rejected");
  return result;
}

}  // namespace barid::core
