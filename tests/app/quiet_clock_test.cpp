// The clock the node's actor system runs on: delayed messages and request timeouts arrive
// when due, an earlier deadline set after a later one is not held up behind it, setting
// and cancelling timeouts does not wake the clock's thread each time, and request timeouts
// due close together ship in a few rounds.
#include "app/quiet_clock.hpp"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <caf/all.hpp>

#include "app/runtime.hpp"

namespace fedrelay::app {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

quiet_clock& clock_of(caf::actor_system& sys) {
  return dynamic_cast<quiet_clock&>(sys.clock());
}

TEST(QuietClockTest, TheNodesActorSystemRunsOnIt) {
  runtime rt;
  EXPECT_NO_THROW(clock_of(rt.system()));
}

TEST(QuietClockTest, AnEarlierDelayedMessageSetAfterALaterOneArrivesFirstAndOnTime) {
  runtime rt;
  caf::scoped_actor self{rt.system()};
  // The thread waits for the minute-long one first (given time to start waiting); the
  // short one must wake it.
  self->delayed_send(self, 60s, std::string{"late"});
  std::this_thread::sleep_for(200ms);
  auto sent = steady::now();
  self->delayed_send(self, 50ms, std::string{"soon"});
  std::string got;
  self->receive([&](const std::string& text) { got = text; },
                caf::after(std::chrono::seconds(10)) >> [&] { got = "nothing"; });
  EXPECT_EQ(got, "soon");
  EXPECT_GE(steady::now() - sent, 50ms);
}

TEST(QuietClockTest, ARequestNobodyAnswersTimesOut) {
  runtime rt;
  // Takes every request and never answers it.
  auto silent = rt.system().spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {[self](int) { return self->make_response_promise<int>(); }};
  });
  caf::scoped_actor self{rt.system()};
  caf::error err;
  self->request(silent, 100ms, 1).receive([](int) {}, [&](caf::error& e) { err = std::move(e); });
  EXPECT_EQ(err, caf::sec::request_timeout);
  self->send_exit(silent, caf::exit_reason::user_shutdown);
}

TEST(QuietClockTest, RequestsSetTheirTimeoutsWithoutWakingTheClock) {
  runtime rt;
  auto echo = rt.system().spawn([]() -> caf::behavior { return {[](int x) { return x; }}; });
  caf::scoped_actor self{rt.system()};
  // One actor asks 1000 times in a row, each request with a 30 s timeout (answered at once;
  // the timeouts go when the actor ends).
  auto asker = rt.system().spawn(
      [echo, whom = caf::actor_cast<caf::actor>(self)](caf::event_based_actor* a) {
        auto left = std::make_shared<int>(1000);
        auto next = std::make_shared<std::function<void()>>();
        *next = [a, echo, whom, left, next] {
          if ((*left)-- == 0) {
            a->send(whom, std::string{"done"});
            a->quit();
            *next = nullptr;  // the closure refers to itself
            return;
          }
          a->request(echo, std::chrono::seconds(30), *left).then([next](int) { (*next)(); });
        };
        (*next)();
      });
  auto before = clock_of(rt.system()).wakeups();
  std::string got;
  self->receive([&](const std::string& text) { got = text; },
                caf::after(std::chrono::seconds(30)) >> [&] { got = "timed out"; });
  EXPECT_EQ(got, "done");
  // CAF's own clock woke its thread for each timeout set: 1000 times.
  EXPECT_LE(clock_of(rt.system()).wakeups() - before, 3u);
  self->send_exit(echo, caf::exit_reason::user_shutdown);
}

TEST(QuietClockTest, DeadlinesCloseTogetherShipInOneRound) {
  runtime rt;
  caf::scoped_actor self{rt.system()};
  auto& clock = clock_of(rt.system());
  // 1000 messages due over about 100 ms, one every 0.1 ms (set from one thread, in
  // order, so no setting wakes the clock): at most about one round per millisecond.
  auto start = clock.now() + 200ms;
  for (int i = 0; i < 1000; ++i)
    clock.schedule_message(start + std::chrono::microseconds(100 * i),
                           caf::actor_cast<caf::strong_actor_ptr>(self),
                           caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, i));
  auto before = clock.rounds();
  int got = 0;
  self->receive_for(got, 1000)([](int) {});
  EXPECT_EQ(got, 1000);
  // Shipped one by one it would be 1000 rounds.
  EXPECT_LE(clock.rounds() - before, 300u);
}

TEST(QuietClockTest, RequestTimeoutsDueOverHalfASecondShipInAFewRounds) {
  runtime rt;
  caf::scoped_actor self{rt.system()};
  auto& clock = clock_of(rt.system());
  // 1000 request timeouts due over about 500 ms, one every 0.5 ms, as a receiving node's
  // answered requests leave them: with only the millisecond of coalescing that is about
  // 500 rounds, with the requests' slack a handful.
  auto start = clock.now() + 200ms;
  auto* me = caf::actor_cast<caf::abstract_actor*>(self->ctrl());
  for (uint64_t i = 0; i < 1000; ++i)
    clock.set_request_timeout(start + std::chrono::microseconds(500 * i), me,
                              caf::make_message_id(i + 1).response_id());
  auto before = clock.rounds();
  // (A blocking actor drops responses it does not await: count the rounds, not arrivals.)
  std::this_thread::sleep_until(start + 500ms + quiet_clock::default_request_slack + 400ms);
  auto rounds = clock.rounds() - before;
  EXPECT_GE(rounds, 1u);
  EXPECT_LE(rounds, 15u);
}

TEST(QuietClockTest, AnOrdinaryDeadlineIsNotHeldBackByARequestsSlack) {
  runtime rt;
  caf::scoped_actor self{rt.system()};
  // A clock of its own, whose request timeouts may ship 2 s late: a delayed message due
  // just after such a timeout's deadline must still ship on time, not with the timeout's
  // slack (about 2 s late).
  quiet_clock clock{std::chrono::seconds(2)};
  std::thread runner{[&] { clock.run(); }};
  auto* me = caf::actor_cast<caf::abstract_actor*>(self->ctrl());
  auto sent = steady::now();
  clock.set_request_timeout(clock.now() + 100ms, me, caf::make_message_id(1).response_id());
  clock.schedule_message(
      clock.now() + 101ms, caf::actor_cast<caf::strong_actor_ptr>(self),
      caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, std::string{"on time"}));
  std::string got;
  self->receive([&](const std::string& text) { got = text; },
                caf::after(std::chrono::seconds(10)) >> [&] { got = "nothing"; });
  auto took = steady::now() - sent;
  clock.stop();
  runner.join();
  EXPECT_EQ(got, "on time");
  EXPECT_GE(took, 101ms);
  // Held back by the timeout's slack it would take over 2 s; a second covers any load.
  EXPECT_LT(took, 1s);
}

TEST(QuietClockTest, ASystemWithMessagesStillScheduledStopsAtOnce) {
  auto start = steady::now();
  {
    runtime rt;
    caf::scoped_actor self{rt.system()};
    for (int i = 0; i < 100; ++i) self->delayed_send(self, std::chrono::hours(1), i);
  }
  EXPECT_LT(steady::now() - start, 30s);
}

}  // namespace
}  // namespace fedrelay::app
