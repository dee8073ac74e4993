#include "waypoint/core/backoff.hpp"

#include <algorithm>

namespace waypoint::core {

int64_t Backoff::Cap(int attempt) const {
  const int shift = std::min(attempt, 30);
  const int64_t exp = static_cast<int64_t>(base_ms_) << shift;
  return std::min<int64_t>(exp, max_ms_);
}

int64_t Backoff::Next() {
  const int64_t cap = Cap(attempt_);
  if (attempt_ < 62) ++attempt_;
  std::uniform_int_distribution<int64_t> d(0, cap);
  return d(rng_);
}

}  // namespace waypoint::core
