#include "backfill.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <mutex>
#include <sstream>
#include <thread>

#include "backlog.hpp"
#include "metrics.hpp"
#include "spam.hpp"
#include "verifier.hpp"
#include "waypoint/core/decode.hpp"
#include "waypoint/core/entry.hpp"
#include "waypoint/core/errors.hpp"
#include "waypoint/core/routing.hpp"

namespace waypoint::sidecar {

using core::Error;
using core::ErrorClass;

namespace {

// Entry payloads are JSON the extension parses (core ParseFidStart / ParseFidDone). Keys
// keep their order ({"status":...,"messages":...}); bytes that are not UTF-8 (a node's
// error text can hold any) become U+FFFD rather than making the payload unparseable.
std::string Payload(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string Str(const redisReply* r) {
  if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return "";
  return std::string(r->str, r->len);
}

// First entry of a stream-entries array ([[id, [f, v, ...]], ...]); false when none.
bool FirstEntry(const redisReply* entries, std::string* id, std::vector<std::pair<std::string, std::string>>* fields) {
  if (!entries || entries->type != REDIS_REPLY_ARRAY) return false;
  for (size_t i = 0; i < entries->elements; ++i) {
    const redisReply* e = entries->element[i];
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2) continue;
    *id = Str(e->element[0]);
    fields->clear();
    const redisReply* f = e->element[1];
    if (f->type != REDIS_REPLY_ARRAY) {
      // A deleted entry still in the PEL: report it without fields so it gets acked.
      return true;
    }
    for (size_t j = 0; j + 1 < f->elements; j += 2) fields->emplace_back(Str(f->element[j]), Str(f->element[j + 1]));
    return true;
  }
  return false;
}

}  // namespace

void WriteEntries(Redis& r, const std::string& stream, const std::vector<core::StreamEntry>& entries) {
  if (entries.empty()) return;
  std::vector<std::vector<std::string>> cmds;
  for (const auto& e : entries) {
    std::vector<std::string> argv = {"XADD", stream, "*"};
    for (auto& [k, v] : core::EncodeEntry(e)) {
      argv.push_back(k);
      argv.push_back(v);
    }
    cmds.push_back(std::move(argv));
  }
  for (auto& rep : r.Pipeline(cmds)) Redis::Check(rep, "XADD " + stream);
}

const std::vector<std::string>& StoreNames() {
  static const std::vector<std::string> n = {"cast",         "reaction",  "link",           "link_compact_state",
                                             "verification", "user_data", "username_proof", "lend_storage",
                                             "onchain",      "fname",     "app_key",        "channel"};
  return n;
}

Job ParseJob(const std::string& entry_id, const std::vector<std::pair<std::string, std::string>>& fields) {
  Job j;
  j.entry_id = entry_id;
  bool seen_fids = false;
  std::string version;
  for (const auto& [k, v] : fields) {
    if (k == "v") {
      version = v;
    } else if (k == "job") {
      j.id = v;
    } else if (k == "fids") {
      seen_fids = true;
      if (v == "all") {
        j.all_fids = true;
        continue;
      }
      std::stringstream ss(v);
      std::string item;
      while (std::getline(ss, item, ',')) {
        uint64_t fid = 0;
        auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), fid);
        if (item.empty() || ec != std::errc() || p != item.data() + item.size() || fid == 0)
          throw Error(ErrorClass::kInvalid, "job field 'fids': '" + item + "' is not a fid");
        j.fids.push_back(fid);
      }
    } else if (k == "max_fid") {
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), j.max_fid);
      if (v.empty() || ec != std::errc() || p != v.data() + v.size() || j.max_fid == 0)
        throw Error(ErrorClass::kInvalid, "job field 'max_fid': '" + v + "' is not a fid");
    } else if (k == "types") {
      std::stringstream ss(v);
      std::string item;
      while (std::getline(ss, item, ',')) {
        if (item.empty()) continue;
        const auto& names = StoreNames();
        if (std::find(names.begin(), names.end(), item) == names.end())
          throw Error(ErrorClass::kInvalid, "job field 'types': unknown store '" + item + "'");
        j.types.insert(item);
      }
    }
  }
  if (version != "1") throw Error(ErrorClass::kInvalid, "job field 'v': version '" + version + "' is not supported");
  if (j.id.empty()) throw Error(ErrorClass::kInvalid, "job field 'job': missing job id");
  if (!seen_fids || (!j.all_fids && j.fids.empty())) throw Error(ErrorClass::kInvalid, "job field 'fids': no fids");
  return j;
}

