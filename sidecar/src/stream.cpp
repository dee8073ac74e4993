#include "stream.hpp"

#include <grpcpp/impl/rpc_method.h>
#include <grpcpp/support/sync_stream.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "backlog.hpp"
#include "spam.hpp"
#include "verifier.hpp"
#include "waypoint/core/redis_policy.hpp"
#include "waypoint/core/errors.hpp"

namespace waypoint::sidecar {

using core::Error;
using core::ErrorClass;
using core::EventBlock;
using core::EventSeq;
using core::MakeEventId;

namespace {
constexpr int kBlockConfirmed = HUB_EVENT_TYPE_BLOCK_CONFIRMED;
constexpr uint32_t kEventsPageSize = 1000;

bool Subscribed(int type) {
  const auto& t = SubscribedTypes();
  return std::find(t.begin(), t.end(), type) != t.end();
}

// Age of the oldest entry delivered to the apply group but not acknowledged; -1 if none.
int64_t OldestPendingAgeMs(Redis& r, const std::string& stream) {
  Reply p = r.Command({"XPENDING", stream, core::KeyLayout::kApplyGroup});
  if (p->type != REDIS_REPLY_ARRAY || p->elements < 2 || p->element[1]->type != REDIS_REPLY_STRING) return -1;
  const std::string id(p->element[1]->str, p->element[1]->len);
  try {
    return std::max<int64_t>(0, WallMs() - static_cast<int64_t>(std::stoull(id.substr(0, id.find('-')))));
  } catch (...) {
    return -1;
  }
}
}  // namespace

const std::vector<int>& SubscribedTypes() {
  static const std::vector<int> t = {HUB_EVENT_TYPE_MERGE_MESSAGE,        HUB_EVENT_TYPE_PRUNE_MESSAGE,
                                     HUB_EVENT_TYPE_REVOKE_MESSAGE,       HUB_EVENT_TYPE_MERGE_USERNAME_PROOF,
                                     HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT, HUB_EVENT_TYPE_BLOCK_CONFIRMED};
  return t;
}

// ---------------------------------------------------------------- EventQueue

bool EventQueue::TryPush(Item&& it) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (q_.size() >= capacity_) return false;
    q_.push_back(std::move(it));
  }
  cv_.notify_one();
  return true;
}

std::vector<Item> EventQueue::PopBatch(size_t max, int wait_ms) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, Ms(wait_ms), [&] { return !q_.empty(); });
  std::vector<Item> out;
  while (!q_.empty() && out.size() < max) {
    out.push_back(std::move(q_.front()));
    q_.pop_front();
  }
  return out;
}

size_t EventQueue::size() {
  std::lock_guard<std::mutex> l(mu_);
  return q_.size();
}

// ---------------------------------------------------------------- ShardWriter

ShardWriter::ShardWriter(uint32_t shard, const Config& cfg, Node* node, Redis* redis,
                         const std::atomic<bool>* hard_stop)
    : shard_(shard), cfg_(cfg), node_(node), redis_(redis), hard_stop_(hard_stop) {
  keys_.prefix = cfg.key_prefix;
  shard_label_ = Label("shard", shard);
}

std::optional<uint64_t> ShardWriter::LoadCursor() {
  Reply r = redis_->Command({"GET", keys_.CursorKey(shard_)});
  Redis::Check(r, "GET cursor");
  if (r->type != REDIS_REPLY_STRING) return std::nullopt;
  try {
    const uint64_t v = std::stoull(std::string(r->str, r->len));
    cursor_durable_ = cursor_pending_ = v;
    done_block_ = EventBlock(v);
    return v;
  } catch (...) {
    throw Error(ErrorClass::kInvalid, "cursor key " + keys_.CursorKey(shard_) + " is not a decimal event id");
  }
}

