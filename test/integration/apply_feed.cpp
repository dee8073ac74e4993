// apply_feed: writes real stream entries (core::EncodeEntry of encoded Snapchain
// protobufs) into Waypoint's partition streams, as the sidecar would, and prints the
// state lines (docs/state-lines.md) the database must hold afterwards. Used by
// apply_pipeline.sh; deterministic, so a range can be re-fed to test idempotence.
//
//   apply_feed --port P [--host H] [--prefix waypoint] --partitions N --from A --count C
//              [--fids F] [--poison] [--fid-done JOB]
#include <hiredis/hiredis.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "hub_event.pb.h"
#include "hashed_message.hpp"
#include "message.pb.h"
#include "waypoint/core/entry.hpp"
#include "waypoint/core/hash.hpp"
#include "waypoint/core/routing.hpp"

namespace {

using waypoint::core::EncodeEntry;
using waypoint::core::EntryFields;
using waypoint::core::EntryKind;
using waypoint::core::EntrySource;
using waypoint::core::StreamEntry;

struct Options {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string prefix = "waypoint";
  uint32_t partitions = 8;
  uint64_t from = 0, count = 0, fids = 20;
  bool poison = false;
  std::string fid_done_job;
};

redisContext* g_redis = nullptr;

void Xadd(const std::string& key, const EntryFields& fields) {
  std::vector<const char*> argv = {"XADD", key.c_str(), "*"};
  std::vector<size_t> len = {4, key.size(), 1};
  for (const auto& [k, v] : fields) {
    argv.push_back(k.data());
    len.push_back(k.size());
    argv.push_back(v.data());
    len.push_back(v.size());
  }
  auto* r = static_cast<redisReply*>(redisCommandArgv(g_redis, static_cast<int>(argv.size()), argv.data(), len.data()));
  if (r == nullptr || r->type == REDIS_REPLY_ERROR) {
    std::cerr << "XADD failed: " << (r ? r->str : g_redis->errstr) << "\n";
    std::exit(1);
  }
  freeReplyObject(r);
}

std::string PartitionKey(const Options& o, uint64_t fid) {
  waypoint::core::KeyLayout layout;
  layout.prefix = o.prefix;
  return layout.PartitionStream(waypoint::core::PartitionOf(fid, o.partitions));
}

// A cast add by fid at Farcaster time ts, with its real hash.
Message MakeCast(uint64_t fid, uint32_t ts, const std::string& text) {
  MessageData d;
  d.set_type(MESSAGE_TYPE_CAST_ADD);
  d.set_fid(fid);
  d.set_timestamp(ts);
  d.set_network(FARCASTER_NETWORK_MAINNET);
  d.mutable_cast_add_body()->set_text(text);
  return waypoint::testsupport::HashedMessage(std::move(d), '\x01', '\x02');
}

// Entry i of the deterministic history: a cast of fid (i % fids) + 1; two thirds arrive
// as live HubEvents (with event ids), one third as backfill Messages.
void FeedCast(const Options& o, uint64_t i, uint64_t fid, bool print) {
  const Message m = MakeCast(fid, 100000000 + static_cast<uint32_t>(i), "cast " + std::to_string(i));
  StreamEntry e;
  e.fid = fid;
  e.shard = waypoint::core::ShardOf(fid, 2);
  e.written_at_ms = 1700000000000LL + static_cast<int64_t>(i);
  if (i % 3 == 0) {
    e.kind = EntryKind::kMessage;
    e.source = EntrySource::kBackfill;
    e.job_id = "1";
    e.payload = m.SerializeAsString();
  } else {
    HubEvent ev;
    ev.set_type(HUB_EVENT_TYPE_MERGE_MESSAGE);
    e.event_id = waypoint::core::MakeEventId(1000 + i / 10, i % 10 + 1);
    ev.set_id(e.event_id);
    *ev.mutable_merge_message_body()->mutable_message() = m;
    e.kind = EntryKind::kHubEvent;
    e.source = EntrySource::kLive;
    e.payload = ev.SerializeAsString();
  }
  Xadd(PartitionKey(o, fid), EncodeEntry(e));
  if (print) {
    // A cast that replies to nothing is its own thread root.
    const std::string h = waypoint::core::ToHex(m.hash());
    std::cout << "msg\tcast\t" << h << "\n"
              << "thread\t" << h << "\t" << fid << "\t" << h << "\t\n";
  }
}

void FeedPoison(const Options& o) {
  // 1. Not a version-1 entry: DecodeEntry refuses it.
  Xadd(PartitionKey(o, 1), {{"v", "9"}, {"k", "message"}, {"d", "x"}});
  // 2. A message entry whose payload is not a Message: ApplyEntries rejects it.
  StreamEntry bad;
  bad.kind = EntryKind::kMessage;
  bad.fid = 2;
  bad.source = EntrySource::kBackfill;
  bad.payload = std::string("\xff\xfe\xfd garbage", 12);
  Xadd(PartitionKey(o, 2), EncodeEntry(bad));
  // 3. Decodes fine, but its text is "POISON": apply_pipeline.sh installs a trigger on
  //    waypoint.casts that raises an error for it, so the batch fails in the database,
  //    is isolated entry by entry, and only this entry is dead-lettered.
  {
    const Message m = MakeCast(4, 100000000, "POISON");
    HubEvent ev;
    ev.set_type(HUB_EVENT_TYPE_MERGE_MESSAGE);
    ev.set_id(waypoint::core::MakeEventId(999, 1));
    *ev.mutable_merge_message_body()->mutable_message() = m;
    StreamEntry e;
    e.kind = EntryKind::kHubEvent;
    e.fid = 4;
    e.shard = waypoint::core::ShardOf(4, 2);
    e.event_id = ev.id();
    e.payload = ev.SerializeAsString();
    Xadd(PartitionKey(o, 4), EncodeEntry(e));
  }
  // 4. A fid_done with a payload that is not JSON.
  StreamEntry fd;
  fd.kind = EntryKind::kFidDone;
  fd.fid = 3;
  fd.job_id = "1";
  fd.source = EntrySource::kBackfill;
  fd.payload = "not json";
  Xadd(PartitionKey(o, 3), EncodeEntry(fd));
}

void FeedFidDone(const Options& o) {
  for (uint64_t fid = 1; fid <= o.fids; ++fid) {
    StreamEntry fd;
    fd.kind = EntryKind::kFidDone;
    fd.fid = fid;
    fd.job_id = o.fid_done_job;
    fd.source = EntrySource::kBackfill;
    fd.written_at_ms = 1700000000000LL + static_cast<int64_t>(fid);
    fd.payload = fid % 5 == 0 ? R"({"status":"failed","messages":0,"error":"node unavailable"})"
                              : R"({"status":"ok","messages":)" + std::to_string(fid * 10) + "}";
    Xadd(PartitionKey(o, fid), EncodeEntry(fd));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--host")
      o.host = next();
    else if (a == "--port")
      o.port = std::stoi(next());
    else if (a == "--prefix")
      o.prefix = next();
    else if (a == "--partitions")
      o.partitions = static_cast<uint32_t>(std::stoul(next()));
    else if (a == "--from")
      o.from = std::stoull(next());
    else if (a == "--count")
      o.count = std::stoull(next());
    else if (a == "--fids")
      o.fids = std::stoull(next());
    else if (a == "--poison")
      o.poison = true;
    else if (a == "--fid-done")
      o.fid_done_job = next();
    else {
      std::cerr << "unknown option " << a << "\n";
      return 2;
    }
  }
  g_redis = redisConnect(o.host.c_str(), o.port);
  if (g_redis == nullptr || g_redis->err) {
    std::cerr << "cannot connect to redis\n";
    return 1;
  }
  for (uint64_t i = o.from; i < o.from + o.count; ++i) FeedCast(o, i, i % o.fids + 1, true);
  if (o.poison) FeedPoison(o);
  if (!o.fid_done_job.empty()) FeedFidDone(o);
  redisFree(g_redis);
  return 0;
}
