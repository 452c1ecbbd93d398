#include <barid/core/callbacks.hpp>

#include <barid/core/log.hpp>
#include <barid/core/recipients.hpp>
#include <barid/core/segments.hpp>

namespace barid::core {

Result<CallbackReply> CallbackProcessor::process(const std::string& instance, const sdk::CallbackRequest& request,
                                                 const Actor& actor) {
  auto set = providers_.snapshot();
  const ProviderSlot* slot = set->find(instance);
  if (!slot) return Error::not_found("no provider instance named '" + instance + "'");

  if (request.body.size() > kMaxBodyBytes)
    return Error::invalid("body", "a webhook request has at most " + std::to_string(kMaxBodyBytes) + " bytes");
  const sdk::CallbackResult result = slot->instance->provider().parse_callback(request);
  switch (result.verdict) {
    case sdk::CallbackResult::Verdict::forbidden:
      log_warn("callbacks", "rejected a '" + request.kind + "' callback for " + instance + ": " + result.reason);
      return Error{ErrorKind::invalid, "the request's signature did not verify", "signature"};
    case sdk::CallbackResult::Verdict::bad_request:
      log_warn("callbacks", "could not use a '" + request.kind + "' callback for " + instance + ": " + result.reason);
      return Error::invalid("body", result.reason.empty() ? "the request could not be understood" : result.reason);
    case sdk::CallbackResult::Verdict::accepted:
      break;
  }

  if (result.status_updates.size() + result.inbound_messages.size() > kMaxItems) {
    log_warn("callbacks", "refused a '" + request.kind + "' callback for " + instance + " with " +
                              std::to_string(result.status_updates.size() + result.inbound_messages.size()) +
                              " reports and inbound messages");
    return Error::invalid("body", "a webhook request carries at most " + std::to_string(kMaxItems) +
                                      " reports and inbound messages");
  }

  CallbackReply reply;
  reply.http_status = result.http_status;
  reply.body = result.response_body;
  reply.content_type = result.response_content_type;
  if (!result.status_updates.empty()) {
    auto outcomes = reports_.apply_reports(instance, result.status_updates, actor);
    if (!outcomes) return outcomes.error();
    for (const auto& o : *outcomes) {
      switch (o.kind) {
        case ReportOutcome::Kind::applied: ++reply.applied; break;
        case ReportOutcome::Kind::ignored: ++reply.ignored; break;
        case ReportOutcome::Kind::unknown_message: ++reply.unknown; break;
      }
    }
  }
  reply.inbound = static_cast<int>(result.inbound_messages.size());
  for (const auto& m : result.inbound_messages)
    if (auto st = handle_inbound(*set, *slot, instance, m, reply); !st) return st.error();
  log_debug("callbacks", instance + "/" + request.kind + ": " + std::to_string(reply.applied) + " applied, " +
                             std::to_string(reply.ignored) + " ignored, " + std::to_string(reply.unknown) +
                             " unknown, " + std::to_string(reply.inbound) + " inbound");
  return reply;
}

Status CallbackProcessor::handle_inbound(const ProviderSet& set, const ProviderSlot& slot, const std::string& instance,
                                         const sdk::InboundMessage& m, CallbackReply& reply) {
  auto phone = phones_.to_e164(m.from, "from");
  if (!phone) {
    log_warn("callbacks", "an inbound message via " + instance + " has a sender that is not a phone number; ignored");
    return {};
  }
  // Providers retry callbacks: a message handled before changes nothing (a
  // replayed STOP after a START must not opt the patient out again). An id
  // too long or not text to keep cannot be told apart, and is handled.
  const bool keyed = !m.provider_message_id.empty() && m.provider_message_id.size() <= 128 &&
                     is_valid_utf8(m.provider_message_id);
  // One atomic claim per provider id: of two overlapping deliveries of one
  // message, one handles it and the other is a duplicate. A claim released
  // by a failure half-way lets the provider's retry handle it.
  struct Claim {
    RecipientStore& store;
    const std::string& instance;
    const std::string& id;
    bool held = false;
    ~Claim() {
      if (held) (void)store.finish_inbound(instance, id, false);
    }
  } claim{recipients_, instance, m.provider_message_id};
  if (keyed) {
    auto mine = recipients_.claim_inbound(instance, m.provider_message_id);
    if (!mine) return mine.error();
    if (!*mine) {
      ++reply.duplicates;
      return {};
    }
    claim.held = true;
  }
  // Kept for the tenant it answers (or the instance's default tenant).
  InboundRecord kept;
  kept.id = Uuid::v7();
  kept.channel = m.channel;
  kept.instance = instance;
  kept.from = *phone;
  kept.to = m.to;
  kept.body = m.body;
  kept.provider_message_id = keyed ? m.provider_message_id : std::string();
  kept.received_at = now_us();
  auto tenant = recipients_.inbound_tenant(*phone, instance, m.to, InboundAssignment{assignment_window_, slot.default_tenant});
  if (!tenant) return tenant.error();
  kept.tenant_id = *tenant;

  // An answer to the open question that tenant asked this number: a quick
  // reply button's payload, else the text, read as normalise_reply does.
  // STOP and its kind are never an answer.
  const InboundKeyword keyword = classify_inbound(m.body);
  std::optional<OpenQuestion> question;
  if (kept.tenant_id && keyword != InboundKeyword::stop) {
    auto open = recipients_.open_question(*kept.tenant_id, *phone, instance);
    if (!open) return open.error();
    question = std::move(*open);
  }
  if (question) {
    for (const std::string* text : {&m.button_payload, &m.body}) {
      auto it = question->replies.find(normalise_reply(*text));
      if (text->empty() || it == question->replies.end()) continue;
      kept.message_id = question->message_id;
      kept.intent = it->second;
      break;
    }
  }
  if (auto st = recipients_.keep_inbound(kept); !st) return st.error();
  if (!kept.tenant_id) {
    ++reply.unassigned;
    log_info("callbacks", "inbound message " + kept.id.str() + " via " + instance + " belongs to no tenant");
  }

  // STOP and its kind always opt out; CANCEL and its kind (and START) do what
  // they say unless they answered the question (then the answer is all).
  if (kept.message_id) {
    if (auto st = recipients_.record_reply(*kept.tenant_id, *kept.message_id, kept.intent, kept.id); !st) return st;
    ++reply.replied;
    log_info("callbacks", "inbound message " + kept.id.str() + " answers message " + kept.message_id->str() +
                             " (" + kept.intent + ")");
  } else {
    const std::string channel(sdk::to_string(m.channel));
    // For the tenants this instance serves on the channel: a clinic's own
    // instance speaks for that clinic only, the shared one for the tenants
    // routed through it. One that serves no route speaks for the tenant the
    // message was given to.
    auto scope = [&] {
      static const TenantRoutes kNone;
      const auto routes = tenant_routes_ ? tenant_routes_() : nullptr;
      return opt_out_scope(set, routes ? *routes : kNone, instance, m.channel);
    };
    switch (keyword) {
      case InboundKeyword::stop:
      case InboundKeyword::cancel: {
        OptOut o;
        o.phone = *phone;
        o.channel = channel;
        o.instance = instance;
        o.source = "inbound:" + instance;
        o.detail = "the recipient replied with an opt-out keyword";
        o.notify_tenant = kept.tenant_id;
        auto written = record_scoped_opt_out(recipients_, scope(), o, kept.tenant_id);
        if (!written) return written.error();
        ++reply.opted_out;
        log_info("callbacks", "opt-out received via " + instance + " (" + channel + ")");
        break;
      }
      case InboundKeyword::start: {
        const OptOutScope s = scope();
        std::vector<TenantId> tenants = s.rows();
        if (tenants.empty() && kept.tenant_id) tenants.push_back(*kept.tenant_id);
        const bool tell = kept.tenant_id && (s.empty() || s.serves(*kept.tenant_id));
        auto removed = recipients_.remove_opt_out(tenants, *phone, channel, instance,
                                                  tell ? kept.tenant_id : std::nullopt);
        if (!removed) return removed.error();
        ++reply.opted_in;
        log_info("callbacks", "opt-in received via " + instance + " (" + channel + ")");
        break;
      }
      case InboundKeyword::none:
        break;
    }
  }
  // Recorded as handled for kInboundMemory: the provider's later retries are
  // duplicates.
  if (keyed) {
    claim.held = false;
    return recipients_.finish_inbound(instance, m.provider_message_id, true);
  }
  return {};
}

}  // namespace barid::core
