// parse_json against nlohmann's own parser: random documents written out and mutated byte
// by byte must parse (or fail) the same way, down to the type of every number.
#include "actors/json_parse.hpp"

#include <random>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/json_checks.hpp"

namespace fedrelay::actors {
namespace {

using nlohmann::json;

void expect_like_nlohmann(const std::string& text) {
  auto ours = parse_json(text);
  auto theirs = json::parse(text, nullptr, false);
  ASSERT_EQ(ours.is_discarded(), theirs.is_discarded()) << text;
  if (!ours.is_discarded()) {
    ASSERT_TRUE(test::same_json(ours, theirs)) << text;
  }
}

TEST(JsonParseTest, TrickyTextsParseAsNlohmannParsesThem) {
  for (const char* text : {"{}",
                           "[]",
                           "0",
                           "-0",
                           "-0.0",
                           "1",
                           "-1",
                           "1.0",
                           "1e2",
                           "1E-2",
                           "9223372036854775807",
                           "9223372036854775808",
                           "18446744073709551615",
                           "18446744073709551616",
                           "-9223372036854775808",
                           "-9223372036854775809",
                           "1e400",
                           "1e-400",
                           "0.1000000000000000055511151231257827",
                           R"("\u0000")",
                           R"("\ud83d\ude00")",
                           R"("\ud800")",
                           R"("\udc00x")",
                           R"({"a":1,"a":2})",
                           R"({"a":{"b":[1,{"c":null}]}})",
                           "\"\xff\"",
                           "\"\xc3\xa9\"",
                           "[1,]",
                           "{\"a\" 1}",
                           "01",
                           "[1] x",
                           "",
                           " ",
                           "nul",
                           "true",
                           "\t[ true , false ,null ]\n",
                           R"("a\/b\\c\"\b\f\n\r\t")",
                           "[0,-0]",
                           "[-0,0]",
                           R"({"date":"2026-01-05","n":0})"})
    expect_like_nlohmann(text);
  // Nesting up to the bound parses as nlohmann's parser has it, in arrays and objects.
  expect_like_nlohmann(std::string(max_json_depth, '[') + std::string(max_json_depth, ']'));
  std::string objects;
  for (size_t i = 0; i < max_json_depth; ++i) objects += R"({"a":)";
  objects += "1" + std::string(max_json_depth, '}');
  expect_like_nlohmann(objects);
}

// A document nested past the bound is refused though nlohmann's parser takes it: copying
// or writing it (both recursive) would overflow the stack. A peer's catch-up reply, or a
// WebSocket frame, of a million levels in a few megabytes brought the node down so.
TEST(JsonParseTest, TheFirstRepeatedMemberOfTheOutermostObjectIsNamed) {
  EXPECT_EQ(repeated_member(R"({"a":1,"b":2,"a":3,"b":4})"), "a");
  EXPECT_EQ(repeated_member(R"({"a":{"x":1,"x":2},"b":2})"), std::nullopt);  // inner objects aside
  EXPECT_EQ(repeated_member(R"({"a":1,"b":2})"), std::nullopt);
  EXPECT_EQ(repeated_member(R"({"\u0061":1,"a":2})"), "a");  // the same name, escaped
  EXPECT_EQ(repeated_member(R"([{"a":1,"a":2}])"), std::nullopt);
  EXPECT_EQ(repeated_member("{\"a\":1,"), std::nullopt);  // not JSON
}

TEST(JsonParseTest, MembersOfAnotherTypeGiveTheFallbackInsteadOfThrowing) {
  auto doc = parse_json(R"({"flag":true,"name":"x","count":7,"wrong":"yes","neg":-1,"f":1.5})");
  EXPECT_TRUE(bool_member(doc, "flag", false));
  EXPECT_TRUE(bool_member(doc, "wrong", true));
  EXPECT_FALSE(bool_member(doc, "name", false));
  EXPECT_FALSE(bool_member(doc, "missing", false));
  EXPECT_EQ(string_member(doc, "name"), "x");
  EXPECT_EQ(string_member(doc, "count", "none"), "none");
  EXPECT_EQ(unsigned_member(doc, "count"), 7u);
  EXPECT_EQ(unsigned_member(doc, "neg"), std::nullopt);
  EXPECT_EQ(unsigned_member(doc, "f"), std::nullopt);
  EXPECT_EQ(unsigned_member(doc, "wrong"), std::nullopt);
  // Not an object at all: every member is missing.
  for (const char* text : {"[1,2]", "\"text\"", "null", "not json"}) {
    auto other = parse_json(text);
    EXPECT_FALSE(bool_member(other, "flag", false)) << text;
    EXPECT_EQ(string_member(other, "name", "-"), "-") << text;
    EXPECT_EQ(unsigned_member(other, "count"), std::nullopt) << text;
  }
}

TEST(JsonParseTest, DocumentsNestedPastTheBoundAreRefused) {
  for (size_t depth : {max_json_depth + 1, size_t{100'000}, size_t{1'000'000}}) {
    auto arrays = std::string(depth, '[') + std::string(depth, ']');
    ASSERT_FALSE(json::parse(arrays, nullptr, false).is_discarded());
    EXPECT_TRUE(parse_json(arrays).is_discarded()) << depth;
    EXPECT_FALSE(nesting_within(arrays, max_json_depth)) << depth;
    EXPECT_TRUE(nesting_within(arrays, depth)) << depth;
  }
  // Past the bound in a value, and with texts that only look like brackets, which the
  // count skips.
  auto deep = R"({"text":"[[[[{{{{\"","x":)" + std::string(max_json_depth, '[') + "1" +
              std::string(max_json_depth, ']') + "}";
  EXPECT_FALSE(json::parse(deep, nullptr, false).is_discarded());
  EXPECT_TRUE(parse_json(deep).is_discarded());
  auto brackets_in_text = R"({"text":")" + std::string(5000, '[') + R"("})";
  EXPECT_TRUE(nesting_within(brackets_in_text, 1));
  expect_like_nlohmann(brackets_in_text);
}

// 16 MB of `[{},{},...]` made a GB of nlohmann's values: a document of more values than
// the bound is refused, whichever parser reads it.
TEST(JsonParseTest, DocumentsOfMoreValuesThanTheBoundAreRefused) {
  std::string objects = "[";
  for (size_t i = 0; i < max_json_values; ++i) objects += "{},";
  objects += "{}]";  // the array and max_json_values + 1 objects
  ASSERT_FALSE(json::parse(objects, nullptr, false).is_discarded());
  EXPECT_TRUE(parse_json(objects).is_discarded());
  EXPECT_FALSE(parse_json(objects, max_json_values + 2).is_discarded());
  // At the bound and past it, on simdjson's way and on nlohmann's ("-0" goes that way).
  EXPECT_EQ(parse_json("[1,2,3]", 4), json::parse("[1,2,3]"));
  EXPECT_TRUE(parse_json("[1,2,3]", 3).is_discarded());
  EXPECT_EQ(parse_json(R"({"a":-0,"b":[1]})", 4).dump(), json::parse(R"({"a":-0,"b":[1]})").dump());
  EXPECT_TRUE(parse_json(R"({"a":-0,"b":[1,2]})", 4).is_discarded());
  // Brackets and commas in strings are no values.
  EXPECT_TRUE(values_within(R"(["a,b,[c]{"])", 2));
  EXPECT_FALSE(values_within(R"(["a",["b"]])", 2));
}

TEST(JsonParseTest, TextsOverAMiBParseAlikeAndTheThreadsParserStillServesSmallOnes) {
  // Over kept_parser_bytes a text gets a parser of its own instead of the thread's.
  json big = json::array();
  for (int i = 0; i < 4000; ++i)
    big.push_back({{"i", i}, {"text", std::string(300, static_cast<char>('a' + i % 26))}});
  auto text = big.dump();
  ASSERT_GT(text.size(), size_t{1} << 20);
  expect_like_nlohmann(text);
  expect_like_nlohmann(text.substr(0, text.size() - 1));  // cut short: refused alike
  expect_like_nlohmann(R"({"small":[1,-0,2.5,"x"]})");
}

TEST(JsonParseTest, RandomDocumentsAndTheirMutationsParseAsNlohmannParsesThem) {
  std::mt19937 rng{11252026};
  auto random_string = [&rng] {
    std::string s(rng() % 12, '\0');
    for (auto& c : s) c = static_cast<char>(rng() % 3 == 0 ? rng() % 256 : 0x20 + rng() % 95);
    return s;
  };
  std::function<json(int)> random_value = [&](int depth) -> json {
    switch (rng() % (depth > 3 ? 6 : 8)) {
      case 0:
        return nullptr;
      case 1:
        return rng() % 2 == 0;
      case 2:
        return -static_cast<int64_t>(rng() % 100000);
      case 3:
        return static_cast<uint64_t>(rng()) << (rng() % 33);
      case 4:
        return static_cast<double>(rng()) / (1 + rng() % 1000);
      case 5:
        return json(random_string()).dump(-1, ' ', false, json::error_handler_t::replace);
      case 6: {
        json o = json::object();
        for (unsigned i = rng() % 5; i > 0; --i) o[random_string()] = random_value(depth + 1);
        return o;
      }
      default: {
        json a = json::array();
        for (unsigned i = rng() % 5; i > 0; --i) a.push_back(random_value(depth + 1));
        return a;
      }
    }
  };
  for (int i = 0; i < 2000; ++i) {
    auto text = random_value(0).dump(-1, ' ', false, json::error_handler_t::replace);
    expect_like_nlohmann(text);
    for (int m = 0; m < 4 && !text.empty(); ++m) {
      auto mutated = text;
      test::mutate_json_byte(mutated, rng);
      expect_like_nlohmann(mutated);
    }
  }
}

}  // namespace
}  // namespace fedrelay::actors
