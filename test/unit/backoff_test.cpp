// The reconnect backoff both halves use (core/backoff.hpp).
#include <gtest/gtest.h>

#include <set>

#include "waypoint/core/backoff.hpp"

using waypoint::core::Backoff;

TEST(Backoff, FullJitterStaysWithinTheExponentialCap) {
  Backoff b(100, 5000);
  EXPECT_EQ(b.Cap(0), 100);
  EXPECT_EQ(b.Cap(3), 800);
  EXPECT_EQ(b.Cap(10), 5000);
  EXPECT_EQ(b.Cap(200), 5000);  // no overflow
  for (int round = 0; round < 50; ++round) {
    b.Reset();
    for (int i = 0; i < 12; ++i) {
      const int64_t cap = b.Cap(b.attempt());
      const int64_t d = b.Next();
      EXPECT_GE(d, 0);
      EXPECT_LE(d, cap);
    }
  }
  // Jitter actually spreads: many draws at the cap are not all equal.
  Backoff c(1000, 1000);
  std::set<int64_t> seen;
  for (int i = 0; i < 50; ++i) seen.insert(c.Next());
  EXPECT_GT(seen.size(), 10u);
}
