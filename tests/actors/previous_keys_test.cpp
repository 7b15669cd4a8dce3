// A node's previous keys: kept in its store when its identity changes, and served signed by
// the current key, which is all a peer trusts them by.
#include "actors/previous_keys.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/describe.hpp"
#include "actors/errc.hpp"
#include "actors/previous_keys_book.hpp"
#include "storage/store.hpp"
#include "tests/support/temp_dir.hpp"

namespace fedrelay::actors {
namespace {

errc code_of(const caf::error& err) {
  return static_cast<errc>(err.code());
}

TEST(PreviousKeysTest, AKeyTheNodeRanWithBeforeIsKeptWhenItsIdentityChanges) {
  test::temp_dir dir;
  auto db = std::move(*storage::store::open(dir / "db"));
  auto noted = [&](const crypto::identity& id, int64_t now) {
    auto keys = note_own_key(*db, id.public_key(), now);
    EXPECT_TRUE(keys) << describe(keys.error());
    return keys ? *keys : std::vector<previous_key>{{}, {}, {}};
  };
  auto first = crypto::identity::generate();
  auto second = crypto::identity::generate();
  EXPECT_TRUE(noted(first, 1000).empty());
  EXPECT_TRUE(noted(first, 2000).empty());

  auto one = noted(second, 3000);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].key, first.public_key());
  EXPECT_EQ(one[0].until_ms, 3000);
  EXPECT_EQ(noted(second, 4000).size(), 1u);

  // Back to the first key: it is current again, not previous; the second is previous.
  auto back = noted(first, 5000);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].key, second.public_key());
  EXPECT_EQ(back[0].until_ms, 5000);

  // The newest are kept, at most max_previous_keys.
  for (int i = 0; i < 20; ++i) noted(crypto::identity::generate(), 6000 + i);
  auto kept = noted(crypto::identity::generate(), 7000);
  EXPECT_EQ(kept.size(), max_previous_keys);
  EXPECT_EQ(kept.front().until_ms, 7000);
}

TEST(PreviousKeysTest, TheListIsTakenOnlySignedByTheDomainsCurrentKey) {
  auto current = crypto::identity::generate();
  auto old = crypto::identity::generate();
  std::vector<previous_key> keys{{old.public_key(), 1'764'075'600'123}};
  auto body = previous_keys_body(current, "b.example", keys);
  auto read = read_previous_keys(body, "b.example", current.public_key());
  ASSERT_TRUE(read) << describe(read.error());
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0].key, old.public_key());
  EXPECT_EQ((*read)[0].until_ms, 1'764'075'600'123);
  auto none = read_previous_keys(previous_keys_body(current, "b.example", {}), "b.example",
                                 current.public_key());
  ASSERT_TRUE(none) << describe(none.error());
  EXPECT_TRUE(none->empty());
  // A longer list than this version keeps: the first max_previous_keys of it.
  std::vector<previous_key> many(max_previous_keys + 4, previous_key{old.public_key(), 1});
  auto first_ones = read_previous_keys(previous_keys_body(current, "b.example", many), "b.example",
                                       current.public_key());
  ASSERT_TRUE(first_ones) << describe(first_ones.error());
  EXPECT_EQ(first_ones->size(), max_previous_keys);

  // Another domain's list, one signed by another key, or one changed after signing.
  EXPECT_EQ(code_of(read_previous_keys(body, "c.example", current.public_key()).error()),
            errc::rejected);
  EXPECT_EQ(code_of(read_previous_keys(body, "b.example", old.public_key()).error()),
            errc::rejected);
  auto changed = nlohmann::json::parse(body);
  changed["previous"][0]["until"] = 1;
  EXPECT_EQ(code_of(read_previous_keys(changed.dump(), "b.example", current.public_key()).error()),
            errc::rejected);
  for (std::string bad : {"", "[]", "{}", R"({"domain":"b.example","previous":[1],"signature":""})",
                          R"({"domain":"b.example","previous":[{"key":"zz","until":1}],)"
                          R"("signature":""})"})
    EXPECT_EQ(code_of(read_previous_keys(bad, "b.example", current.public_key()).error()),
              errc::bad_request)
        << bad;
}

// One room asks a domain at a time; a request that outlived its wait was lost and may be
// made again; what was recorded serves every room; the book keeps so many domains.
TEST(PreviousKeysBookTest, OneRoomAsksAtATimeAndWhatItFoundServesAll) {
  previous_keys_book book;
  previous_keys_book::time_point t0{};
  auto wait = std::chrono::seconds{10};
  EXPECT_EQ(book.find("c.example"), nullptr);
  EXPECT_FALSE(book.fetching("c.example", t0, wait));
  EXPECT_TRUE(book.begin_fetch("c.example", t0, wait));
  EXPECT_TRUE(book.fetching("c.example", t0 + std::chrono::seconds{9}, wait));
  EXPECT_FALSE(book.begin_fetch("c.example", t0 + std::chrono::seconds{9}, wait));
  EXPECT_TRUE(book.begin_fetch("d.example", t0, wait));  // another domain is asked beside
  // Not recorded within the wait: lost, asked again.
  EXPECT_FALSE(book.fetching("c.example", t0 + wait, wait));
  EXPECT_TRUE(book.begin_fetch("c.example", t0 + wait, wait));

  origin_previous_keys found;
  found.keys.push_back({crypto::identity::generate().public_key(), 5});
  found.known = true;
  found.fetched = t0 + wait + std::chrono::seconds{1};
  book.record("c.example", found);
  EXPECT_FALSE(book.fetching("c.example", t0 + wait + std::chrono::seconds{1}, wait));
  auto known = book.find("c.example");
  ASSERT_NE(known, nullptr);
  EXPECT_TRUE(known->known);
  ASSERT_EQ(known->keys.size(), 1u);
  EXPECT_EQ(known->keys[0].key, found.keys[0].key);
  // Asking again (the list grew old) leaves what is known readable meanwhile.
  EXPECT_TRUE(book.begin_fetch("c.example", t0 + std::chrono::minutes{11}, wait));
  EXPECT_NE(book.find("c.example"), nullptr);
}

TEST(PreviousKeysBookTest, KeepsAtMostSoManyDomainsDroppingTheOneFetchedLongestAgo) {
  previous_keys_book book;
  previous_keys_book::time_point t0{};
  auto wait = std::chrono::seconds{10};
  auto name = [](size_t i) { return "d" + std::to_string(i) + ".example"; };
  for (size_t i = 0; i < previous_keys_book::max_domains; ++i) {
    origin_previous_keys found;
    found.known = true;
    found.fetched = t0 + std::chrono::seconds{static_cast<int64_t>(i) + 1};
    book.record(name(i), found);
  }
  // One being asked is never dropped, however old what it had.
  ASSERT_TRUE(book.begin_fetch(name(0), t0 + std::chrono::hours{1}, wait));
  origin_previous_keys newest;
  newest.fetched = t0 + std::chrono::hours{2};
  book.record("new.example", newest);
  EXPECT_NE(book.find("new.example"), nullptr);
  EXPECT_NE(book.find(name(0)), nullptr);
  EXPECT_EQ(book.find(name(1)), nullptr);  // fetched longest ago of those not being asked
  EXPECT_NE(book.find(name(2)), nullptr);
}

}  // namespace
}  // namespace fedrelay::actors
