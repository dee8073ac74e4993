// Backfill mode (contract 8): consume jobs from <prefix>:backfill:jobs in consumer group
// "backfill" (own pending jobs first, then XAUTOCLAIM of dead consumers' jobs, then new
// ones). Per fid, write a fid_start entry to the fid's partition stream, page through
// every per-fid bulk method of the node and write each page as it arrives to that
// stream; then a fid_done entry with the outcome.
// A job is XACKed only when every fid of it has its fid_done written.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "config.hpp"
#include "waypoint/core/entry.hpp"
#include "node.hpp"
#include "redis.hpp"

namespace waypoint::sidecar {

struct Job {
  std::string entry_id;  // Redis stream id of the job entry
  std::string id;        // job id
  bool all_fids = false;
  std::vector<uint64_t> fids;
  std::set<std::string> types;  // empty: every store
  uint64_t max_fid = 0;         // with all_fids: only fids <= max_fid (0: no bound)
};

// ParseJob reads a job entry's fields; throws core::Error(kInvalid) naming the field.
Job ParseJob(const std::string& entry_id, const std::vector<std::pair<std::string, std::string>>& fields);
const std::vector<std::string>& StoreNames();

struct FidResult {
  bool ok = true;
  uint64_t messages = 0;
  std::string error;
};

// XADDs entries to one stream in one pipeline.
void WriteEntries(Redis& r, const std::string& stream, const std::vector<core::StreamEntry>& entries);
// Whether a job backfills channel state: a job of every fid whose types are empty or name
// "channel", or any job naming "channel" (channels are not per fid: one pass per job).
bool WantsChannels(const Job& job);

class BackfillWorker {
 public:
  BackfillWorker(const Config& cfg, Node* node, const std::atomic<bool>* stop);
  // Run consumes jobs until stop.
  void Run();
  // RunJob processes one job and XACKs it when every fid has its fid_done. Returns
  // false when interrupted (the job stays pending for a later run or another consumer).
  bool RunJob(Redis& r, const Job& job);
  // BackfillFid writes a fid_start entry, then every page of one fid; throws on a failed
  // node or Redis call. fids_total (the job's size) rides on fid_start for progress.
  uint64_t BackfillFid(Redis& r, uint64_t fid, const std::set<std::string>& types, const std::string& job_id,
                       uint64_t fids_total = 0);
  // BackfillChannels (sidecar/src/backfill_channels.cpp) reads the CHANNEL_REGISTER events
  // (GetOnChainEvents of fid 0) and writes them, then one channel_state entry per
  // registered channel (GetChannelMetadata, GetChannelPin, GetChannelMembers and
  // GetChannelModerations paged to the end) to fid 0's partition stream. Returns the
  // entries written; throws on a failed node or Redis call.
  uint64_t BackfillChannels(Redis& r, const std::string& job_id);

 private:
  std::vector<uint64_t> AllFids();
  // BackfillChannels with the fid attempts and backoff, then its outcome as the fid_done
  // of fid 0; false when interrupted.
  bool RunChannelPass(Redis& r, const Job& job);
  // Writes the fid_done entry of a fid (fid 0: the job's channel pass) to its partition
  // stream, retrying Redis until it lands; false when interrupted by shutdown.
  bool WriteFidDone(Redis& r, const Job& job, uint64_t fid, const FidResult& res);
  uint32_t NumShards();
  // WatchBacklog, called often from the job loop: every backlog_interval_ms, pauses the
  // page reads above the high watermark and resumes them below the low one (contract 5,
  // as the stream mode closes its subscriptions); every trim_interval_ms, trims what
  // every group has acknowledged. A sidecar run in backfill mode alone needs both, or
  // Redis keeps every entry of the sync.
  void WatchBacklog(Redis& r);
  // Waits while the backlog keeps the page reads paused.
  void WaitWhilePaused() const;
  // App keys (backfill_signers.cpp). ReadsSigners: whether the node serves
  // GetSignersByFid (asked once, with this fid). PageSigners pages it for the fid until
  // the token is unset and hands each page's off-chain Signers to `write`.
  using RawCall = std::function<bool(const std::string&, const google::protobuf::MessageLite&, std::string*)>;
  using PageWrite = std::function<void(std::vector<std::string>&)>;
  bool ReadsSigners(uint64_t fid);
  void PageSigners(uint64_t fid, const RawCall& call, const PageWrite& write);
  const Config& cfg_;
  Node* node_;
  const std::atomic<bool>* stop_;
  uint32_t num_shards_ = 0;
  // Long-lived connections of the fid workers, reused across jobs (the blocking job read
  // in Run keeps its own dedicated connection).
  RedisPool pool_;
  std::atomic<bool> paused_{false};
  std::atomic<int> signers_served_{-1};  // GetSignersByFid: -1 not asked yet, 0 no, 1 yes
  int64_t next_backlog_ = 0, next_trim_ = 0;
};

}  // namespace waypoint::sidecar
