#include "app/quiet_clock.hpp"

namespace fedrelay::app {

using simple = caf::detail::simple_actor_clock;

// Dropping an event can drop the last reference to an actor, whose cleanup cancels its
// timeouts on this clock: events are dropped only with the lock released. The exceptions
// are the cancellations below and the replacement of an ordinary timeout. Those drop only
// events of the calling actor, and an actor that calls is still referenced.

quiet_clock::duration_type quiet_clock::slack_of(event_type type) const {
  return type == request_timeout_type ? request_slack_ : duration_type{coalescing};
}

template <class Change>
void quiet_clock::schedule(time_point t, simple::event_type type, Change change) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    change();
    // The new event can only bring the wake-up forward, to its own deadline and slack.
    auto wake_at = t + slack_of(type);
    wake = wake_at < waiting_until_;
    // One wake-up per earlier deadline: later ones before the thread runs need none.
    if (wake) waiting_until_ = wake_at;
  }
  if (wake) {
    wakeups_.fetch_add(1, std::memory_order_relaxed);
    cv_.notify_one();
  }
}

void quiet_clock::set_ordinary_timeout(time_point t, caf::abstract_actor* self,
                                       caf::atom_value type, uint64_t id) {
  schedule(t, simple::ordinary_timeout_type,
           [&] { simple::set_ordinary_timeout(t, self, type, id); });
}

void quiet_clock::set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) {
  schedule(t, simple::request_timeout_type, [&] { simple::set_request_timeout(t, self, id); });
}

void quiet_clock::set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                                    uint64_t id) {
  schedule(t, simple::multi_timeout_type, [&] { simple::set_multi_timeout(t, self, type, id); });
}

void quiet_clock::schedule_message(time_point t, caf::strong_actor_ptr receiver,
                                   caf::mailbox_element_ptr content) {
  schedule(t, simple::actor_msg_type,
           [&] { simple::schedule_message(t, std::move(receiver), std::move(content)); });
}

void quiet_clock::schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                                   caf::message content) {
  schedule(t, simple::group_msg_type, [&] {
    simple::schedule_message(t, std::move(target), std::move(sender), std::move(content));
  });
}

void quiet_clock::cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) {
  std::lock_guard<std::mutex> guard{mtx_};
  simple::cancel_ordinary_timeout(self, type);
}

void quiet_clock::cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) {
  std::lock_guard<std::mutex> guard{mtx_};
  simple::cancel_request_timeout(self, id);
}

void quiet_clock::cancel_timeouts(caf::abstract_actor* self) {
  std::lock_guard<std::mutex> guard{mtx_};
  simple::cancel_timeouts(self);
}

void quiet_clock::cancel_all() {
  auto dropped = take_all();
}

std::vector<simple::unique_delayed_event_ptr> quiet_clock::take_all() {
  std::vector<unique_delayed_event_ptr> all;
  std::lock_guard<std::mutex> guard{mtx_};
  all.reserve(schedule_.size());
  for (auto& entry : schedule_) all.push_back(std::move(entry.second));
  schedule_.clear();
  actor_lookup_.clear();
  return all;
}

quiet_clock::time_point quiet_clock::wake_time() const {
  auto wake_at = time_point::max();
  // In deadline order: past the current answer no later event can lower it.
  for (auto i = schedule_.begin(); i != schedule_.end() && i->first < wake_at; ++i)
    wake_at = std::min(wake_at, i->first + slack_of(i->second->subtype));
  return wake_at;
}

void quiet_clock::run() {
  std::vector<unique_delayed_event_ptr> due;
  std::unique_lock<std::mutex> guard{mtx_};
  while (!stopping_) {
    waiting_until_ = wake_time();
    if (waiting_until_ == time_point::max())
      cv_.wait(guard);
    else
      cv_.wait_until(guard, waiting_until_);
    auto t = now();
    for (auto i = schedule_.begin(); i != schedule_.end() && i->first <= t;) {
      if (i->second->backlink != actor_lookup_.end()) actor_lookup_.erase(i->second->backlink);
      due.push_back(std::move(i->second));
      i = schedule_.erase(i);
    }
    if (due.empty()) continue;
    rounds_.fetch_add(1, std::memory_order_relaxed);
    // Nothing set while the events are shipped needs to wake the thread: it works out its
    // next wait afterwards.
    waiting_until_ = time_point::min();
    guard.unlock();
    for (auto& event : due) ship(*event);
    due.clear();
    guard.lock();
  }
}

void quiet_clock::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_one();
  auto dropped = take_all();
}

}  // namespace fedrelay::app
