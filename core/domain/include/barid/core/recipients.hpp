#pragma once
// Recipients: their preferences (per tenant), opt-outs (from STOP or from a
// provider that refuses an unsubscribed number) and the rule that decides
// whether a message may go to them.

#include <barid/core/message.hpp>
#include <barid/core/result.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace barid::core {

// An opt-out the recipient told a provider instance (STOP, or the provider
// refusing an unsubscribed number) applies to the tenants that instance
// serves on that channel (see OptOutScope): tenant_id names a tenant routed
// to the instance, or is 0 for the tenants of the global route (every tenant
// without a route of its own on the channel). A row of tenant 0 with no
// instance was recorded before opt-outs had a scope, and applies to every
// tenant. Channel "*" = every channel.
struct OptOut {
  TenantId tenant_id = 0;
  std::string phone;  // E.164
  std::string channel = "*";
  std::string source;  // "inbound:<instance>", "provider:<instance>", ...
  std::string detail;
  std::string instance;  // the instance it came through; empty: before scopes
  TimePoint created_at{};
  // The tenant told of it by a recipient.opted_out webhook event (the one
  // whose message or question the recipient answered), if any.
  std::optional<TenantId> notify_tenant;
};

struct RecipientPreferences {
  std::string recipient_id;  // the tenant's own id for the recipient, or empty
  std::string phone;         // E.164, or empty
  std::set<sdk::Channel> channels;          // allowed channels; empty = all
  std::set<std::string> blocked_categories;  // categories the recipient turned off
  std::string language;                      // preferred language, or empty
  bool opted_out = false;
  TimePoint updated_at{};

  // "id:<recipient_id>" when there is one, else "phone:<E.164>".
  std::string key() const;
};

// A message a recipient sent (SMS or WhatsApp), as kept. It belongs to the
// tenant that last sent to that number through the same instance (within
// the assignment window; a message sent from the number written to wins over
// more recent ones from other senders), else to the instance's default
// tenant, else to no tenant (the operator sees it).
struct InboundRecord {
  Uuid id;
  std::optional<TenantId> tenant_id;
  sdk::Channel channel = sdk::Channel::sms;
  std::string instance;
  std::string from;  // E.164
  std::string to;    // the number or sender written to, as the provider reported it
  std::string body;
  std::string provider_message_id;
  TimePoint received_at{};
  // The message it answered (a reply intent of that message's question).
  std::optional<MessageId> message_id;
  std::string intent;
  std::string content_error;  // why the stored body did not open (body is then empty)
};

// Which inbound messages to list (newest first).
struct InboundFilter {
  std::optional<TenantId> tenant;  // nullopt: every tenant's (the operator)
  bool unassigned = false;         // only those of no tenant (with tenant nullopt)
  std::string phone;               // E.164 of the sender, or empty
  std::optional<TimePoint> since;
  std::optional<Uuid> before;  // the cursor: the last id of the previous page
  int limit = 100;
};

// How an inbound message finds its tenant (see InboundRecord).
struct InboundAssignment {
  std::chrono::seconds window{std::chrono::hours(24 * 7)};
  std::string default_tenant;  // the instance's default tenant (a name), or empty
};

// What the store knows of a set of recipients (Store::find_recipients).
struct RecipientRecords {
  std::map<std::string, RecipientPreferences> preferences;  // by recipient key
  std::vector<OptOut> opt_outs;
};

inline std::string recipient_key_for_id(std::string_view id) { return "id:" + std::string(id); }
inline std::string recipient_key_for_phone(std::string_view phone) { return "phone:" + std::string(phone); }

// Why a message must not be sent, or nullopt when it may. `preferences`
// holds what is known for the message's recipient id and for its phone
// (both apply); `opt_outs` the opt-outs for its phone.
// `routed_apart`: the message's tenant has a route of its own on the
// message's channel, so an opt-out recorded through the global route's
// instances does not apply to it.
std::optional<std::string> suppression_reason(const NewMessage& message,
                                              const std::vector<const RecipientPreferences*>& preferences,
                                              const std::vector<OptOut>& opt_outs, bool routed_apart = false);

// A recipient's text as replies and keywords are matched: ASCII lower-cased;
// spaces and punctuation (ASCII, Arabic and typographic) trimmed around and
// inner runs of spaces made one; Arabic diacritics and the tatweel dropped;
// the alef forms (أ إ آ ٱ) read as ا; Arabic-Indic and Persian digits read as
// ASCII (١ = 1). "  Cancel! ", "CANCEL" and "cancel" are one answer, and so
// are «إلغاء», «الغاء» and «إِلْغَاء».
std::string normalise_reply(std::string_view text);

// Inbound keywords. `stop` (STOP, STOPALL, UNSUBSCRIBE, «إيقاف» ...) always
// opts the sender out. `cancel` (CANCEL, END, QUIT, «إلغاء») opts out too,
// unless it answers the open question the sender was asked (a reply intent of
// that message), and so does `start` opt back in (START, YES ...).
enum class InboundKeyword { none, stop, cancel, start };
InboundKeyword classify_inbound(std::string_view body);

// The replies a send may expect: at most kMaxReplies answers, each of 1 to 64
// characters once normalised (normalise_reply), each naming an intent of 1 to
// 64 letters, digits, '_', '-' or '.'. Returns them keyed by their
// normalised form; an error names the offending field under `field`.
inline constexpr std::size_t kMaxReplies = 20;
Result<std::map<std::string, std::string>> check_replies(const std::map<std::string, std::string>& replies,
                                                          const std::string& field = "replies");

}  // namespace barid::core