void ShardWriter::Append(const std::string& bytes, const EventInfo& info, core::EntrySource src) {
  // Counted for the block check already; only the write is skipped.
  if (info.fid != 0 && SpamFiltered(info.fid, core::EntrySourceName(src))) return;
  Pending p;
  p.partition = core::PartitionOf(info.fid, cfg_.partitions);
  p.entry.kind = core::EntryKind::kHubEvent;
  p.entry.shard = shard_;
  p.entry.event_id = info.id;
  p.entry.fid = info.fid;
  p.entry.source = src;
  p.entry.payload = bytes;
  batch_.push_back(std::move(p));
  GlobalMetrics().Add("waypoint_sidecar_events_written_total",
                      shard_label_ + "," + Label("src", core::EntrySourceName(src)));
}

void ShardWriter::StartBlock(uint64_t b) {
  in_block_ = true;
  cur_block_ = b;
  confirmed_ = false;
  suspicious_ = false;
  expected_.clear();
  received_.clear();
  seen_.clear();
  max_seq_ = 0;
}

bool ShardWriter::Complete() const {
  for (const auto& [t, n] : expected_) {
    auto it = received_.find(t);
    if ((it == received_.end() ? 0 : it->second) < n) return false;
  }
  return true;
}

void ShardWriter::MarkDone(uint64_t block, uint64_t max_seq) {
  done_block_ = block;
  cursor_pending_ = MakeEventId(block, max_seq);
  in_block_ = false;
  seen_.clear();
  GlobalMetrics().Add("waypoint_sidecar_blocks_total", shard_label_);
}

void ShardWriter::Repair(uint64_t from, uint64_t to) {
  GlobalMetrics().Add("waypoint_sidecar_repair_fetches_total", shard_label_);
  std::string token;
  Backoff bo(cfg_.backoff_base_ms, cfg_.backoff_max_ms);
  uint64_t repaired = 0;
  while (true) {
    EventsRequest req;
    req.set_start_id(MakeEventId(from, 0));
    req.set_stop_id(MakeEventId(to + 1, 0));
    req.set_shard_index(shard_);
    req.set_page_size(kEventsPageSize);
    if (!token.empty()) req.set_page_token(token);
    std::string raw;
    grpc::Status s = node_->CallRaw("GetEvents", req, &raw);
    if (!s.ok()) {
      GlobalMetrics().Add("waypoint_sidecar_node_errors_total", Label("method", "GetEvents"));
      spdlog::warn("shard {}: GetEvents for blocks {}..{} failed: {} (retrying)", shard_, from, to, s.error_message());
      if (!SleepFor(bo.Next(), *hard_stop_)) throw Error(ErrorClass::kTransient, "repair interrupted by shutdown");
      continue;
    }
    std::vector<std::string> events;
    std::string next;
    if (!RepeatedBytes(raw, 1, &events, &next, 2)) throw Error(ErrorClass::kDecode, "undecodable GetEvents response");
    for (auto& bytes : events) {
      EventInfo info = InspectEvent(bytes);
      if (!info.decoded) {
        GlobalMetrics().Add("waypoint_sidecar_undecodable_total", shard_label_);
        continue;
      }
      const uint64_t b = EventBlock(info.id), seq = EventSeq(info.id);
      if (b < from || b > to) continue;
      if (in_block_ && b == cur_block_) {
        if (!seen_.insert(seq).second) continue;
        max_seq_ = std::max(max_seq_, seq);
        if (info.type == kBlockConfirmed) {
          confirmed_ = true;
          for (const auto& [t, n] : info.counts)
            if (t != kBlockConfirmed && Subscribed(t)) expected_[t] = n;
          continue;
        }
        if (!Subscribed(info.type)) continue;
        received_[info.type]++;
      } else if (info.type == kBlockConfirmed || !Subscribed(info.type)) {
        continue;
      }
      Append(bytes, info, core::EntrySource::kRepair);
      ++repaired;
    }
    if (next.empty()) break;
    token = next;
  }
  if (repaired) {
    GlobalMetrics().Add("waypoint_sidecar_repaired_events_total", shard_label_, static_cast<double>(repaired));
    spdlog::info("shard {}: repaired {} missing event(s) in blocks {}..{}", shard_, repaired, from, to);
  }
}

