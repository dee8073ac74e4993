// Channel backfill (docs/sidecar.md, "Backfill mode"; the entry contract in
// docs/architecture.md): the node's channel reads return folded state, not messages, so a
// channel is backfilled as one channel_state entry holding the node's responses of its
// four state reads (core/channel_state.hpp). Channels are enumerated from the
// CHANNEL_REGISTER on-chain events, which are stored under fid 0.
#include <spdlog/spdlog.h>

#include <set>

#include "backfill.hpp"
#include "metrics.hpp"
#include "verifier.hpp"
#include "waypoint/core/channel_state.hpp"
#include "waypoint/core/decode.hpp"
#include "waypoint/core/errors.hpp"
#include "waypoint/core/keccak.hpp"
#include "waypoint/core/routing.hpp"

namespace waypoint::sidecar {

using core::Error;
using core::ErrorClass;

bool WantsChannels(const Job& job) {
  if (job.types.count("channel")) return true;
  return job.all_fids && job.types.empty();
}

uint64_t BackfillWorker::BackfillChannels(Redis& r, const std::string& job_id) {
  core::KeyLayout keys;
  keys.prefix = cfg_.key_prefix;
  const std::string stream = keys.PartitionStream(core::PartitionOf(0, cfg_.partitions));
  auto call = [&](const std::string& method, const google::protobuf::MessageLite& req, std::string* raw) -> bool {
    if (stop_->load()) throw Error(ErrorClass::kTransient, "interrupted by shutdown");
    auto s = node_->CallRaw(method, req, raw, stop_);
    if (s.ok()) return true;
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return false;
    GlobalMetrics().Add("waypoint_sidecar_node_errors_total", Label("method", method));
    throw Error(Retryable(s) ? ErrorClass::kTransient : ErrorClass::kInvalid,
                method + ": " + s.error_message() + " (code " + std::to_string(static_cast<int>(s.error_code())) + ")");
  };
  auto entry = [&](core::EntryKind kind, std::string payload, uint64_t event_id) {
    core::StreamEntry e;
    e.kind = kind;
    e.shard = core::kChannelShard;
    e.event_id = event_id;
    e.fid = 0;
    e.source = core::EntrySource::kBackfill;
    e.job_id = job_id;
    e.written_at_ms = WallMs();
    e.payload = std::move(payload);
    return e;
  };

  // The position the state counts as of, read before any state: every data-shard-1 event
  // up to the shard's head height reflects a merge on shard 0 that the reads below see.
  // Event ids are (height << 14) | seq, so every event of a block up to that height is at
  // most ((height + 1) << 14) - 1. A merge after it may be in the reads or not.
  GetInfoResponse info;
  auto s = node_->GetInfo(&info, stop_);
  if (!s.ok()) throw Error(ErrorClass::kTransient, "GetInfo: " + s.error_message());
  uint64_t height = 0;
  bool found = false;
  for (const auto& si : info.shard_infos())
    if (si.shard_id() == core::kChannelShard) height = si.max_height(), found = true;
  if (!found) throw Error(ErrorClass::kInvalid, "GetInfo: the node reports no data shard 1");
  const uint64_t as_of = ((height + 1) << 14) - 1;

  // The registry: every CHANNEL_REGISTER event (one answer, no page token, as the node).
  uint64_t written = 0;
  std::vector<std::string> labels;
  {
    OnChainEventRequest q;
    q.set_fid(0);
    q.set_event_type(EVENT_TYPE_CHANNEL_REGISTER);
    std::string raw;
    std::vector<std::string> events;
    if (call("GetOnChainEvents", q, &raw) && !RepeatedBytes(raw, 1, &events, nullptr, 0))
      throw Error(ErrorClass::kDecode, "GetOnChainEvents: undecodable response");
    std::set<std::string> seen;
    std::vector<core::StreamEntry> entries;
    for (auto& bytes : events) {
      OnChainEvent ev;
      if (ev.ParseFromString(bytes) && ev.has_channel_register_event_body()) {
        const auto& b = ev.channel_register_event_body();
        // A REGISTER whose label is the key's hash is what makes a channel known.
        const auto h = core::Keccak256(b.channel_key());
        if (b.event_type() == CHANNEL_REGISTER_EVENT_TYPE_REGISTER && b.label().size() == 32 &&
            b.label() == std::string(reinterpret_cast<const char*>(h.data()), h.size()) &&
            seen.insert(b.label()).second)
          labels.push_back(b.label());
      }
      entries.push_back(entry(core::EntryKind::kOnChainEvent, std::move(bytes), 0));
    }
    std::vector<core::StreamEntry*> check;
    for (auto& e : entries) check.push_back(&e);
    GlobalVerifier().Check(check);
    WriteEntries(r, stream, entries);
    written += entries.size();
  }

  // Each channel's state, every list read paged until next_page_token is unset.
  auto paged = [&](const char* method, auto make, std::vector<std::string>* pages) -> bool {
    std::string token;
    while (true) {
      WaitWhilePaused();
      auto req = make();
      req.set_page_size(static_cast<uint32_t>(cfg_.page_size));  // never 0: the node refuses it
      if (!token.empty()) req.set_page_token(token);
      std::string raw;
      if (!call(method, req, &raw)) return false;
      std::vector<std::string> items;
      std::string next;
      if (!RepeatedBytes(raw, 1, &items, &next, 2))
        throw Error(ErrorClass::kDecode, std::string(method) + ": undecodable");
      pages->push_back(std::move(raw));
      if (next.empty()) return true;
      if (next == token) throw Error(ErrorClass::kDecode, std::string(method) + ": the page token did not advance");
      token = std::move(next);
    }
  };
  uint64_t channels = 0;
  for (const auto& id : labels) {
    core::ChannelStatePayload p;
    p.channel_id = id;
    ChannelRequest q;
    q.set_channel_id(id);
    bool registered = call("GetChannelMetadata", q, &p.metadata) && call("GetChannelPin", q, &p.pin);
    registered = registered && paged(
                                   "GetChannelMembers",
                                   [&] {
                                     ChannelMembersRequest m;
                                     m.set_channel_id(id);
                                     return m;
                                   },
                                   &p.member_pages);
    registered = registered && paged(
                                   "GetChannelModerations",
                                   [&] {
                                     ChannelModerationsRequest m;
                                     m.set_channel_id(id);
                                     return m;
                                   },
                                   &p.moderation_pages);
    if (!registered) continue;  // NOT_FOUND: the node does not know the channel (any more)
    WriteEntries(r, stream, {entry(core::EntryKind::kChannelState, core::EncodeChannelState(p), as_of)});
    ++written;
    ++channels;
    GlobalMetrics().Add("waypoint_sidecar_backfill_entries_total", Label("kind", "channel_state"));
  }
  spdlog::info("backfill job {}: {} channel(s) as of shard 1 event {} ({} registry events)", job_id, channels, as_of,
               written - channels);
  return written;
}

bool BackfillWorker::RunChannelPass(Redis& r, const Job& job) {
  Backoff bo(cfg_.backoff_base_ms, cfg_.backoff_max_ms);
  FidResult res;
  for (int attempt = 1; attempt <= cfg_.fid_attempts; ++attempt) {
    try {
      res.messages = BackfillChannels(r, job.id);
      res.ok = true;
      break;
    } catch (const std::exception& e) {
      if (stop_->load()) return false;
      res.ok = false;
      res.error = e.what();
      spdlog::warn("backfill job {} channels: attempt {}/{} failed: {}", job.id, attempt, cfg_.fid_attempts, e.what());
      GlobalMetrics().Add("waypoint_sidecar_backfill_channel_failures_total", "");
      const auto* ce = dynamic_cast<const Error*>(&e);
      if (ce && ce->permanent()) break;
      if (attempt < cfg_.fid_attempts && !SleepFor(bo.Next(), *stop_)) return false;
    }
  }
  if (!res.ok) spdlog::error("backfill job {}: channels not backfilled (the fids go on)", job.id);
  // The pass's outcome as the fid_done of fid 0, after its entries in the same stream:
  // waypoint.backfill_progress shows a channels-only job done by it.
  return WriteFidDone(r, job, 0, res);
}

}  // namespace waypoint::sidecar