BackfillWorker::BackfillWorker(const Config& cfg, Node* node, const std::atomic<bool>* stop)
    : cfg_(cfg),
      node_(node),
      stop_(stop),
      pool_("backfill", ParseRedisUrl(cfg.redis_url),
            std::max<size_t>(cfg.redis_pool_size, static_cast<size_t>(cfg.backfill_concurrency)), cfg.redis_timeout_ms,
            cfg.redis_pool_wait_ms) {}

uint32_t BackfillWorker::NumShards() {
  Backoff bo(cfg_.backoff_base_ms, cfg_.backoff_max_ms);
  while (num_shards_ == 0 && !stop_->load()) {
    GetInfoResponse info;
    auto s = node_->GetInfo(&info, stop_);
    if (s.ok()) {
      num_shards_ = info.num_shards();
      break;
    }
    spdlog::warn("backfill: GetInfo failed: {} (retrying)", s.error_message());
    SleepFor(bo.Next(), *stop_);
  }
  return num_shards_;
}

std::vector<uint64_t> BackfillWorker::AllFids() {
  std::vector<uint64_t> fids;
  const uint32_t n = NumShards();
  for (uint32_t shard = 1; shard <= n && !stop_->load(); ++shard) {
    std::string token;
    Backoff bo(cfg_.backoff_base_ms, cfg_.backoff_max_ms);
    while (!stop_->load()) {
      FidsRequest req;
      req.set_shard_id(shard);
      req.set_page_size(cfg_.page_size);
      if (!token.empty()) req.set_page_token(token);
      std::string raw;
      auto s = node_->CallRaw("GetFids", req, &raw, stop_);
      FidsResponse resp;
      if (!s.ok() || !resp.ParseFromString(raw)) {
        spdlog::warn("backfill: GetFids shard {} failed: {} (retrying)", shard, s.error_message());
        SleepFor(bo.Next(), *stop_);
        continue;
      }
      bo.Reset();
      fids.insert(fids.end(), resp.fids().begin(), resp.fids().end());
      if (resp.next_page_token().empty()) break;
      token = resp.next_page_token();
    }
  }
  std::sort(fids.begin(), fids.end());
  fids.erase(std::unique(fids.begin(), fids.end()), fids.end());
  return fids;
}