void ShardWriter::Add(const Item& it) {
  const EventInfo& info = it.info;
  if (!info.decoded) {
    // Never written blindly: the block's count check will fetch the real event.
    GlobalMetrics().Add("waypoint_sidecar_undecodable_total", shard_label_);
    spdlog::warn("shard {}: undecodable event ({} bytes) from the stream; will repair from GetEvents", shard_,
                 it.bytes.size());
    if (in_block_) suspicious_ = true;
    return;
  }
  last_add_ms_ = NowMs();
  if (info.id > head_id_) {
    head_id_ = info.id;
    head_dirty_ = true;
  }
  const uint64_t b = EventBlock(info.id), seq = EventSeq(info.id);
  if ((done_block_ && b <= *done_block_) || (in_block_ && b < cur_block_)) {
    GlobalMetrics().Add("waypoint_sidecar_duplicates_dropped_total", shard_label_);
    return;
  }
  if (in_block_ && b > cur_block_) {
    // The block ended: anything it still lacks is fetched now, before the cursor passes it.
    if (!confirmed_ || suspicious_ || !Complete()) Repair(cur_block_, cur_block_);
    MarkDone(cur_block_, max_seq_);
  }
  if (!in_block_) {
    if (done_block_ && b > *done_block_ + 1) {
      // Whole blocks never arrived (lagging subscriber, replay/live handoff).
      spdlog::warn("shard {}: blocks {}..{} missing from the stream; repairing", shard_, *done_block_ + 1, b - 1);
      in_block_ = false;
      Repair(*done_block_ + 1, b - 1);
      MarkDone(b - 1, 0);
    }
    StartBlock(b);
  }
  if (!seen_.insert(seq).second) {
    GlobalMetrics().Add("waypoint_sidecar_duplicates_dropped_total", shard_label_);
    return;
  }
  max_seq_ = std::max(max_seq_, seq);
  if (info.type == kBlockConfirmed) {
    confirmed_ = true;
    for (const auto& [t, n] : info.counts)
      if (t != kBlockConfirmed && Subscribed(t)) expected_[t] = n;
    max_seq_ = std::max(max_seq_, info.max_seq);
  } else {
    received_[info.type]++;
    Append(it.bytes, info, core::EntrySource::kLive);
  }
  if (confirmed_ && !suspicious_ && Complete()) MarkDone(cur_block_, max_seq_);
}

void ShardWriter::Tick(int64_t now_ms) {
  if (!in_block_ || now_ms - last_add_ms_ < cfg_.repair_delay_ms) return;
  if (confirmed_ && !suspicious_ && Complete()) return;
  // A block's events are emitted together; a block still short after the delay lost some.
  Repair(cur_block_, cur_block_);
  if (!Complete()) GlobalMetrics().Add("waypoint_sidecar_blocks_short_after_repair_total", shard_label_);
  MarkDone(cur_block_, max_seq_);
}

