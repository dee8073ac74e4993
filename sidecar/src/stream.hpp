// Stream mode. Per data shard, a reader thread holds one Subscribe call and only hands
// raw events to a bounded queue (it never waits on Redis: a node drops events for a
// subscriber that lags); a writer thread verifies each block against its
// BLOCK_CONFIRMED counts, repairs shortfalls with GetEvents, and writes batches with
// MULTI / XADD... / SET cursor / EXEC so the cursor only moves with the entries it covers.
// A supervisor thread runs the watchdog, backpressure (close subscriptions above the high
// watermark, resume below the low one) and trimming of acknowledged entries.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config.hpp"
#include "metrics.hpp"
#include "node.hpp"
#include "redis.hpp"
#include "waypoint/core/entry.hpp"
#include "waypoint/core/routing.hpp"

namespace waypoint::sidecar {

struct Item {
  std::string bytes;  // the node's HubEvent bytes, untouched
  EventInfo info;
};

// Bounded FIFO between the reader and the writer of one shard.
class EventQueue {
 public:
  explicit EventQueue(size_t capacity) : capacity_(capacity) {}
  bool TryPush(Item&& it);
  std::vector<Item> PopBatch(size_t max, int wait_ms);
  size_t size();
  size_t capacity() const { return capacity_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> q_;
  size_t capacity_;
};

// The node's event types the sidecar subscribes to (BLOCK_CONFIRMED drives gap detection).
const std::vector<int>& SubscribedTypes();

// ShardWriter holds the block-verification state of one shard and the batch not yet in
// Redis. Single-threaded (the writer thread); tests drive it directly.
class ShardWriter {
 public:
  ShardWriter(uint32_t shard, const Config& cfg, Node* node, Redis* redis, const std::atomic<bool>* hard_stop);
  // LoadCursor reads the durable cursor (nullopt: none). Throws core::Error on Redis trouble.
  std::optional<uint64_t> LoadCursor();
  // Add takes one event from the stream. May fetch from the node (repairs).
  void Add(const Item& it);
  // Tick repairs a block left short for repair_delay_ms without further events.
  void Tick(int64_t now_ms);
  bool Dirty() const { return !batch_.empty() || cursor_pending_ != cursor_durable_ || head_dirty_; }
  // Flush writes the batch and the cursor atomically; throws core::Error and keeps the
  // batch on failure.
  void Flush();
  std::optional<uint64_t> cursor() const { return cursor_durable_; }

 private:
  struct Pending {
    uint32_t partition;
    core::StreamEntry entry;
  };
  void Append(const std::string& bytes, const EventInfo& info, core::EntrySource src);
  void StartBlock(uint64_t b);
  bool Complete() const;
  void MarkDone(uint64_t block, uint64_t max_seq);
  // Repair fetches blocks [from, to] with GetEvents and appends the events not seen yet.
  void Repair(uint64_t from, uint64_t to);

  uint32_t shard_;
  const Config& cfg_;
  Node* node_;
  Redis* redis_;
  const std::atomic<bool>* hard_stop_;
  core::KeyLayout keys_;
  std::string shard_label_;

  std::vector<Pending> batch_;
  std::optional<uint64_t> cursor_durable_, cursor_pending_;
  std::optional<uint64_t> done_block_;  // last block fully handed over
  bool in_block_ = false;
  uint64_t cur_block_ = 0;
  bool confirmed_ = false;
  bool suspicious_ = false;  // an undecodable event arrived in this block
  std::map<int, uint64_t> expected_, received_;
  std::set<uint64_t> seen_;
  uint64_t max_seq_ = 0;
  int64_t last_add_ms_ = 0;
  uint64_t head_id_ = 0;
  bool head_dirty_ = false;
};

class ShardStream {
 public:
  ShardStream(uint32_t shard, const Config& cfg, Node* node, const std::atomic<bool>* stop,
              const std::atomic<bool>* hard_stop, const std::atomic<bool>* paused);
  ~ShardStream();
  void Start();
  void Join();
  // CheckWatchdog cancels the call when no event arrived for watchdog_ms.
  void CheckWatchdog(int64_t now_ms);
  void Cancel();  // close the current subscription (backpressure, shutdown)
  uint32_t shard() const { return shard_; }
  size_t queue_size() { return queue_.size(); }

 private:
  void ReaderLoop();
  void WriterLoop();

  uint32_t shard_;
  const Config& cfg_;
  Node* node_;
  const std::atomic<bool>* stop_;
  const std::atomic<bool>* hard_stop_;
  const std::atomic<bool>* paused_;
  EventQueue queue_;
  std::thread reader_, writer_;
  std::atomic<bool> reader_done_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  bool resume_known_ = false;
  bool has_from_ = false;
  uint64_t next_from_ = 0;
  std::shared_ptr<grpc::ClientContext> ctx_;
  int64_t last_event_ms_ = 0;
  bool watchdog_fired_ = false;
};

// StreamService: GetInfo, one ShardStream per data shard, and the supervisor.
class StreamService {
 public:
  StreamService(const Config& cfg, Node* node, const std::atomic<bool>* stop, const std::atomic<bool>* hard_stop);
  ~StreamService();
  // Start learns the shards (retrying GetInfo until it succeeds or stop) and starts them.
  bool Start();
  void Join();
  bool redis_ok() const { return redis_ok_; }

 private:
  void Supervise();
  const Config& cfg_;
  Node* node_;
  const std::atomic<bool>* stop_;
  const std::atomic<bool>* hard_stop_;
  // Paused until the first backlog check: never subscribe into an already full backlog.
  std::atomic<bool> paused_{true};
  bool first_check_ = true;
  std::atomic<bool> redis_ok_{false};
  std::vector<int> alert_levels_;  // last queue alert level per partition (logged on change)
  std::vector<std::unique_ptr<ShardStream>> shards_;
  std::thread supervisor_;
};

}  // namespace waypoint::sidecar
