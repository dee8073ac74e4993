#include "verifier.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>

#include "metrics.hpp"

namespace waypoint::sidecar {

namespace {
// Entries per task: large enough that queueing costs nothing next to ~100 us of Ed25519.
constexpr size_t kChunk = 16;
}  // namespace

Verifier::~Verifier() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void Verifier::Configure(const core::VerifyOptions& opts, unsigned threads) {
  opts_ = opts;
  while (threads_.size() < threads) threads_.emplace_back([this] { Loop(); });
}

void Verifier::Loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping and drained
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

void Verifier::RunParallel(size_t n, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < n;) fn(i);
  };
  const size_t helpers = std::min(threads_.size(), (n + kChunk - 1) / kChunk - (n > 0 ? 1 : 0));
  std::mutex done_mu;
  std::condition_variable done_cv;
  size_t running = helpers;
  if (helpers > 0) {
    {
      std::lock_guard<std::mutex> l(mu_);
      for (size_t h = 0; h < helpers; ++h)
        tasks_.emplace_back([&] {
          work();
          std::lock_guard<std::mutex> dl(done_mu);
          if (--running == 0) done_cv.notify_one();
        });
    }
    cv_.notify_all();
  }
  work();
  // Every helper task references this frame: wait for all of them, even those that
  // started after the caller ran out of work.
  std::unique_lock<std::mutex> dl(done_mu);
  done_cv.wait(dl, [&] { return running == 0; });
}

size_t Verifier::Check(std::vector<core::StreamEntry*>& entries) {
  if (opts_.level == core::VerifyLevel::kOff || entries.empty()) return 0;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::optional<core::Refusal>> verdicts(entries.size());
  RunParallel(entries.size(),
              [&](size_t i) { verdicts[i] = core::VerifyPayload(entries[i]->kind, entries[i]->payload, opts_); });
  size_t refused = 0;
  const std::string level = Label("level", core::VerifyLevelName(opts_.level));
  const bool full = opts_.level == core::VerifyLevel::kFull;
  for (size_t i = 0; i < entries.size(); ++i) {
    core::StreamEntry& e = *entries[i];
    if (!verdicts[i]) {
      // Level full: the extension checks the signer against the mirror's keys.
      // (On-chain events too: their key removals revoke what the key signed afterwards.)
      if (full && (e.kind == core::EntryKind::kHubEvent || e.kind == core::EntryKind::kMessage ||
                   e.kind == core::EntryKind::kOnChainEvent))
        e.check_signer = true;
      continue;
    }
    const char* check = core::VerifyStatusName(verdicts[i]->status);
    spdlog::warn("refused {} of fid {} (shard {}, event id {}, {}): {}: {}", core::EntryKindName(e.kind), e.fid,
                 e.shard, e.event_id, core::EntrySourceName(e.source), check, verdicts[i]->reason);
    e.refused_kind = e.kind;
    e.kind = core::EntryKind::kRefused;
    e.refused_check = check;
    e.refused_reason = std::move(verdicts[i]->reason);
    e.refused_hash = std::move(verdicts[i]->hash);
    GlobalMetrics().Add("waypoint_sidecar_refused_total",
                        Label("check", check) + "," + Label("src", core::EntrySourceName(e.source)));
    ++refused;
  }
  GlobalMetrics().Add("waypoint_sidecar_verified_total", level, static_cast<double>(entries.size()));
  GlobalMetrics().Add("waypoint_sidecar_verify_seconds_total", level,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return refused;
}

Verifier& GlobalVerifier() {
  static Verifier v;
  return v;
}

}  // namespace waypoint::sidecar
