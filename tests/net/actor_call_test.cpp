// ask() from the io threads: exactly one continuation runs, and a target that stops with the
// call unanswered ends the call at once rather than after the whole timeout.
#include "net/actor_call.hpp"

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <caf/actor_system_config.hpp>
#include <caf/default_attachable.hpp>
#include <caf/send.hpp>

namespace fedrelay::net {
namespace {

using namespace std::chrono_literals;

/// Takes every request and keeps it unanswered, as an actor that is busy elsewhere when
/// the node stops (its promises are dropped when it quits).
caf::behavior holder(caf::event_based_actor* self) {
  auto held = std::make_shared<std::vector<caf::response_promise>>();
  return {
      [self, held](const std::string&) {
        held->push_back(self->make_response_promise());
        return held->back();
      },
  };
}

caf::behavior echo(caf::event_based_actor*) {
  return {[](const std::string& text) { return text; }};
}

struct outcome {
  std::promise<std::string> result;
  std::future<std::string> future = result.get_future();
  void ask_with(caf::actor_system& sys, const caf::actor& target,
                std::chrono::milliseconds timeout) {
    ask<std::string>(
        sys, target, timeout, [this](std::string& value) { result.set_value("value " + value); },
        [this](caf::error& err) { result.set_value("error " + sys_text(err)); },
        std::string{"hello"});
  }
  static std::string sys_text(const caf::error& err) {
    return err == caf::sec::request_receiver_down ? "receiver down"
           : err == caf::sec::request_timeout     ? "timeout"
                                                  : "other";
  }
};

class ActorCallTest : public testing::Test {
 protected:
  static caf::actor_system_config& two_threads(caf::actor_system_config& cfg) {
    cfg.set("scheduler.max-threads", 2);
    return cfg;
  }
  caf::actor_system_config cfg_;
  caf::actor_system sys{two_threads(cfg_)};
};

TEST_F(ActorCallTest, AnAnsweredCallRunsTheValueContinuation) {
  auto target = sys.spawn(echo);
  outcome o;
  o.ask_with(sys, target, 60s);
  ASSERT_EQ(o.future.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(o.future.get(), "value hello");
  caf::anon_send_exit(target, caf::exit_reason::user_shutdown);
}

TEST_F(ActorCallTest, AFinishedCallLeavesNoMonitorOnItsTarget) {
  // The target notes who asked; the call's monitor, if left behind, would hold that
  // finished actor's memory for as long as the target lives.
  auto caller = std::make_shared<caf::actor_addr>();
  auto target = sys.spawn([caller](caf::event_based_actor* self) -> caf::behavior {
    return {[self, caller](const std::string& text) {
      *caller = caf::actor_cast<caf::actor_addr>(self->current_sender());
      return text;
    }};
  });
  for (auto answered : {true, false}) {
    outcome o;
    o.ask_with(sys, target, answered ? 60s : 1ms);
    ASSERT_EQ(o.future.wait_for(20s), std::future_status::ready);
    ASSERT_TRUE(*caller);
    caf::default_attachable::observe_token token{*caller, caf::default_attachable::monitor};
    auto left =
        caf::actor_cast<caf::abstract_actor*>(target)->detach(caf::attachable::token{token});
    EXPECT_EQ(left, 0u) << "timeout " << (answered ? "60 s" : "1 ms");
  }
  caf::anon_send_exit(target, caf::exit_reason::user_shutdown);
}

TEST_F(ActorCallTest, ATargetThatStopsWithTheCallUnansweredEndsItAtOnce) {
  auto target = sys.spawn(holder);
  outcome o;
  // The timeout is far beyond the wait below: only the target's down message can end it.
  o.ask_with(sys, target, std::chrono::milliseconds{10min});
  EXPECT_EQ(o.future.wait_for(300ms), std::future_status::timeout);  // held, not answered
  caf::anon_send_exit(target, caf::exit_reason::user_shutdown);
  ASSERT_EQ(o.future.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(o.future.get(), "error receiver down");
  // ~actor_system returns: no call actor is left waiting for its timeout.
}

TEST_F(ActorCallTest, ANullTargetRunsTheErrorContinuation) {
  outcome o;
  o.ask_with(sys, caf::actor{}, 60s);
  ASSERT_EQ(o.future.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(o.future.get().rfind("error", 0), 0u);
}

}  // namespace
}  // namespace fedrelay::net
