// Reconnect backoff, the one rule of both halves (the sidecar toward the node and Redis,
// the extension's workers toward Redis): attempt n (0-based) waits a uniform
// [0, min(max, base * 2^n)] ("full jitter"), so many reconnecting clients spread out
// instead of arriving together.
#pragma once

#include <cstdint>
#include <random>

namespace waypoint::core {

class Backoff {
 public:
  Backoff(int base_ms, int max_ms) : base_ms_(base_ms), max_ms_(max_ms), rng_(std::random_device{}()) {}
  int64_t Cap(int attempt) const;  // the upper bound of attempt `attempt`
  int64_t Next();                  // delay for the current attempt, then advances
  void Reset() { attempt_ = 0; }
  int attempt() const { return attempt_; }

 private:
  int base_ms_, max_ms_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace waypoint::core