void ShardWriter::Flush() {
  if (!Dirty()) return;
  {
    // Verified here, a batch at a time, so the pool works on many events at once. A
    // retried flush checks again; refused entries are not events any more and are skipped.
    std::vector<core::StreamEntry*> events;
    events.reserve(batch_.size());
    for (auto& p : batch_) events.push_back(&p.entry);
    GlobalVerifier().Check(events);
  }
  std::vector<std::vector<std::string>> cmds;
  cmds.reserve(batch_.size() + 4);
  cmds.push_back({"MULTI"});
  const int64_t now = WallMs();
  for (auto& p : batch_) {
    p.entry.written_at_ms = now;
    std::vector<std::string> argv = {"XADD", keys_.PartitionStream(p.partition), "*"};
    for (auto& [k, v] : core::EncodeEntry(p.entry)) {
      argv.push_back(k);
      argv.push_back(v);
    }
    cmds.push_back(std::move(argv));
  }
  const bool cursor_moves = cursor_pending_ != cursor_durable_;
  if (cursor_moves) cmds.push_back({"SET", keys_.CursorKey(shard_), std::to_string(*cursor_pending_)});
  if (head_dirty_)
    cmds.push_back({"HSET", keys_.NodeHeadKey(shard_), "block", std::to_string(EventBlock(head_id_)), "event_id",
                    std::to_string(head_id_), "ts", std::to_string(now)});
  cmds.push_back({"EXEC"});
  auto replies = redis_->Pipeline(cmds);
  const Reply& exec = replies.back();
  if (exec->type != REDIS_REPLY_ARRAY) {
    // EXECABORT (a command refused while queueing, e.g. OOM) or nil: nothing was applied.
    std::string why = exec->type == REDIS_REPLY_ERROR ? std::string(exec->str, exec->len) : "transaction aborted";
    for (size_t i = 1; i + 1 < replies.size(); ++i)
      if (replies[i]->type == REDIS_REPLY_ERROR) why += "; " + std::string(replies[i]->str, replies[i]->len);
    GlobalMetrics().Add("waypoint_sidecar_flush_errors_total", shard_label_);
    throw Error(ErrorClass::kTransient, "flush of shard " + std::to_string(shard_) + " failed: " + why);
  }
  for (size_t i = 0; i < exec->elements; ++i) {
    if (exec->element[i]->type == REDIS_REPLY_ERROR) {
      // Redis does not roll back runtime errors inside EXEC: put the cursor back so it
      // never claims entries that are not there, and retry the whole batch.
      const std::string why(exec->element[i]->str, exec->element[i]->len);
      if (cursor_moves) {
        Reply undo = cursor_durable_
                         ? redis_->Command({"SET", keys_.CursorKey(shard_), std::to_string(*cursor_durable_)})
                         : redis_->Command({"DEL", keys_.CursorKey(shard_)});
        Redis::Check(undo, "cursor restore");
      }
      GlobalMetrics().Add("waypoint_sidecar_flush_errors_total", shard_label_);
      throw Error(ErrorClass::kTransient, "flush of shard " + std::to_string(shard_) + " partly failed: " + why);
    }
  }
  GlobalMetrics().Add("waypoint_sidecar_flushes_total", shard_label_);
  batch_.clear();
  cursor_durable_ = cursor_pending_;
  head_dirty_ = false;
  if (cursor_durable_) GlobalMetrics().Set("waypoint_sidecar_cursor_event_id", shard_label_, *cursor_durable_);
  GlobalMetrics().Set("waypoint_sidecar_node_head_event_id", shard_label_, head_id_);
}

// ---------------------------------------------------------------- ShardStream

ShardStream::ShardStream(uint32_t shard, const Config& cfg, Node* node, const std::atomic<bool>* stop,
                         const std::atomic<bool>* hard_stop, const std::atomic<bool>* paused)
    : shard_(shard),
      cfg_(cfg),
      node_(node),
      stop_(stop),
      hard_stop_(hard_stop),
      paused_(paused),
      queue_(cfg.queue_capacity) {}

ShardStream::~ShardStream() { Join(); }

void ShardStream::Start() {
  writer_ = std::thread([this] { WriterLoop(); });
  reader_ = std::thread([this] { ReaderLoop(); });
}

void ShardStream::Join() {
  if (reader_.joinable()) reader_.join();
  if (writer_.joinable()) writer_.join();
}

void ShardStream::Cancel() {
  std::lock_guard<std::mutex> l(mu_);
  if (ctx_) ctx_->TryCancel();
}

void ShardStream::CheckWatchdog(int64_t now_ms) {
  std::lock_guard<std::mutex> l(mu_);
  if (ctx_ && !watchdog_fired_ && now_ms - last_event_ms_ > cfg_.watchdog_ms) {
    watchdog_fired_ = true;
    ctx_->TryCancel();
  }
}

