// log_budget: at most so many lines a period, and the count of those held back goes out
// with the next line allowed.
#include "actors/log_budget.hpp"

#include <gtest/gtest.h>

namespace fedrelay::actors {
namespace {

using namespace std::chrono_literals;

TEST(LogBudgetTest, LetsSoManyLinesOutAPeriodAndCountsTheRestForTheNextOne) {
  log_budget budget{3, 60s};
  log_budget::time_point t0{};
  uint64_t held_back = 99;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(budget.take(t0 + std::chrono::seconds(i), held_back));
    EXPECT_EQ(held_back, 0u);
  }
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(budget.take(t0 + 10s, held_back));
  EXPECT_FALSE(budget.take(t0 + 59s, held_back));
  // A new period: the next line says how many were not logged.
  EXPECT_TRUE(budget.take(t0 + 60s, held_back));
  EXPECT_EQ(held_back, 6u);
  EXPECT_EQ(not_logged(held_back), " (6 more such lines not logged)");
  EXPECT_TRUE(budget.take(t0 + 61s, held_back));
  EXPECT_EQ(held_back, 0u);
  EXPECT_EQ(not_logged(held_back), "");
}

TEST(LogBudgetTest, SharedBudgetsCountEachKindApart) {
  shared_log_budgets budgets{2, 60s};
  log_budget::time_point t0{};
  uint64_t held_back = 0;
  EXPECT_TRUE(budgets.take("a.example", t0, held_back));
  EXPECT_TRUE(budgets.take("a.example", t0, held_back));
  EXPECT_FALSE(budgets.take("a.example", t0, held_back));
  EXPECT_TRUE(budgets.take("b.example", t0, held_back));
  EXPECT_TRUE(budgets.take("a.example", t0 + 60s, held_back));
  EXPECT_EQ(held_back, 1u);
}

}  // namespace
}  // namespace fedrelay::actors
