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
  for (size_t i = 0; i < cap + 500; ++i)
    EXPECT_EQ(f.note_refusal("r" + std::to_string(i) + ".example", verdict::not_allowed), i <= cap)
        << i;  // the first of the others is logged once, the rest within the period not
  auto s = f.snapshot();
  EXPECT_EQ(s.refused_by_allow, cap + 500);
  EXPECT_EQ(s.refused_per_domain.size(), cap + 1);
  EXPECT_EQ(s.refused_per_domain[peer_filter::other_domains], 500u);
  EXPECT_EQ(s.refused_per_domain["r0.example"], 1u);
  // A domain counted before the map filled is still counted on its own.
  f.note_refusal("r0.example", verdict::not_allowed);
  EXPECT_EQ(f.snapshot().refused_per_domain["r0.example"], 2u);
}

}  // namespace
}  // namespace fedrelay::config
