// The node's actors run on the threads of its sockets: on those threads only, handed on
// from a socket's handler without running inside it, with every message of a busy actor
// delivered in order when it has to give up its thread, and the system stops with the
// threads.
#include "app/pool_scheduler.hpp"

#include <pthread.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <caf/all.hpp>

#include "app/runtime.hpp"
#include "net/http_client.hpp"
#include "tests/support/ports.hpp"

namespace fedrelay::app {
namespace {

using namespace std::chrono_literals;

std::string this_thread_name() {
  char name[32] = {};
  pthread_getname_np(pthread_self(), name, sizeof name);
  return name;
}

caf::behavior thread_namer() {
  return {[](caf::get_atom) { return this_thread_name(); }};
}

TEST(PoolSchedulerTest, ActorsRunOnThePoolThreads) {
  runtime rt{2};
  EXPECT_NE(dynamic_cast<pool_coordinator*>(&rt.system().scheduler()), nullptr);
  caf::scoped_actor self{rt.system()};
  auto namer = rt.system().spawn(thread_namer);
  // Asked from outside the pool, from a detached actor, and from another pooled actor.
  auto asking_namer = [namer](caf::event_based_actor* me) {
    return caf::behavior{[me, namer](caf::get_atom g) { return me->delegate(namer, g); }};
  };
  auto detached = rt.system().spawn<caf::detached>(asking_namer);
  auto pooled = rt.system().spawn(asking_namer);
  for (const auto& target : {namer, detached, pooled}) {
    std::string name;
    self->request(target, 10s, caf::get_atom::value)
        .receive([&](const std::string& n) { name = n; },
                 [&](caf::error& e) { name = caf::to_string(e); });
    EXPECT_EQ(name, "relay.pool");
  }
  for (const auto& a : {namer, detached, pooled})
    self->send_exit(a, caf::exit_reason::user_shutdown);
}

/// What an actor made ready from a socket's handler saw.
struct hand_off {
  caf::actor_system* system = nullptr;
  std::atomic<bool> handler_returned{false};
  std::promise<std::pair<std::string, bool>>
      seen;  // its thread's name; whether the handler had returned
};

void handler_that_spawns(void* arg) {
  auto* h = static_cast<hand_off*>(arg);
  h->system->spawn([h] { h->seen.set_value({this_thread_name(), h->handler_returned.load()}); });
  // An actor run inside the spawn would see false.
  std::this_thread::sleep_for(20ms);
  h->handler_returned = true;
}

TEST(PoolSchedulerTest, AnActorMadeReadyByASocketHandlerRunsAfterItOnThePool) {
  runtime rt{2};
  hand_off h;
  h.system = &rt.system();
  auto seen = h.seen.get_future();
  rt.io().run_soon(&handler_that_spawns, &h);
  ASSERT_EQ(seen.wait_for(10s), std::future_status::ready);
  auto [name, after] = seen.get();
  EXPECT_EQ(name, "relay.pool");
  EXPECT_TRUE(after);
}

TEST(PoolSchedulerTest, AnActorThatUsesUpItsShareGetsEveryMessageInOrder) {
  // One message per turn: after each the actor gives up its thread and queues again.
  net::io_runtime io{net::io_runtime::lent_threads{}};
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  cfg.set("scheduler.max-throughput", 1);
  use_pool_scheduler(cfg, io);
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto counter = sys.spawn([](caf::event_based_actor* me) {
    auto next = std::make_shared<int>(0);
    return caf::behavior{[me, next](int i, const caf::actor& report) {
      if (i != (*next)++) me->send(report, -1);
      if (*next == 1000) me->send(report, *next);
    }};
  });
  for (int i = 0; i < 1000; ++i) self->send(counter, i, caf::actor_cast<caf::actor>(self));
  int got = 0;
  self->receive([&](int n) { got = n; }, caf::after(30s) >> [&] { got = -2; });
  EXPECT_EQ(got, 1000);
  self->send_exit(counter, caf::exit_reason::user_shutdown);
}

TEST(PoolSchedulerTest, TheSystemStopsWithActorsStillBusyOnThePool) {
  auto start = std::chrono::steady_clock::now();
  {
    runtime rt{2};
    for (int i = 0; i < 50; ++i)
      rt.system().spawn([](caf::event_based_actor* me) {
        me->send(me, 0);
        return caf::behavior{[me](int n) {
          if (n < 1000)
            me->send(me, n + 1);
          else
            me->quit();
        }};
      });
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
}

TEST(PoolSchedulerTest, ARequestStillInFlightAtTheEndDoesNotHoldTheSystemOpen) {
  // A request's callback holds a detached actor's handle (as the local API's calls hold
  // the node's detached files actor), and the request is still waiting for its answer
  // when everything stops. ~actor_system waits for each detached actor's last handle: the
  // handler holding it must go with the system, not after it.
  // Listens and never accepts: the connection waits in its backlog, the request unanswered.
  auto port = test::free_tcp_port();
  test::listening_socket listener{port};
  ASSERT_TRUE(listener.listening());
  auto start = std::chrono::steady_clock::now();
  std::atomic<bool> answered{false};
  {
    runtime rt{2};
    auto detached = rt.system().spawn<caf::detached>([] { return caf::behavior{[](int) {}}; });
    {
      net::http_client client{rt.io()};
      net::http_request req;
      req.method = "GET";
      req.target = "/";
      client.request(net::url{"http", "127.0.0.1", port, {}}, std::move(req), 60s,
                     [detached, &answered](caf::expected<net::http_response>) { answered = true; });
      // Connected and waiting for the answer before the client goes.
      std::this_thread::sleep_for(200ms);
    }
    caf::anon_send_exit(detached, caf::exit_reason::user_shutdown);
    detached = nullptr;
    rt.system().await_all_actors_done();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
}

}  // namespace
}  // namespace fedrelay::app