uint64_t BackfillWorker::BackfillFid(Redis& r, uint64_t fid, const std::set<std::string>& types,
                                     const std::string& job_id, uint64_t fids_total) {
  if (SpamFiltered(fid, "backfill")) return 0;  // optional spam-label filter: nothing of this fid
  auto wanted = [&](const char* store) { return types.empty() || types.count(store) > 0; };
  core::KeyLayout keys;
  keys.prefix = cfg_.key_prefix;
  const std::string stream = keys.PartitionStream(core::PartitionOf(fid, cfg_.partitions));
  const uint32_t shard = core::ShardOf(fid, std::max<uint32_t>(1, num_shards_));
  uint64_t written = 0;
  // The stores this attempt reads, named in full: app keys only when the node serves
  // their read (an older sidecar's "every store" does not include them); channels never
  // (they are read once per job, not per fid).
  const bool read_signers = wanted("app_key") && ReadsSigners(fid);
  {
    // fid_start lands in the fid's partition before the first page is read (every
    // attempt): at fid_done the extension marks gone the fid's rows that neither these
    // pages nor later live events offered (docs/apply-semantics.md, reconciliation).
    core::StreamEntry e;
    e.kind = core::EntryKind::kFidStart;
    e.shard = shard;
    e.fid = fid;
    e.source = core::EntrySource::kBackfill;
    e.job_id = job_id;
    e.written_at_ms = WallMs();
    nlohmann::ordered_json start;
    start["types"] = nlohmann::ordered_json::array();
    for (const auto& t : StoreNames())
      if (wanted(t.c_str()) && t != "channel" && (t != "app_key" || read_signers)) start["types"].push_back(t);
    start["fids_total"] = fids_total;
    e.payload = Payload(start);
    WriteEntries(r, stream, {e});
  }

  auto call = [&](const std::string& method, const google::protobuf::MessageLite& req, std::string* raw) -> bool {
    auto s = node_->CallRaw(method, req, raw, stop_);
    if (s.ok()) return true;
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return false;  // nothing stored: an empty answer
    GlobalMetrics().Add("waypoint_sidecar_node_errors_total", Label("method", method));
    // Errors by class: a refused request (invalid argument...) is permanent, not retried.
    throw Error(Retryable(s) ? ErrorClass::kTransient : ErrorClass::kInvalid,
                method + ": " + s.error_message() + " (code " + std::to_string(static_cast<int>(s.error_code())) + ")");
  };
  // Each page is written as it arrives: memory never holds a whole fid.
  auto write = [&](core::EntryKind kind, std::vector<std::string>& payloads) {
    std::vector<core::StreamEntry> entries;
    entries.reserve(payloads.size());
    const int64_t now = WallMs();
    for (auto& p : payloads) {
      core::StreamEntry e;
      e.kind = kind;
      e.shard = shard;
      e.fid = fid;
      e.source = core::EntrySource::kBackfill;
      e.job_id = job_id;
      e.written_at_ms = now;
      e.payload = std::move(p);
      entries.push_back(std::move(e));
    }
    std::vector<core::StreamEntry*> check;
    for (auto& e : entries) check.push_back(&e);
    GlobalVerifier().Check(check);
    WriteEntries(r, stream, entries);
    written += entries.size();
    GlobalMetrics().Add("waypoint_sidecar_backfill_entries_total", Label("kind", core::EntryKindName(kind)),
                        static_cast<double>(entries.size()));
  };
  auto paged = [&](const std::string& method, auto make_request, core::EntryKind kind) {
    std::string token;
    while (true) {
      WaitWhilePaused();
      if (stop_->load()) throw Error(ErrorClass::kTransient, "interrupted by shutdown");
      auto req = make_request();
      req.set_page_size(cfg_.page_size);
      if (!token.empty()) req.set_page_token(token);
      std::string raw, next;
      if (!call(method, req, &raw)) return;
      std::vector<std::string> items;
      if (!RepeatedBytes(raw, 1, &items, &next, 2)) throw Error(ErrorClass::kDecode, method + ": undecodable response");
      write(kind, items);
      if (next.empty()) return;
      token = next;
    }
  };
  auto fid_ts = [&] {
    FidTimestampRequest q;
    q.set_fid(fid);
    return q;
  };
  auto fid_req = [&] {
    FidRequest q;
    q.set_fid(fid);
    return q;
  };
  using K = core::EntryKind;
  if (wanted("cast")) paged("GetAllCastMessagesByFid", fid_ts, K::kMessage);
  if (wanted("reaction")) paged("GetAllReactionMessagesByFid", fid_ts, K::kMessage);
  if (wanted("link")) paged("GetAllLinkMessagesByFid", fid_ts, K::kMessage);
  if (wanted("link_compact_state")) paged("GetLinkCompactStateMessageByFid", fid_req, K::kMessage);
  if (wanted("verification")) paged("GetAllVerificationMessagesByFid", fid_ts, K::kMessage);
  if (wanted("user_data")) paged("GetAllUserDataMessagesByFid", fid_ts, K::kMessage);
  if (wanted("lend_storage")) paged("GetAllLendStorageMessagesByFid", fid_ts, K::kMessage);
  if (wanted("username_proof") || wanted("fname")) {
    std::string raw;
    if (call("GetUserNameProofsByFid", fid_req(), &raw)) {
      std::vector<std::string> proofs;
      if (!RepeatedBytes(raw, 1, &proofs, nullptr, 0))
        throw Error(ErrorClass::kDecode, "GetUserNameProofsByFid: undecodable response");
      write(K::kUserNameProof, proofs);
    }
  }
  if (wanted("onchain")) {
    for (auto t : {EVENT_TYPE_SIGNER, EVENT_TYPE_SIGNER_MIGRATED, EVENT_TYPE_ID_REGISTER, EVENT_TYPE_STORAGE_RENT,
                   EVENT_TYPE_TIER_PURCHASE}) {
      paged(
          "GetOnChainEvents",
          [&] {
            OnChainEventRequest q;
            q.set_fid(fid);
            q.set_event_type(t);
            return q;
          },
          K::kOnChainEvent);
    }
    std::string raw;
    if (call("GetIdRegistryOnChainEvent", fid_req(), &raw) && !raw.empty()) {
      std::vector<std::string> one = {raw};
      write(K::kOnChainEvent, one);
    }
  }
  // App keys last: at level full the fid's messages signed by them wait until then.
  if (read_signers) PageSigners(fid, call, [&](std::vector<std::string>& signers) { write(K::kSigner, signers); });
  return written;
}

