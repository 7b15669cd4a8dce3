// Lets an io-thread handler ask an actor without blocking: a short-lived actor makes the
// request and runs the continuation with the answer (on a CAF thread).
#pragma once

#include <chrono>
#include <functional>
#include <tuple>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

namespace fedrelay::net {

/// Sends `xs...` to `target` and calls `on_value` with the reply (of type R) or
/// `on_error` with the error (request_timeout after `timeout`). Exactly one of them runs.
/// The arguments are moved into the request, not copied: a chat.sendBatch hands over a
/// hundred submissions at a time.
template <class R, class Handle, class... Ts>
void ask(caf::actor_system& sys, const Handle& target, std::chrono::milliseconds timeout,
         std::function<void(R&)> on_value, std::function<void(caf::error&)> on_error, Ts... xs) {
  sys.spawn([target, timeout, on_value = std::move(on_value), on_error = std::move(on_error),
             args = std::make_tuple(std::move(xs)...)](caf::event_based_actor* self) mutable {
    // The actor lives until its one request is answered, then quits: an actor without a
    // behavior would otherwise linger and keep ~actor_system waiting. When the target
    // stops first (the node shutting down), a request it took but never answered would
    // keep this actor, and with it ~actor_system, waiting out the whole timeout: the
    // target's down message ends the call at once instead.
    if (target) self->monitor(target);  // a null target fails the request below
    // A monitor stays on its target after the observer ends, and it holds the observer's
    // memory (CAF frees an actor when its last weak reference goes): one call's actor per
    // call for as long as the target lives, unless the call takes its monitor back (before
    // its continuation runs, so whoever sees the answer sees the monitor gone).
    auto unmonitor = [self, target] {
      if (target) self->demonitor(target.address());
    };
    self->set_down_handler([self, on_error](caf::down_msg&) {
      caf::error err = caf::make_error(caf::sec::request_receiver_down);
      on_error(err);
      self->quit();
    });
    std::apply([&](auto&... x) { return self->request(target, timeout, std::move(x)...); }, args)
        .then(
            [self, unmonitor, on_value](R& value) {
              unmonitor();
              on_value(value);
              self->quit();
            },
            [self, unmonitor, on_error](caf::error& err) {
              unmonitor();
              on_error(err);
              self->quit();
            });
  });
}

}  // namespace fedrelay::net
