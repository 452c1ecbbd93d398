#include <barid/core/intake.hpp>

#include <barid/core/log.hpp>
#include <barid/core/recipients.hpp>
#include <barid/core/templates.hpp>

#include <regex>

namespace barid::core {

MessageIntake::MessageIntake(PhoneNormalizer phones, IntakeLimits limits, int default_max_attempts)
    : phones_(std::move(phones)), limits_(limits), default_max_attempts_(default_max_attempts) {}

namespace {

bool printable_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c > 0x7E) return false;
  return true;
}

Status check_text(std::string_view field, std::string_view value, std::size_t max_bytes) {
  if (value.size() > max_bytes)
    return Error::invalid(std::string(field), "at most " + std::to_string(max_bytes) + " bytes");
  if (!is_valid_utf8(value)) return Error::invalid(std::string(field), "is not valid UTF-8");
  return {};
}

}  // namespace

Error limit_error(const InsertOutcome& o) {
  return o.kind == InsertOutcome::Kind::over_quota ? Error::quota(o.limit_detail, o.retry_after_s)
                                                   : Error::spend_cap(o.limit_detail, o.retry_after_s);
}

Result<NewMessage> MessageIntake::prepare(const SendRequest& req, TenantId tenant, const Actor& actor,
                                          const std::set<sdk::Channel>& routable) const {
  NewMessage m;
  m.id = Uuid::v7();
  m.tenant_id = tenant;
  m.actor = actor;

  auto channel = sdk::channel_from_string(req.channel);
  if (!channel || *channel == sdk::Channel::email)
    return Error::invalid("channel", "must be 'sms' or 'whatsapp'");
  if (!routable.count(*channel))
    return Error::invalid("channel", "no provider is configured for channel '" + req.channel + "'");
  m.channel = *channel;

  auto to = phones_.to_e164(req.to, "to");
  if (!to) return to.error();
  m.to = std::move(*to);

  if (req.template_request) {
    if (!req.body.empty()) return Error::invalid("body", "give either a body or a template, not both");
    if (req.template_request->code.empty()) return Error::invalid("template.code", "a template code is required");
    if (!req.template_request->language.empty() && !is_language_code(req.template_request->language))
      return Error::invalid("template.language", "'" + req.template_request->language +
                                                     "' is not a language code (e.g. en, ar)");
    if (req.template_request->variables.size() > kMaxTemplateVariables)
      return Error::invalid("template.variables", "at most " + std::to_string(kMaxTemplateVariables) + " variables");
    for (const auto& [name, value] : req.template_request->variables)
      if (auto st = check_text("template.variables." + name, value, kMaxTemplateValueBytes); !st) return st.error();
    m.template_request = req.template_request;
  } else if (req.body.empty() && req.provider_template.empty()) {
    return Error::invalid("body", "a message needs a body, a template or a provider template");
  }
  if (!is_valid_utf8(req.body)) return Error::invalid("body", "is not valid UTF-8");
  m.segments = count_segments(req.body);
  const std::size_t max_chars =
      m.channel == sdk::Channel::whatsapp ? limits_.max_whatsapp_characters : limits_.max_sms_characters;
  if (static_cast<std::size_t>(m.segments.characters) > max_chars)
    return Error::invalid("body", "has " + std::to_string(m.segments.characters) + " characters; at most " +
                                      std::to_string(max_chars) + " for " + req.channel);
  if (req.body.empty()) m.segments.segments = 1;
  m.body = req.body;

  if (auto st = check_text("from", req.from, 64); !st) return st.error();
  m.from = req.from;
  if (auto st = check_text("reference", req.reference, kMaxReferenceBytes); !st) return st.error();
  m.reference = req.reference;
  if (auto st = check_text("recipient_id", req.recipient_id, kMaxReferenceBytes); !st) return st.error();
  m.recipient_id = req.recipient_id;

  static const std::regex category_re("[a-z0-9_-]{1," + std::to_string(kMaxCategoryLength) + "}");
  if (!req.category.empty() && !std::regex_match(req.category, category_re))
    return Error::invalid("category",
                          "lower-case letters, digits, '-' and '_', at most " + std::to_string(kMaxCategoryLength));
  m.category = req.category;

  if (auto st = check_text("provider_template.id", req.provider_template, kMaxProviderTemplateBytes); !st)
    return st.error();
  m.provider_template = req.provider_template;
  if (req.template_variables.size() > kMaxProviderVariables)
    return Error::invalid("provider_template.variables",
                          "at most " + std::to_string(kMaxProviderVariables) + " variables");
  for (std::size_t i = 0; i < req.template_variables.size(); ++i)
    if (auto st = check_text("provider_template.variables[" + std::to_string(i) + "]", req.template_variables[i],
                             kMaxProviderVariableBytes);
        !st)
      return st.error();
  m.template_variables = req.template_variables;

  m.max_attempts = default_max_attempts_;
  if (req.max_attempts) {
    if (*req.max_attempts < 1 || *req.max_attempts > limits_.max_attempts_cap)
      return Error::invalid("max_attempts", "between 1 and " + std::to_string(limits_.max_attempts_cap));
    m.max_attempts = *req.max_attempts;
  }

  if (!req.scheduled_at.empty()) {
    auto when = parse_iso8601(req.scheduled_at);
    if (!when)
      return Error::invalid("scheduled_at", "an RFC 3339 time with a zone, e.g. 2026-12-01T09:00:00+03:00");
    if (*when > now_us() + limits_.max_schedule_ahead)
      return Error::invalid("scheduled_at", "at most one year ahead");
    if (*when > now_us()) {
      m.scheduled_at = *when;
      m.status = MessageStatus::scheduled;
    }
  }

  if (!req.priority.empty()) {
    m.priority = priority_from_string(req.priority);
    if (!m.priority) return Error::invalid("priority", "one of high, normal, low");
  }
  if (!req.expires_at.empty() && !req.validity.empty())
    return Error::invalid("validity", "give expires_at or validity, not both");
  const TimePoint due = m.scheduled_at.value_or(now_us());
  if (!req.expires_at.empty()) {
    auto when = parse_iso8601(req.expires_at);
    if (!when) return Error::invalid("expires_at", "an RFC 3339 time with a zone, e.g. 2026-12-01T10:00:00+03:00");
    if (*when <= due)
      return Error::invalid("expires_at", m.scheduled_at ? "must be after scheduled_at" : "must be in the future");
    m.expires_at = *when;
  }
  if (!req.validity.empty()) {
    auto validity = parse_validity(req.validity);
    if (!validity) return Error::invalid("validity", "a duration such as 90s, 30m, 2h or 1d, from 1s to 30d");
    m.expires_at = due + *validity;
  }

  if (!req.replies.empty()) {
    auto replies = check_replies(req.replies);
    if (!replies) return replies.error();
    m.replies = std::move(*replies);
  }
  if (!req.reply_window.empty()) {
    if (req.replies.empty() && !req.template_request)
      return Error::invalid("reply_window", "a reply_window needs replies (or a template that has them)");
    auto window = parse_validity(req.reply_window);
    if (!window) return Error::invalid("reply_window", "a duration such as 30m, 72h or 7d, from 1s to 30d");
    m.reply_window = *window;
  }
  if (req.content_retention == "discard") m.discard_content = true;
  else if (req.content_retention == "retain") m.discard_content = false;
  else if (!req.content_retention.empty())
    return Error::invalid("content_retention", "content_retention: retain or discard");

  if (!req.idempotency_key.empty()) {
    if (req.idempotency_key.size() > 255 || !printable_ascii(req.idempotency_key))
      return Error::invalid("Idempotency-Key", "at most 255 printable ASCII characters");
    m.idempotency_key = req.idempotency_key;
    m.request_hash = req.request_hash;
  }
  return m;
}

