// Small policies shared by the stream and backfill paths: backoff (core's), a circuit breaker toward the node, and a
// token-bucket request rate limit. All take time from a steady clock passed in (or read it) so tests can check bounds.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>

#include "waypoint/core/backoff.hpp"

namespace waypoint::sidecar {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

int64_t NowMs();   // steady clock
int64_t WallMs();  // Unix milliseconds

// Backoff: core's rule, shared with the extension (waypoint/core/backoff.hpp).
using core::Backoff;

// CircuitBreaker: closed -> (failure_threshold consecutive failures) -> open for
// open_ms -> half-open: one trial call; success closes, failure opens again.
class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  CircuitBreaker(int failure_threshold, int open_ms) : threshold_(failure_threshold), open_ms_(open_ms) {}
  // Allow says whether a call may go out now; in half-open only one trial at a time.
  bool Allow(int64_t now_ms);
  void Success();
  void Failure(int64_t now_ms);
  State state(int64_t now_ms);
  int64_t RetryAtMs();      // when an open breaker turns half-open
  uint64_t opened_count();  // times it went (back) to open

 private:
  std::mutex mu_;
  int threshold_, open_ms_;
  State state_ = State::kClosed;
  int failures_ = 0;
  int64_t opened_at_ = 0;
  bool trial_in_flight_ = false;
  uint64_t opened_count_ = 0;
};
const char* BreakerStateName(CircuitBreaker::State s);

// TokenBucket: rate tokens per second, burst capacity; Acquire blocks until a token is
// available or `stop` becomes true (returns false then).
class TokenBucket {
 public:
  TokenBucket(double rate, double burst);
  bool TryAcquire(int64_t now_ms);
  bool Acquire(const std::atomic<bool>& stop);
  int64_t WaitMs(int64_t now_ms);  // time until the next token

 private:
  void Refill(int64_t now_ms);
  std::mutex mu_;
  double rate_, burst_, tokens_;
  int64_t last_ms_;
};

// SleepFor sleeps up to ms, waking early when stop becomes true. Returns !stop.
bool SleepFor(int64_t ms, const std::atomic<bool>& stop);

}  // namespace waypoint::sidecar
