// Optional spam-label filter (off by default). Reads a local file in the Farcaster
// label JSONL format, one label per line:
//   {"provider":9152,"type":{"target":"fid","fid":123},"label_type":"spam","label_value":0,"timestamp":1715000000}
// label_value 0 = likely spammy, 1 = might be, 2 = unlikely. A fid is filtered when its
// newest spam label (highest timestamp; later lines win ties) has label_value 0. The
// sidecar then writes nothing of that fid to Redis (stream, repair and backfill alike),
// counted in waypoint_sidecar_spam_filtered_total.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <unordered_set>

namespace waypoint::sidecar {

struct SpamLoadStats {
  uint64_t lines = 0, labels = 0, skipped = 0, spam_fids = 0;
};

class SpamFilter {
 public:
  // Load replaces the filter with the labels read from `in`; malformed lines and
  // labels of other types/targets are skipped (counted in stats).
  SpamLoadStats Load(std::istream& in);
  // LoadFile throws core::Error(kConfig) when the file cannot be read.
  SpamLoadStats LoadFile(const std::string& path);
  bool active() const { return active_; }
  bool IsSpam(uint64_t fid) const { return active_ && spam_.count(fid) > 0; }
  size_t size() const { return spam_.size(); }

 private:
  bool active_ = false;
  std::unordered_set<uint64_t> spam_;
};

// The process-wide filter (loaded once by main before any worker starts; read-only after).
SpamFilter& GlobalSpamFilter();
// Filtered reports whether entries of `fid` must be dropped, and counts the drop.
bool SpamFiltered(uint64_t fid, const char* src, uint64_t n = 1);

}  // namespace waypoint::sidecar
