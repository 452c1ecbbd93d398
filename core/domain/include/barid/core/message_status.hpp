#pragma once
// The message state machine. Every status change in the gateway goes through
// can_transition(), so that a late or repeated report can never move a message
// backwards (a late "sent" never overwrites "delivered" or "read").
//
//   scheduled ─┐
//   queued ────┴─► sending ─► sent ─► delivered ─► read
//      ▲             │  │       │  └──────────────────▲ (a read report may come first)
//      └── retry ────┘  │       └─► undelivered / failed
//                       └─► failed / delivered / read / undelivered
//   scheduled, queued ─► canceled, or failed (no provider can take it),
//                        or expired (its validity ended before it was sent)
//   (accept) ─► suppressed
//   failed, undelivered ─► queued        (an explicit retry)

#include <barid/sdk/types.hpp>

namespace barid::core {

using sdk::MessageStatus;

bool can_transition(MessageStatus from, MessageStatus to) noexcept;

// No further status is expected from the provider (read, undelivered, failed,
// suppressed, canceled; delivered is final for SMS but may still become read
// on WhatsApp, which can_transition allows).
bool is_terminal(MessageStatus s) noexcept;

// The outcome of a message is known (delivered, read, undelivered, failed,
// expired): the denominator of the success rate.
bool is_final_outcome(MessageStatus s) noexcept;

// Still the dispatcher's business (scheduled, queued, sending).
bool is_pending(MessageStatus s) noexcept;

}  // namespace barid::core
