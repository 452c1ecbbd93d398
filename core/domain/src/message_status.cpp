#include <barid/core/message_status.hpp>

namespace barid::core {

bool can_transition(MessageStatus from, MessageStatus to) noexcept {
  using S = MessageStatus;
  switch (from) {
    case S::scheduled:
    case S::queued:
      return to == S::sending || to == S::canceled || to == S::failed || to == S::expired;
    case S::sending:
      return to == S::queued || to == S::sent || to == S::delivered || to == S::read ||
             to == S::undelivered || to == S::failed;
    case S::sent:
      return to == S::delivered || to == S::read || to == S::undelivered || to == S::failed;
    case S::delivered:
      return to == S::read;
    case S::undelivered:
    case S::failed:
      return to == S::queued;
    case S::read:
    case S::suppressed:
    case S::canceled:
    case S::expired:
      return false;
  }
  return false;
}

bool is_terminal(MessageStatus s) noexcept {
  using S = MessageStatus;
  return s == S::read || s == S::undelivered || s == S::failed || s == S::suppressed ||
         s == S::canceled || s == S::expired;
}

bool is_final_outcome(MessageStatus s) noexcept {
  using S = MessageStatus;
  return s == S::delivered || s == S::read || s == S::undelivered || s == S::failed || s == S::expired;
}

bool is_pending(MessageStatus s) noexcept {
  using S = MessageStatus;
  return s == S::scheduled || s == S::queued || s == S::sending;
}

}  // namespace barid::core