void ShardStream::ReaderLoop() {
  const std::string label = Label("shard", shard_);
  {
    std::unique_lock<std::mutex> l(mu_);
    while (!resume_known_ && !stop_->load()) cv_.wait_for(l, Ms(100));
  }
  Backoff bo(cfg_.backoff_base_ms, cfg_.backoff_max_ms);
  const grpc::internal::RpcMethod method("/HubService/Subscribe", grpc::internal::RpcMethod::SERVER_STREAMING);
  bool overflow = false;
  while (!stop_->load()) {
    if (overflow) {
      // Resume only once the writer has drained half the queue.
      if (queue_.size() > queue_.capacity() / 2) {
        std::this_thread::sleep_for(Ms(20));
        continue;
      }
      overflow = false;
    }
    if (paused_->load()) {
      std::this_thread::sleep_for(Ms(100));
      continue;
    }
    if (!node_->breaker().Allow(NowMs())) {
      node_->PublishBreaker();
      std::this_thread::sleep_for(Ms(100));
      continue;
    }
    node_->PublishBreaker();
    SubscribeRequest req;
    for (int t : SubscribedTypes()) req.add_event_types(static_cast<HubEventType>(t));
    req.set_shard_index(shard_);
    auto ctx = std::make_shared<grpc::ClientContext>();
    node_->PrepareContext(ctx.get(), false);
    {
      std::lock_guard<std::mutex> l(mu_);
      if (has_from_) req.set_from_id(next_from_);
      ctx_ = ctx;
      last_event_ms_ = NowMs();
      watchdog_fired_ = false;
    }
    spdlog::info("shard {}: subscribing{}", shard_,
                 req.has_from_id() ? " from event " + std::to_string(req.from_id()) : " (live only)");
    GlobalMetrics().Set("waypoint_sidecar_subscribed", label, 1);
    std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
        grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(node_->channel().get(), method, ctx.get(), req));
    grpc::ByteBuffer buf;
    uint64_t got = 0;
    while (reader->Read(&buf)) {
      Item it;
      it.bytes = ByteBufferToString(buf);
      it.info = InspectEvent(it.bytes);
      const bool decoded = it.info.decoded;
      const uint64_t id = it.info.id;
      {
        std::lock_guard<std::mutex> l(mu_);
        last_event_ms_ = NowMs();
      }
      if (++got == 1) {
        // The node answers again: close a half-open breaker now, not when this
        // (long-lived) subscription ends.
        node_->breaker().Success();
        node_->PublishBreaker();
      }
      if (!queue_.TryPush(std::move(it))) {
        // Never stall a live read: close the call and resume from this point later.
        overflow = true;
        GlobalMetrics().Add("waypoint_sidecar_queue_full_total", label);
        ctx->TryCancel();
        break;
      }
      if (decoded) {
        std::lock_guard<std::mutex> l(mu_);
        next_from_ = id + 1;
        has_from_ = true;
      }
    }
    grpc::Status status = reader->Finish();
    bool watchdog;
    {
      std::lock_guard<std::mutex> l(mu_);
      ctx_.reset();
      watchdog = watchdog_fired_;
    }
    GlobalMetrics().Set("waypoint_sidecar_subscribed", label, 0);
    GlobalMetrics().Add("waypoint_sidecar_events_received_total", label, static_cast<double>(got));
    const char* reason = stop_->load()     ? "shutdown"
                         : overflow        ? "queue_full"
                         : paused_->load() ? "backpressure"
                         : watchdog        ? "watchdog"
                         : status.ok()     ? "stream_end"
                                           : "error";
    GlobalMetrics().Add("waypoint_sidecar_subscription_ends_total", label + "," + Label("reason", reason));
    const bool fault =
        std::string(reason) == "watchdog" || std::string(reason) == "stream_end" || std::string(reason) == "error";
    if (fault) {
      spdlog::warn("shard {}: subscription ended ({}): {} after {} events", shard_, reason,
                   status.ok() ? "ok" : status.error_message(), got);
    } else {
      spdlog::info("shard {}: subscription closed ({}) after {} events", shard_, reason, got);
    }
    if (got > 0 || !fault) {
      node_->breaker().Success();
      if (got > 0) bo.Reset();
    } else {
      node_->breaker().Failure(NowMs());
      GlobalMetrics().Add("waypoint_sidecar_errors_total",
                          Label("dependency", "node") + "," + Label("class", "transient"));
    }
    node_->PublishBreaker();
    if (fault && !stop_->load()) SleepFor(bo.Next(), *stop_);
  }
  reader_done_ = true;
}

