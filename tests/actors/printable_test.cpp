#include "actors/printable.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace fedrelay::actors {
namespace {

TEST(PrintableExcerptTest, PlainTextAndUtf8StayAsTheyAre) {
  EXPECT_EQ(printable_excerpt("HTTP 400: {\"error\":\"bad\"}", 100),
            "HTTP 400: {\"error\":\"bad\"}");
  EXPECT_EQ(printable_excerpt("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", 100),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(printable_excerpt("", 10), "");
}

TEST(PrintableExcerptTest, ALineBreakCannotStartALogLineOfItsOwn) {
  EXPECT_EQ(printable_excerpt("x\n[2099-01-01] [net] [error] FORGED\r\n", 100),
            "x\\n[2099-01-01] [net] [error] FORGED\\r\\n");
  EXPECT_EQ(printable_excerpt(std::string{"a\0b\x1B[31m\x7F", 9}, 100), "a\\x00b\\x1B[31m\\x7F");
  EXPECT_EQ(printable_excerpt("\xC2\x85\xC2\x9B", 100), "\\u0085\\u009B");  // C1 controls
  EXPECT_EQ(printable_excerpt("\t", 100), "\\t");
}

TEST(PrintableExcerptTest, BytesThatAreNoUtf8AreReplacedSoJsonTakesThem) {
  const std::string replacement = "\xEF\xBF\xBD";
  EXPECT_EQ(printable_excerpt("\xFF\xFE", 100), replacement + replacement);
  EXPECT_EQ(printable_excerpt("\xC0\xAF", 100), replacement + replacement);  // overlong
  EXPECT_EQ(printable_excerpt("\xED\xA0\x80", 100),                          // a surrogate
            replacement + replacement + replacement);
  EXPECT_EQ(printable_excerpt("\xF4\x90\x80\x80", 100),  // past U+10FFFF
            replacement + replacement + replacement + replacement);
  EXPECT_EQ(printable_excerpt("ab\xE2\x82", 100), "ab" + replacement + replacement);  // cut short
  auto text = printable_excerpt("\xFF ok \xC3", 100);
  EXPECT_NO_THROW(nlohmann::json(text).dump());
}

TEST(PrintableExcerptTest, ALongTextIsCutAtACharacterBoundaryWithinTheBound) {
  const std::string more = "\xE2\x80\xA6";
  EXPECT_EQ(printable_excerpt("abcdefgh", 6), "abc" + more);
  EXPECT_EQ(printable_excerpt("abcdef", 6), "abcdef");
  // "é" takes two bytes: it is left out whole rather than cut in two.
  EXPECT_EQ(printable_excerpt("ab\xC3\xA9"
                              "cdef",
                              6),
            "ab" + more);
  // A written-out control character is not cut either.
  EXPECT_EQ(printable_excerpt("abc\ndefg", 7), "abc" + more);
  EXPECT_EQ(printable_excerpt(std::string(100'000, 'x'), 500).size(), 500u);
  EXPECT_EQ(printable_excerpt("abcdef", 2), "");
}

TEST(PrintableExcerptTest, SeparatorsAndBidirectionalMarksAreWrittenOut) {
  EXPECT_EQ(printable_excerpt("a\xE2\x80\xA8"
                              "b\xE2\x80\xA9",
                              100),
            "a\\u2028b\\u2029");
  EXPECT_EQ(printable_excerpt("\xE2\x80\xAE"
                              "evil\xE2\x81\xA6",
                              100),
            "\\u202Eevil\\u2066");
  EXPECT_EQ(printable_excerpt("\xE2\x80\x8F", 100), "\\u200F");
  EXPECT_EQ(printable_excerpt("\xE2\x80\x94", 100), "\xE2\x80\x94");  // an em dash stays
}

}  // namespace
}  // namespace fedrelay::actors
