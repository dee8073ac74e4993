// Verification of what the node sends, before it is written to Redis (docs/verification.md).
// Each flush of the stream and each backfill page goes through Check: the entries'
// messages are verified on a small thread pool (the caller works too), and an entry
// that fails becomes a "refused" entry carrying its payload untouched, the check that
// failed and why, so the extension records it as a dead letter instead of applying it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "waypoint/core/entry.hpp"
#include "waypoint/core/verify.hpp"

namespace waypoint::sidecar {

class Verifier {
 public:
  ~Verifier();
  // Configure sets the level, the network and the pool size (threads besides the
  // callers; 0 = verify on the calling thread only). Called before any Check (main does
  // it once at start; tests may change the level between runs). Until then: off.
  void Configure(const core::VerifyOptions& opts, unsigned threads);
  const core::VerifyOptions& options() const { return opts_; }

  // Check verifies every entry whose kind carries signed messages and turns the ones
  // that fail into refused entries (in place). Returns how many were refused.
  size_t Check(std::vector<core::StreamEntry*>& entries);

 private:
  void RunParallel(size_t n, const std::function<void(size_t)>& fn);
  void Loop();

  core::VerifyOptions opts_{core::VerifyLevel::kOff, FARCASTER_NETWORK_MAINNET};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

Verifier& GlobalVerifier();

}  // namespace waypoint::sidecar