void ShardStream::WriterLoop() {
  const std::string label = Label("shard", shard_);
  Redis redis(ParseRedisUrl(cfg_.redis_url), cfg_.redis_timeout_ms);  // the shard writer's own connection
  ShardWriter w(shard_, cfg_, node_, &redis, hard_stop_);
  Backoff bo(cfg_.backoff_base_ms, cfg_.backoff_max_ms);
  while (!stop_->load()) {
    try {
      auto cursor = w.LoadCursor();
      std::lock_guard<std::mutex> l(mu_);
      if (cursor) {
        // Resume at the block after the last complete one: a restart never skips half a block.
        next_from_ = MakeEventId(EventBlock(*cursor) + 1, 0);
        has_from_ = true;
      } else if (cfg_.start_from_earliest) {
        next_from_ = 0;
        has_from_ = true;
      }
      resume_known_ = true;
      spdlog::info("shard {}: cursor {}", shard_, cursor ? std::to_string(*cursor) : "none");
      break;
    } catch (const Error& e) {
      spdlog::warn("shard {}: reading the cursor: {}", shard_, e.what());
      SleepFor(bo.Next(), *stop_);
    }
  }
  cv_.notify_all();
  bo.Reset();
  bool logged_down = false;
  while (!hard_stop_->load()) {
    auto batch = queue_.PopBatch(cfg_.batch_size, 100);
    GlobalMetrics().Set("waypoint_sidecar_queue_depth", label, static_cast<double>(queue_.size()));
    try {
      for (auto& it : batch) w.Add(it);
      w.Tick(NowMs());
    } catch (const Error& e) {
      spdlog::error("shard {}: {}", shard_, e.what());
      if (hard_stop_->load()) break;
    }
    while (w.Dirty() && !hard_stop_->load()) {
      try {
        w.Flush();
        if (logged_down) spdlog::info("shard {}: Redis writes recovered", shard_);
        logged_down = false;
        bo.Reset();
        break;
      } catch (const Error& e) {
        if (!logged_down) spdlog::error("shard {}: {} (retrying with backoff)", shard_, e.what());
        logged_down = true;
        SleepFor(bo.Next(), *hard_stop_);
      }
    }
    if (reader_done_.load() && queue_.size() == 0 && !w.Dirty()) break;
  }
  if (w.Dirty())
    spdlog::warn("shard {}: exiting with unflushed events (they will be replayed from the cursor)", shard_);
}

// ---------------------------------------------------------------- StreamService

StreamService::StreamService(const Config& cfg, Node* node, const std::atomic<bool>* stop,
                             const std::atomic<bool>* hard_stop)
    : cfg_(cfg), node_(node), stop_(stop), hard_stop_(hard_stop) {}

StreamService::~StreamService() { Join(); }

bool StreamService::Start() {
  std::vector<uint32_t> shards = cfg_.shards;
  if (shards.empty()) {
    Backoff bo(cfg_.backoff_base_ms, cfg_.backoff_max_ms);
    while (!stop_->load()) {
      GetInfoResponse info;
      auto s = node_->GetInfo(&info, stop_);
      if (s.ok()) {
        for (uint32_t i = 1; i <= info.num_shards(); ++i) shards.push_back(i);
        spdlog::info("node {} (version {}): {} data shard(s)", cfg_.node_addr, info.version(), info.num_shards());
        break;
      }
      spdlog::warn("GetInfo from {} failed: {} (retrying)", cfg_.node_addr, s.error_message());
      SleepFor(bo.Next(), *stop_);
    }
  }
  if (stop_->load()) return false;
  for (uint32_t s : shards) {
    shards_.push_back(std::make_unique<ShardStream>(s, cfg_, node_, stop_, hard_stop_, &paused_));
    shards_.back()->Start();
  }
  supervisor_ = std::thread([this] { Supervise(); });
  return true;
}

void StreamService::Join() {
  for (auto& s : shards_) s->Join();
  if (supervisor_.joinable()) supervisor_.join();
}