IntakeWriter::IntakeWriter(MessageStore& store, AcceptPolicy* policy, IntakeWriterOptions options,
                           std::function<void()> on_committed)
    : store_(store), policy_(policy), options_(options), on_committed_(std::move(on_committed)) {
  for (int i = 0; i < std::max(1, options_.writers); ++i) threads_.emplace_back([this] { loop(); });
}

IntakeWriter::~IntakeWriter() { stop(); }

bool IntakeWriter::submit(NewMessage message, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= options_.max_pending) return false;
    queue_.push_back({std::move(message), std::move(done)});
  }
  cv_.notify_one();
  return true;
}

IntakeWriter::Stats IntakeWriter::stats() const noexcept {
  return {stored_.load(), refused_.load(), failed_.load(), batches_.load()};
}

std::size_t IntakeWriter::pending() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void IntakeWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void IntakeWriter::loop() {
  std::vector<Item> items;
  std::vector<NewMessage> batch;
  for (;;) {
    items.clear();
    batch.clear();
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      // Everything that arrived while the previous commit ran goes together.
      while (!queue_.empty() && items.size() < options_.max_batch) {
        items.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    batch.reserve(items.size());
    for (auto& it : items) batch.push_back(std::move(it.message));
    auto fail_all = [&](const Error& error) {
      log_warn("intake", "storing " + std::to_string(batch.size()) + " messages failed: " + error.message);
      Error e = error;
      if (e.kind == ErrorKind::internal) e.kind = ErrorKind::unavailable;
      failed_ += items.size();
      for (auto& it : items) it.done(Result<InsertOutcome>(e));
    };

    // Templates, preferences and opt-outs; messages refused here are
    // answered with their error and not stored.
    std::vector<std::size_t> stored_index;
    std::vector<NewMessage> to_store;
    if (policy_) {
      auto verdicts = policy_->apply(batch);
      if (!verdicts) {
        fail_all(verdicts.error());
        continue;
      }
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if ((*verdicts)[i]) {
          ++refused_;
          items[i].done(Result<InsertOutcome>(*(*verdicts)[i]));
        } else {
          stored_index.push_back(i);
          to_store.push_back(std::move(batch[i]));
        }
      }
    } else {
      for (std::size_t i = 0; i < batch.size(); ++i) stored_index.push_back(i);
      to_store = std::move(batch);
    }
    if (to_store.empty()) continue;
    auto outcomes = store_.insert_messages(to_store);
    if (outcomes) {
      ++batches_;
      for (std::size_t k = 0; k < stored_index.size(); ++k) {
        const InsertOutcome& o = (*outcomes)[k];
        if (o.kind == InsertOutcome::Kind::over_quota || o.kind == InsertOutcome::Kind::over_spend_cap) {
          ++refused_;
          items[stored_index[k]].done(Result<InsertOutcome>(limit_error(o)));
        } else {
          ++stored_;
          items[stored_index[k]].done(Result<InsertOutcome>(o));
        }
      }
      if (on_committed_) on_committed_();
      continue;
    }
    log_warn("intake", "storing " + std::to_string(to_store.size()) + " messages failed: " + outcomes.error().message);
    if (outcomes.error().kind == ErrorKind::unavailable || to_store.size() == 1) {
      // The database is away (or the one message was refused): every
      // request of the batch gets the error, none is acknowledged.
      Error e = outcomes.error();
      if (e.kind == ErrorKind::internal) e.kind = ErrorKind::unavailable;
      failed_ += stored_index.size();
      for (auto k : stored_index) items[k].done(Result<InsertOutcome>(e));
      continue;
    }
    // The database refused something in the batch, which holds several
    // tenants' messages: one message at a time, so that one request's bad
    // row fails that request alone.
    bool any = false;
    for (std::size_t k = 0; k < to_store.size(); ++k) {
      auto one = store_.insert_messages({to_store[k]});
      auto& item = items[stored_index[k]];
      if (one && (one->at(0).kind == InsertOutcome::Kind::over_quota ||
                  one->at(0).kind == InsertOutcome::Kind::over_spend_cap)) {
        ++refused_;
        item.done(Result<InsertOutcome>(limit_error(one->at(0))));
      } else if (one) {
        ++stored_;
        any = true;
        item.done(Result<InsertOutcome>(one->at(0)));
      } else {
        ++failed_;
        item.done(Result<InsertOutcome>(one.error()));
      }
    }
    batches_ += to_store.size();
    if (any && on_committed_) on_committed_();
  }
}

}  // namespace barid::core
