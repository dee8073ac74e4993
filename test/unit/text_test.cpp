// UTF-8 checks (core/include/waypoint/core/text.hpp): what the decoder accepts as a name
// and what the extension writes as text into dead letters and backfill progress.
#include <gtest/gtest.h>

#include "waypoint/core/text.hpp"

using namespace waypoint::core;

TEST(Text, WellFormedUtf8) {
  EXPECT_TRUE(ValidUtf8(""));
  EXPECT_TRUE(ValidUtf8("plain ascii"));
  EXPECT_TRUE(ValidUtf8("\xc3\xa9t\xc3\xa9"));         // é: 2 bytes
  EXPECT_TRUE(ValidUtf8("\xe2\x82\xac"));              // €: 3 bytes
  EXPECT_TRUE(ValidUtf8("\xf0\x9f\x98\x80"));          // U+1F600: 4 bytes
  EXPECT_TRUE(ValidUtf8("\xf4\x8f\xbf\xbf"));          // U+10FFFF, the last code point
  EXPECT_TRUE(ValidUtf8(std::string("a\0b", 3)));      // NUL is UTF-8...
  EXPECT_FALSE(PostgresText(std::string("a\0b", 3)));  // ...but not Postgres text
  EXPECT_TRUE(PostgresText("\xf0\x9f\x98\x80 ok"));
  EXPECT_EQ(Utf8SequenceLength("\xe2\x82\xac", 0), 3u);
  EXPECT_EQ(Utf8SequenceLength(std::string("\0", 1), 0), 1u);
}

TEST(Text, MalformedUtf8) {
  for (const std::string bad : {
           "\x80",                  // stray continuation byte
           "\xc3",                  // truncated 2-byte sequence
           "\xe2\x82",              // truncated 3-byte sequence
           "\xc3\x28",              // second byte is not a continuation
           "\xc0\xaf",              // overlong '/'
           "\xe0\x80\xaf",          // overlong, 3 bytes
           "\xf0\x80\x80\xaf",      // overlong, 4 bytes
           "\xed\xa0\x80",          // surrogate U+D800
           "\xf4\x90\x80\x80",      // above U+10FFFF
           "\xf8\x88\x80\x80\x80",  // 5-byte form
           "\xff",
       }) {
    EXPECT_FALSE(ValidUtf8(bad)) << testing::PrintToString(bad);
    EXPECT_FALSE(PostgresText("ok " + bad)) << testing::PrintToString(bad);
    EXPECT_EQ(Utf8SequenceLength(bad, 0), 0u) << testing::PrintToString(bad);
  }
}

TEST(Text, SanitizeReplacesEachBadByteAndNul) {
  EXPECT_EQ(SanitizeText("fine \xc3\xa9"), "fine \xc3\xa9");
  EXPECT_EQ(SanitizeText(std::string("a\0b", 3)), "a?b");
  EXPECT_EQ(SanitizeText("a\xffz"), "a?z");
  EXPECT_EQ(SanitizeText("\xe2\x82"), "??");         // a truncated sequence: one '?' per byte
  EXPECT_EQ(SanitizeText("\xed\xa0\x80."), "???.");  // a surrogate
  EXPECT_EQ(SanitizeText("x\xe2\x82\xac\x80"), "x\xe2\x82\xac?");
  for (const std::string& s : {std::string("\x80\xc3\xa9\0\xf4\x90", 6), std::string("\xc0\xaf ok")})
    EXPECT_TRUE(PostgresText(SanitizeText(s))) << testing::PrintToString(s);
}
