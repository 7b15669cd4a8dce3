// The allow and deny lists: matching, precedence, reload, and refusal counting.
#include <gtest/gtest.h>

#include "config/peer_filter.hpp"

namespace fedrelay::config {
namespace {

using verdict = peer_filter::verdict;

TEST(PeerFilterTest, EmptyListsAllowEveryone) {
  peer_filter f{{}, {}};
  EXPECT_TRUE(f.allowed("b.example"));
}

TEST(PeerFilterTest, DenyAlwaysWins) {
  peer_filter f{{"b.example", "*.corp.example"}, {"b.example", "bad.corp.example"}};
  EXPECT_EQ(f.check("b.example"), verdict::denied);
  EXPECT_EQ(f.check("bad.corp.example"), verdict::denied);
  EXPECT_EQ(f.check("good.corp.example"), verdict::allowed);
}

TEST(PeerFilterTest, NonEmptyAllowRefusesTheRest) {
  peer_filter f{{"b.example"}, {}};
  EXPECT_EQ(f.check("c.example"), verdict::not_allowed);
  EXPECT_EQ(f.check("B.Example"), verdict::allowed);
}

TEST(PeerFilterTest, WildcardMatchesSubdomainsNotTheDomainItself) {
  EXPECT_TRUE(domain_matches("*.example.com", "a.example.com"));
  EXPECT_TRUE(domain_matches("*.example.com", "a.b.example.com"));
  EXPECT_FALSE(domain_matches("*.example.com", "example.com"));
  EXPECT_FALSE(domain_matches("*.example.com", "badexample.com"));
  EXPECT_FALSE(domain_matches("example.com", "a.example.com"));
}

TEST(PeerFilterTest, ReplacePutsNewListsInForceAndKeepsCounts) {
  peer_filter f{{}, {"b.example"}};
  EXPECT_TRUE(f.note_refusal("b.example", verdict::denied));
  f.replace({}, {});
  EXPECT_TRUE(f.allowed("b.example"));
  EXPECT_EQ(f.snapshot().refused_by_deny, 1u);
}

TEST(PeerFilterTest, RefusalsAreLoggedOncePerPeriodButAllCounted) {
  peer_filter f{{"a.example"}, {"b.example"}};
  EXPECT_TRUE(f.note_refusal("b.example", verdict::denied));
  EXPECT_FALSE(f.note_refusal("b.example", verdict::denied));
  EXPECT_TRUE(f.note_refusal("c.example", verdict::not_allowed));
  EXPECT_TRUE(f.note_refusal("b.example", verdict::denied, std::chrono::seconds(0)));
  auto s = f.snapshot();
  EXPECT_EQ(s.refused_by_deny, 3u);
  EXPECT_EQ(s.refused_by_allow, 1u);
  EXPECT_EQ(s.refused_per_domain["b.example"], 3u);
  EXPECT_EQ(s.allow, std::vector<std::string>{"a.example"});
}

// Anyone may name any origin: made-up names past max_counted_domains share one count and
// one line in the log instead of growing the maps without bound.
TEST(PeerFilterTest, RefusalsOfManyDomainsAreCountedInABoundedMap) {
  peer_filter f{{"a.example"}, {}};
  const auto cap = peer_filter::max_counted_domains;
  for (size_t i = 0; i < cap + 500; ++i) {
    auto note = f.note_refusal("r" + std::to_string(i) + ".example", verdict::not_allowed);
    // The first of the others is logged once, the rest within the period not.
    EXPECT_EQ(note.log, i <= cap) << i;
    EXPECT_EQ(note.among_others, i >= cap) << i;
  }
  auto s = f.snapshot();
  EXPECT_EQ(s.refused_by_allow, cap + 500);
  EXPECT_EQ(s.refused_per_domain.size(), cap + 1);
  EXPECT_EQ(s.refused_per_domain[peer_filter::other_domains], 500u);
  EXPECT_EQ(s.refused_per_domain["r0.example"], 1u);
  // A domain counted before the map filled is still counted on its own.
  f.note_refusal("r0.example", verdict::not_allowed);
  EXPECT_EQ(f.snapshot().refused_per_domain["r0.example"], 2u);
}

// Once the flood has passed, a domain refused later is counted and logged by name again.
TEST(PeerFilterTest, DomainsNotRefusedForAnHourGiveTheirPlaceUp) {
  peer_filter f{{"a.example"}, {}};
  const auto cap = peer_filter::max_counted_domains;
  auto start = std::chrono::steady_clock::now();
  const std::chrono::seconds minute{60};
  for (size_t i = 0; i < cap + 10; ++i)
    f.note_refusal("r" + std::to_string(i) + ".example", verdict::not_allowed, minute, start);
  auto later = start + peer_filter::forget_after - std::chrono::seconds(30);
  f.note_refusal("r5.example", verdict::not_allowed, minute, later);  // still refused
  // Within the hour the names keep their places, and a new one is among the others.
  EXPECT_TRUE(f.note_refusal("late.example", verdict::not_allowed, minute, later).among_others);
  // Past the hour, but within a minute of the last look at the names (for late.example):
  // not looked at again, as a flood of new names would otherwise walk the map each time.
  EXPECT_TRUE(f.note_refusal("early.example", verdict::not_allowed, minute,
                             start + peer_filter::forget_after + std::chrono::seconds(1))
                  .among_others);
  auto after_an_hour = start + peer_filter::forget_after + std::chrono::minutes(1);
  auto note = f.note_refusal("real.example", verdict::not_allowed, minute, after_an_hour);
  EXPECT_TRUE(note.log);
  EXPECT_FALSE(note.among_others);
  auto s = f.snapshot();
  EXPECT_EQ(s.refused_per_domain["real.example"], 1u);
  EXPECT_EQ(s.refused_per_domain["r5.example"], 2u);  // refused within the hour: kept
  EXPECT_EQ(s.refused_per_domain.count("r6.example"), 0u);
  // Nothing is lost: the forgotten names' counts went to the others.
  uint64_t total = 0;
  for (const auto& [name, count] : s.refused_per_domain) total += count;
  EXPECT_EQ(total, s.refused_by_allow);
  EXPECT_EQ(s.refused_per_domain.size(), 3u);
}

}  // namespace
}  // namespace fedrelay::config
