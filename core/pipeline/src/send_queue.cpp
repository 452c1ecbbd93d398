#include <barid/core/send_queue.hpp>

#include <algorithm>

namespace barid::core {

void SendQueue::push(std::vector<QueuedSend> items) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    for (auto& item : items) {
      Lane& lane = lanes_[item.instance];
      lane.slots.insert(item.slot);
      const int priority = static_cast<int>(item.message.priority);
      double& last = lane.last_turn[{priority, item.message.tenant_id}];
      last = std::max(last, lane.turn[priority]) + 1.0 / std::max(1, item.share);
      lane.messages.emplace(std::make_tuple(priority, last, arrivals_++), std::move(item));
      ++size_;
    }
  }
  cv_.notify_all();
}

std::optional<QueuedSend> SendQueue::pop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (closed_) return std::nullopt;
    Lane* next = nullptr;
    for (auto& [_, lane] : lanes_)
      if (!lane.slots.empty() && (!next || *lane.slots.begin() < *next->slots.begin())) next = &lane;
    if (!next) {
      cv_.wait(lock);
      continue;
    }
    const auto slot = *next->slots.begin();
    if (Clock::now() < slot) {
      cv_.wait_until(lock, slot);
      continue;
    }
    next->slots.erase(next->slots.begin());
    auto best = next->messages.begin();
    double& turn = next->turn[std::get<0>(best->first)];
    turn = std::max(turn, std::get<1>(best->first));
    QueuedSend out = std::move(best->second);
    next->messages.erase(best);
    out.slot = slot;
    --size_;
    return out;
  }
}

std::vector<QueuedSend> SendQueue::close() {
  std::vector<QueuedSend> out;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto& [_, lane] : lanes_)
      for (auto& [_k, m] : lane.messages) out.push_back(std::move(m));
    lanes_.clear();
    size_ = 0;
  }
  cv_.notify_all();
  return out;
}

std::size_t SendQueue::size() const {
  std::lock_guard lock(mutex_);
  return size_;
}

std::size_t SendQueue::waiting(const std::string& instance) const {
  std::lock_guard lock(mutex_);
  auto it = lanes_.find(instance);
  return it == lanes_.end() ? 0 : it->second.messages.size();
}

}  // namespace barid::core
