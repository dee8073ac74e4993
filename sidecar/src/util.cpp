#include "util.hpp"

#include <algorithm>
#include <thread>

namespace waypoint::sidecar {

int64_t NowMs() { return std::chrono::duration_cast<Ms>(Clock::now().time_since_epoch()).count(); }
int64_t WallMs() { return std::chrono::duration_cast<Ms>(std::chrono::system_clock::now().time_since_epoch()).count(); }

bool CircuitBreaker::Allow(int64_t now_ms) {
  std::lock_guard<std::mutex> l(mu_);
  if (state_ == State::kOpen && now_ms - opened_at_ >= open_ms_) {
    state_ = State::kHalfOpen;
    trial_in_flight_ = false;
  }
  if (state_ == State::kClosed) return true;
  if (state_ == State::kHalfOpen && !trial_in_flight_) {
    trial_in_flight_ = true;
    return true;
  }
  return false;
}

void CircuitBreaker::Success() {
  std::lock_guard<std::mutex> l(mu_);
  state_ = State::kClosed;
  failures_ = 0;
  trial_in_flight_ = false;
}

void CircuitBreaker::Failure(int64_t now_ms) {
  std::lock_guard<std::mutex> l(mu_);
  trial_in_flight_ = false;
  if (state_ == State::kHalfOpen || ++failures_ >= threshold_) {
    state_ = State::kOpen;
    opened_at_ = now_ms;
    failures_ = 0;
    ++opened_count_;
  }
}

CircuitBreaker::State CircuitBreaker::state(int64_t now_ms) {
  std::lock_guard<std::mutex> l(mu_);
  if (state_ == State::kOpen && now_ms - opened_at_ >= open_ms_) return State::kHalfOpen;
  return state_;
}

uint64_t CircuitBreaker::opened_count() {
  std::lock_guard<std::mutex> l(mu_);
  return opened_count_;
}

int64_t CircuitBreaker::RetryAtMs() {
  std::lock_guard<std::mutex> l(mu_);
  return opened_at_ + open_ms_;
}

const char* BreakerStateName(CircuitBreaker::State s) {
  switch (s) {
    case CircuitBreaker::State::kClosed: return "closed";
    case CircuitBreaker::State::kOpen: return "open";
    case CircuitBreaker::State::kHalfOpen: return "half_open";
  }
  return "?";
}

TokenBucket::TokenBucket(double rate, double burst) : rate_(rate), burst_(std::max(1.0, burst)), tokens_(burst_) {
  last_ms_ = NowMs();
}

void TokenBucket::Refill(int64_t now_ms) {
  if (now_ms > last_ms_) {
    tokens_ = std::min(burst_, tokens_ + (now_ms - last_ms_) * rate_ / 1000.0);
    last_ms_ = now_ms;
  }
}

bool TokenBucket::TryAcquire(int64_t now_ms) {
  std::lock_guard<std::mutex> l(mu_);
  Refill(now_ms);
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return true;
  }
  return false;
}

int64_t TokenBucket::WaitMs(int64_t now_ms) {
  std::lock_guard<std::mutex> l(mu_);
  Refill(now_ms);
  if (tokens_ >= 1.0) return 0;
  return static_cast<int64_t>((1.0 - tokens_) * 1000.0 / rate_) + 1;
}

bool TokenBucket::Acquire(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    if (TryAcquire(NowMs())) return true;
    const int64_t w = std::clamp<int64_t>(WaitMs(NowMs()), 1, 100);
    std::this_thread::sleep_for(Ms(w));
  }
  return false;
}

bool SleepFor(int64_t ms, const std::atomic<bool>& stop) {
  const int64_t end = NowMs() + ms;
  while (!stop.load()) {
    const int64_t left = end - NowMs();
    if (left <= 0) return true;
    std::this_thread::sleep_for(Ms(std::min<int64_t>(left, 50)));
  }
  return false;
}

}  // namespace waypoint::sidecar