bool BackfillWorker::WriteFidDone(Redis& r, const Job& job, uint64_t fid, const FidResult& res) {
  core::KeyLayout keys;
  keys.prefix = cfg_.key_prefix;
  core::StreamEntry e;
  e.kind = core::EntryKind::kFidDone;
  e.shard = fid == 0 ? core::kChannelShard : core::ShardOf(fid, std::max<uint32_t>(1, num_shards_));
  e.fid = fid;
  e.source = core::EntrySource::kBackfill;
  e.job_id = job.id;
  nlohmann::ordered_json payload;
  payload["status"] = res.ok ? "ok" : "failed";
  payload["messages"] = res.messages;
  if (!res.ok) payload["error"] = res.error;
  e.payload = Payload(payload);
  // fid_done must land: retry Redis until it does (or shutdown leaves the job pending).
  Backoff rbo(cfg_.backoff_base_ms, cfg_.backoff_max_ms);
  while (true) {
    try {
      e.written_at_ms = WallMs();
      WriteEntries(r, keys.PartitionStream(core::PartitionOf(fid, cfg_.partitions)), {e});
      return true;
    } catch (const std::exception& ex) {
      spdlog::warn("backfill job {} fid {}: writing fid_done: {}", job.id, fid, ex.what());
      if (!SleepFor(rbo.Next(), *stop_)) return false;
    }
  }
}