void StreamService::Supervise() {
  Redis redis(ParseRedisUrl(cfg_.redis_url), cfg_.redis_timeout_ms);
  core::KeyLayout keys;
  keys.prefix = cfg_.key_prefix;
  int64_t next_backlog = 0, next_trim = NowMs() + cfg_.trim_interval_ms;
  bool cancelled_for_shutdown = false;
  while (true) {
    const int64_t now = NowMs();
    if (stop_->load()) {
      if (!cancelled_for_shutdown)
        for (auto& s : shards_) s->Cancel();
      cancelled_for_shutdown = true;
      bool all_done = true;
      for (auto& s : shards_) all_done = all_done && s->queue_size() == 0;
      if (hard_stop_->load() || all_done) break;
    }
    for (auto& s : shards_) s->CheckWatchdog(now);
    try {
      if (now >= next_backlog) {
        next_backlog = now + cfg_.backlog_interval_ms;
        uint64_t backlog = 0;
        int worst_level = 0;
        int64_t worst_age = -1;
        for (uint32_t p = 0; p < cfg_.partitions; ++p) {
          const std::string key = keys.PartitionStream(p);
          const uint64_t b = StreamBacklog(redis, key);
          backlog += b;
          const int64_t age = OldestPendingAgeMs(redis, key);
          worst_age = std::max(worst_age, age);
          const int level =
              core::QueueAlertLevel(static_cast<int64_t>(b), age, cfg_.alert_backlog_warning,
                                    cfg_.alert_backlog_critical, cfg_.alert_age_warning_ms, cfg_.alert_age_critical_ms);
          worst_level = std::max(worst_level, level);
          const std::string label = Label("partition", p);
          GlobalMetrics().Set("waypoint_sidecar_queue_alert_level", label, level);
          GlobalMetrics().Set("waypoint_sidecar_oldest_pending_age_seconds", label, age < 0 ? 0 : age / 1000.0);
          if (alert_levels_.size() < cfg_.partitions) alert_levels_.resize(cfg_.partitions, 0);
          if (level != alert_levels_[p]) {
            // Logged once per crossing, in either direction.
            const std::string msg = fmt::format(
                "queue alert {} -> {} on {}: backlog {} (warning {}, critical {}), "
                "oldest pending {} ms (warning {}, critical {})",
                core::QueueAlertName(alert_levels_[p]), core::QueueAlertName(level), key, b, cfg_.alert_backlog_warning,
                cfg_.alert_backlog_critical, age, cfg_.alert_age_warning_ms, cfg_.alert_age_critical_ms);
            if (level > alert_levels_[p])
              spdlog::warn("{}", msg);
            else
              spdlog::info("{}", msg);
            GlobalMetrics().Add("waypoint_sidecar_queue_alert_transitions_total",
                                Label("to", core::QueueAlertName(level)));
            alert_levels_[p] = level;
          }
        }
        GlobalMetrics().Set("waypoint_sidecar_queue_alert_level", "", worst_level);
        GlobalMetrics().Set("waypoint_sidecar_oldest_pending_age_seconds", "", worst_age < 0 ? 0 : worst_age / 1000.0);
        redis_ok_ = true;
        GlobalMetrics().Set("waypoint_sidecar_backlog_entries", "", static_cast<double>(backlog));
        if (first_check_) {
          first_check_ = false;
          paused_ = backlog > cfg_.high_watermark;
          if (paused_)
            spdlog::warn("backlog {} above the high watermark {}: waiting before subscribing", backlog,
                         cfg_.high_watermark);
        } else if (!paused_ && backlog > cfg_.high_watermark) {
          spdlog::warn("backlog {} above the high watermark {}: closing subscriptions", backlog, cfg_.high_watermark);
          paused_ = true;
          for (auto& s : shards_) s->Cancel();
        } else if (paused_ && backlog < cfg_.low_watermark) {
          spdlog::info("backlog {} below the low watermark {}: resubscribing", backlog, cfg_.low_watermark);
          paused_ = false;
        }
        GlobalMetrics().Set("waypoint_sidecar_paused", "", paused_ ? 1 : 0);
      }
      if (now >= next_trim) {
        next_trim = now + cfg_.trim_interval_ms;
        TrimAllAcknowledged(redis, keys, cfg_.partitions);
      }
    } catch (const Error& e) {
      if (redis_ok_) spdlog::warn("supervisor: {}", e.what());
      redis_ok_ = false;
    }
    std::this_thread::sleep_for(Ms(100));
  }
}

}  // namespace waypoint::sidecar