bool BackfillWorker::RunJob(Redis& r, const Job& job) {
  core::KeyLayout keys;
  keys.prefix = cfg_.key_prefix;
  NumShards();
  const bool channels_only = job.types.size() == 1 && job.types.count("channel");
  std::vector<uint64_t> fids = channels_only ? std::vector<uint64_t>{} : job.all_fids ? AllFids() : job.fids;
  if (job.max_fid > 0)
    fids.erase(std::remove_if(fids.begin(), fids.end(), [&](uint64_t f) { return f > job.max_fid; }), fids.end());
  if (stop_->load()) return false;
  if (WantsChannels(job)) {
    // Channels are not per fid: once per job, before its fids (docs/sidecar.md).
    if (!RunChannelPass(r, job)) return false;
  }
  spdlog::info("backfill job {}: {} fid(s), types {}", job.id, fids.size(), job.types.empty() ? "all" : "selected");
  std::atomic<size_t> next{0}, done{0}, failed{0};
  std::atomic<uint64_t> messages{0};
  std::atomic<bool> interrupted{false};

  auto worker = [&] {
    // Sized to the concurrency: a fid worker never waits for a connection.
    RedisPool::Lease lease = pool_.Acquire();
    Redis& wr = *lease;
    while (!stop_->load()) {
      const size_t i = next.fetch_add(1);
      if (i >= fids.size()) return;
      const uint64_t fid = fids[i];
      FidResult res;
      Backoff bo(cfg_.backoff_base_ms, cfg_.backoff_max_ms);
      for (int attempt = 1; attempt <= cfg_.fid_attempts; ++attempt) {
        try {
          res.messages = BackfillFid(wr, fid, job.types, job.id, fids.size());
          res.ok = true;
          break;
        } catch (const std::exception& e) {
          res.ok = false;
          res.error = e.what();
          spdlog::warn("backfill job {} fid {}: attempt {}/{} failed: {}", job.id, fid, attempt, cfg_.fid_attempts,
                       res.error);
          const auto* ce = dynamic_cast<const Error*>(&e);
          if (ce && ce->permanent()) break;  // retrying cannot help (docs/operations.md, errors by class)
          if (attempt < cfg_.fid_attempts && !SleepFor(bo.Next(), *stop_)) break;
        }
      }
      if (stop_->load()) {
        interrupted = true;
        return;
      }
      if (!WriteFidDone(wr, job, fid, res)) {
        interrupted = true;
        return;
      }
      GlobalMetrics().Add("waypoint_sidecar_backfill_fids_total", Label("status", res.ok ? "ok" : "failed"));
      messages += res.messages;
      if (!res.ok) ++failed;
      ++done;
    }
    interrupted = true;
  };

  std::vector<std::thread> threads;
  const int n = std::max(1, std::min<int>(cfg_.backfill_concurrency, static_cast<int>(fids.size())));
  for (int i = 0; i < n; ++i) threads.emplace_back(worker);
  const std::string progress_key = keys.BackfillProgressKey(job.id);
  auto report = [&] {
    try {
      Redis::Check(r.Command({"HSET", progress_key, "fids_total", std::to_string(fids.size()), "fids_done",
                              std::to_string(done.load()), "fids_failed", std::to_string(failed.load()), "messages",
                              std::to_string(messages.load()), "consumer", cfg_.consumer, "updated_ms",
                              std::to_string(WallMs())}),
                   "HSET progress");
      // Keep the job ours: a claim by id resets its idle time so XAUTOCLAIM elsewhere leaves it.
      r.Command({"XCLAIM", keys.BackfillJobStream(), core::KeyLayout::kBackfillGroup, cfg_.consumer, "0", job.entry_id,
                 "JUSTID"});
    } catch (const std::exception& e) {
      spdlog::warn("backfill job {}: progress report: {}", job.id, e.what());
    }
  };
  int64_t next_log = NowMs() + cfg_.progress_interval_ms;
  int64_t next_beat = NowMs();
  while (done.load() < fids.size() && !stop_->load()) {
    std::this_thread::sleep_for(Ms(50));
    WatchBacklog(r);
    const int64_t now = NowMs();
    if (now >= next_beat) {
      next_beat = now + std::min(cfg_.claim_idle_ms / 3, cfg_.progress_interval_ms);
      report();
    }
    if (now >= next_log) {
      next_log = now + cfg_.progress_interval_ms;
      spdlog::info("backfill job {}: {}/{} fids done ({} failed), {} entries", job.id, done.load(), fids.size(),
                   failed.load(), messages.load());
    }
  }
  for (auto& t : threads) t.join();
  report();
  if (done.load() < fids.size()) {
    spdlog::info("backfill job {}: interrupted at {}/{} fids; stays pending", job.id, done.load(), fids.size());
    return false;
  }
  Redis::Check(r.Command({"XACK", keys.BackfillJobStream(), core::KeyLayout::kBackfillGroup, job.entry_id}),
               "XACK job");
  GlobalMetrics().Add("waypoint_sidecar_backfill_jobs_total", "");
  spdlog::info("backfill job {} done: {} fids ({} failed), {} entries", job.id, fids.size(), failed.load(),
               messages.load());
  return true;
}

void BackfillWorker::WatchBacklog(Redis& r) {
  core::KeyLayout keys;
  keys.prefix = cfg_.key_prefix;
  const int64_t now = NowMs();
  try {
    if (now >= next_backlog_) {
      next_backlog_ = now + cfg_.backlog_interval_ms;
      uint64_t backlog = 0;
      for (uint32_t p = 0; p < cfg_.partitions; ++p) backlog += StreamBacklog(r, keys.PartitionStream(p));
      if (!paused_ && backlog > cfg_.high_watermark) {
        spdlog::warn("backfill: backlog {} above the high watermark {}: pausing page reads", backlog,
                     cfg_.high_watermark);
        paused_ = true;
      } else if (paused_ && backlog < cfg_.low_watermark) {
        spdlog::info("backfill: backlog {} below the low watermark {}: resuming page reads", backlog,
                     cfg_.low_watermark);
        paused_ = false;
      }
      GlobalMetrics().Set("waypoint_sidecar_backfill_paused", "", paused_ ? 1 : 0);
    }
    if (now >= next_trim_) {
      next_trim_ = now + cfg_.trim_interval_ms;
      TrimAllAcknowledged(r, keys, cfg_.partitions);
    }
  } catch (const Error& e) {
    // Redis away: the page writes fail and retry on their own; keep the last decision.
    spdlog::warn("backfill: backlog check: {}", e.what());
  }
}

void BackfillWorker::WaitWhilePaused() const {
  while (paused_.load() && !stop_->load()) std::this_thread::sleep_for(Ms(50));
}

void BackfillWorker::Run() {
  core::KeyLayout keys;
  keys.prefix = cfg_.key_prefix;
  const std::string jobs = keys.BackfillJobStream();
  const char* group = core::KeyLayout::kBackfillGroup;
  Redis r(ParseRedisUrl(cfg_.redis_url), cfg_.redis_timeout_ms);  // dedicated: it blocks in XREADGROUP
  Backoff bo(cfg_.backoff_base_ms, cfg_.backoff_max_ms);
  bool group_ready = false, own_pending = true, ever_ready = false;
  bool logged = false;
  while (!stop_->load()) {
    try {
      if (!group_ready) {
        Reply g = r.Command({"XGROUP", "CREATE", jobs, group, "0", "MKSTREAM"});
        if (g->type == REDIS_REPLY_ERROR && std::string(g->str, g->len).find("BUSYGROUP") == std::string::npos)
          Redis::Check(g, "XGROUP CREATE");
        // Created (not BUSYGROUP) after the first start: the stream or group was deleted.
        if (g->type != REDIS_REPLY_ERROR && ever_ready) {
          spdlog::warn("backfill: job stream {} or its group was deleted; recreated group '{}' from 0", jobs, group);
          GlobalMetrics().Add("waypoint_sidecar_groups_recreated_total", Label("stream", "backfill_jobs"));
        }
        group_ready = ever_ready = true;
        spdlog::info("backfill: consuming {} as {}", jobs, cfg_.consumer);
      }
      std::string id;
      std::vector<std::pair<std::string, std::string>> fields;
      bool found = false;
      if (own_pending) {
        // Our own pending jobs first (a restart with the same consumer name).
        Reply p = r.Command({"XREADGROUP", "GROUP", group, cfg_.consumer, "COUNT", "1", "STREAMS", jobs, "0"});
        Redis::Check(p, "XREADGROUP pending");
        if (p->type == REDIS_REPLY_ARRAY && p->elements > 0 && p->element[0]->elements >= 2)
          found = FirstEntry(p->element[0]->element[1], &id, &fields);
        if (!found) own_pending = false;
      }
      if (!found) {
        Reply c = r.Command(
            {"XAUTOCLAIM", jobs, group, cfg_.consumer, std::to_string(cfg_.claim_idle_ms), "0-0", "COUNT", "1"});
        Redis::Check(c, "XAUTOCLAIM");
        if (c->type == REDIS_REPLY_ARRAY && c->elements >= 2) found = FirstEntry(c->element[1], &id, &fields);
        if (found) spdlog::info("backfill: claimed job entry {} from an idle consumer", id);
      }
      if (!found) {
        Reply n = r.Command({"XREADGROUP", "GROUP", group, cfg_.consumer, "COUNT", "1", "BLOCK",
                             std::to_string(kRedisBlockMs), "STREAMS", jobs, ">"});
        Redis::Check(n, "XREADGROUP");
        if (n->type == REDIS_REPLY_ARRAY && n->elements > 0 && n->element[0]->elements >= 2)
          found = FirstEntry(n->element[0]->element[1], &id, &fields);
      }
      logged = false;
      bo.Reset();
      WatchBacklog(r);
      if (!found) continue;
      Job job;
      try {
        job = ParseJob(id, fields);
      } catch (const Error& e) {
        // Poison never blocks: record it in the dead-letter stream and acknowledge.
        spdlog::error("backfill: job entry {} rejected: {}", id, e.what());
        Redis::Check(r.Command({"XADD", keys.DeadLetterStream(), "*", "source_stream", jobs, "original_id", id,
                                "reason", "invalid_job", "error", e.what()}),
                     "XADD dead letter");
        Redis::Check(r.Command({"XACK", jobs, group, id}), "XACK");
        continue;
      }
      if (!RunJob(r, job)) own_pending = true;
    } catch (const Error& e) {
      if (!logged) spdlog::warn("backfill: {} (retrying)", e.what());
      logged = true;
      group_ready = false;
      SleepFor(bo.Next(), *stop_);
    }
  }
}

}  // namespace waypoint::sidecar
