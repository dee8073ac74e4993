// The channel backfill (sidecar/src/backfill_channels.cpp) against a small scripted node:
// the registry from GetOnChainEvents of fid 0, each registered channel's four state reads
// with the list reads paged to the end (a full last page brings one empty page, as the
// node's may), never page_size 0, a channel the node answers NOT_FOUND for skipped, and one
// channel_state entry per channel with the position it counts as of; a job's pass ends
// with the fid_done of fid 0 (ok, or failed after its attempts), which is all a
// channels-only job writes besides the pass.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>

#include "backfill.hpp"
#include "rpc.grpc.pb.h"
#include "support.hpp"
#include "waypoint/core/decode.hpp"
#include "waypoint/core/entry.hpp"
#include "waypoint/core/keccak.hpp"
#include "waypoint/core/routing.hpp"

using namespace waypoint::sidecar;
using namespace waypoint::sidecar::test;

namespace {

std::string IdOf(const std::string& key) {
  const auto h = waypoint::core::Keccak256(key);
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

class ChannelHub final : public HubService::Service {
 public:
  std::map<std::string, std::map<uint64_t, int>> members;         // registered channels
  std::map<std::string, std::map<std::string, int>> moderations;  // cast hash -> action
  std::atomic<int> zero_page_sizes{0}, member_calls{0}, moderation_calls{0};
  std::vector<std::string> registry;  // OnChainEvent bytes
  std::atomic<bool> registry_down{false};

  grpc::Status GetInfo(grpc::ServerContext*, const GetInfoRequest*, GetInfoResponse* out) override {
    out->set_num_shards(2);
    for (uint32_t s = 0; s <= 2; ++s) {
      auto* si = out->add_shard_infos();
      si->set_shard_id(s);
      si->set_max_height(s == 1 ? 41 : 90);
    }
    return grpc::Status::OK;
  }
  grpc::Status GetOnChainEvents(grpc::ServerContext*, const OnChainEventRequest* q,
                                OnChainEventResponse* out) override {
    if (registry_down) return {grpc::StatusCode::UNAVAILABLE, "down"};
    if (q->fid() == 0 && q->event_type() == EVENT_TYPE_CHANNEL_REGISTER)
      for (const auto& b : registry) out->add_events()->ParseFromString(b);
    return grpc::Status::OK;
  }
  grpc::Status GetChannelMetadata(grpc::ServerContext*, const ChannelRequest* q,
                                  ChannelMetadataResponse* out) override {
    if (!members.count(q->channel_id())) return {grpc::StatusCode::NOT_FOUND, "channel not registered"};
    out->set_name("n");
    out->set_casting_mode(CASTING_MODE_EVERYONE);
    out->set_membership_mode(MEMBERSHIP_MODE_OPEN);
    return grpc::Status::OK;
  }
  grpc::Status GetChannelPin(grpc::ServerContext*, const ChannelRequest* q, ChannelPinResponse*) override {
    if (!members.count(q->channel_id())) return {grpc::StatusCode::NOT_FOUND, "channel not registered"};
    return grpc::Status::OK;  // no pin
  }
  grpc::Status GetChannelMembers(grpc::ServerContext*, const ChannelMembersRequest* q,
                                 ChannelMembersResponse* out) override {
    ++member_calls;
    auto it = members.find(q->channel_id());
    if (it == members.end()) return {grpc::StatusCode::NOT_FOUND, "channel not registered"};
    if (q->has_page_size() && q->page_size() == 0)
      return ++zero_page_sizes, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "0");
    const uint32_t size = q->has_page_size() ? q->page_size() : 1000;
    auto m = it->second.begin();
    if (q->has_page_token()) m = it->second.upper_bound(std::stoull(q->page_token()));
    for (uint32_t n = 0; m != it->second.end() && n < size; ++m) {
      auto* e = out->add_members();
      e->set_fid(m->first);
      e->set_state(static_cast<ChannelMemberState>(m->second));
      if (++n == size) out->set_next_page_token(std::to_string(m->first));
    }
    return grpc::Status::OK;
  }
  grpc::Status GetChannelModerations(grpc::ServerContext*, const ChannelModerationsRequest* q,
                                     ChannelModerationsResponse* out) override {
    ++moderation_calls;
    auto it = moderations.find(q->channel_id());
    if (!members.count(q->channel_id())) return {grpc::StatusCode::NOT_FOUND, "channel not registered"};
    if (q->has_page_size() && q->page_size() == 0)
      return ++zero_page_sizes, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "0");
    if (it == moderations.end()) return grpc::Status::OK;
    const uint32_t size = q->has_page_size() ? q->page_size() : 1000;
    auto m = q->has_page_token() ? it->second.upper_bound(q->page_token()) : it->second.begin();
    for (uint32_t n = 0; m != it->second.end() && n < size; ++m) {
      auto* e = out->add_moderations();
      e->set_cast_hash(m->first);
      e->set_action(static_cast<ChannelModerateAction>(m->second));
      e->set_author_fid(7);
      if (++n == size) out->set_next_page_token(m->first);
    }
    return grpc::Status::OK;
  }

  std::string Start() {
    grpc::ServerBuilder b;
    int port = 0;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(this);
    server_ = b.BuildAndStart();
    return "127.0.0.1:" + std::to_string(port);
  }
  ~ChannelHub() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

 private:
  std::unique_ptr<grpc::Server> server_;
};

std::string Register(const std::string& key, uint32_t log_index) {
  OnChainEvent ev;
  ev.set_type(EVENT_TYPE_CHANNEL_REGISTER);
  ev.set_fid(0);
  ev.set_block_number(100 + log_index);
  ev.set_transaction_hash(std::string(32, static_cast<char>(0x40 + log_index)));
  ev.set_log_index(log_index);
  auto* b = ev.mutable_channel_register_event_body();
  b->set_event_type(CHANNEL_REGISTER_EVENT_TYPE_REGISTER);
  b->set_channel_key(key);
  b->set_label(IdOf(key));
  b->set_owner_address(std::string(20, '\x0a'));
  b->set_expiry(1800000000);
  return ev.SerializeAsString();
}

}  // namespace

TEST(ChannelBackfill, PagesEveryChannelToTheEndAndWritesOneStateEntryEach) {
  RedisServer redis;
  ChannelHub hub;
  const std::string a = IdOf("alpha"), b = IdOf("beta"), gone = IdOf("gone");
  hub.registry = {Register("alpha", 0), Register("beta", 1), Register("gone", 2)};
  for (uint64_t f = 1; f <= 6; ++f) hub.members[a][f * 10] = 1 + static_cast<int>(f % 4);   // 6: pages of 2, then empty
  hub.members[b][5] = 2;                                                                    // one short page
  for (char c = 'a'; c < 'f'; ++c) hub.moderations[a][std::string(20, c)] = c % 2 ? 1 : 2;  // 5: 2, 2, 1
  const std::string addr = hub.Start();
  Config cfg;
  cfg.node_addr = addr;
  cfg.redis_url = redis.url();
  cfg.partitions = 4;
  cfg.node_rps = 10000;
  cfg.page_size = 2;
  std::atomic<bool> stop{false};
  Node node(cfg, &stop);
  BackfillWorker w(cfg, &node, &stop);
  Redis r(ParseRedisUrl(redis.url()));
  const uint64_t written = w.BackfillChannels(r, "9");
  EXPECT_EQ(written, 3u + 2u);  // three registry events, two channels ("gone": NOT_FOUND)
  EXPECT_EQ(hub.zero_page_sizes.load(), 0);
  EXPECT_EQ(hub.member_calls.load(), 4 + 1);  // alpha: 2, 2, 2, then an empty page; beta: 1 ("gone" stops at metadata)
  EXPECT_EQ(hub.moderation_calls.load(), 3 + 1);

  const auto landed = ReadPartitionEntries(r, cfg.partitions);
  std::map<std::string, waypoint::core::ChannelStateRow> states;
  int onchain = 0;
  for (const auto& l : landed) {
    EXPECT_EQ(l.partition, waypoint::core::PartitionOf(0, cfg.partitions));
    EXPECT_EQ(l.entry.fid, 0u);
    EXPECT_EQ(l.entry.job_id, "9");
    if (l.entry.kind == waypoint::core::EntryKind::kOnChainEvent) ++onchain;
    if (l.entry.kind != waypoint::core::EntryKind::kChannelState) continue;
    EXPECT_EQ(l.entry.shard, 1u);
    EXPECT_EQ(l.entry.event_id, (uint64_t{42} << 14) - 1);  // shard 1's head height 41
    auto rows = waypoint::core::DecodeStreamEntry(l.entry);
    ASSERT_EQ(rows.channel_states.size(), 1u);
    states[rows.channel_states[0].channel_id] = rows.channel_states[0];
  }
  EXPECT_EQ(onchain, 3);
  ASSERT_EQ(states.size(), 2u);
  ASSERT_FALSE(states.count(gone));
  const auto& sa = states.at(a);
  ASSERT_EQ(sa.members.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(sa.members[i].first, (i + 1) * 10);
    EXPECT_EQ(sa.members[i].second, 1 + static_cast<int>((i + 1) % 4));
  }
  ASSERT_EQ(sa.moderations.size(), 5u);
  EXPECT_EQ(sa.moderations[4].cast_hash, std::string(20, 'e'));
  EXPECT_EQ(sa.moderations[0].author_fid, 7u);
  EXPECT_EQ(sa.name, std::optional<std::string>("n"));
  EXPECT_EQ(sa.casting_mode, 1);
  EXPECT_TRUE(sa.pin_cast_hash.empty());
  EXPECT_EQ(states.at(b).members.size(), 1u);
  EXPECT_TRUE(states.at(b).moderations.empty());
}

// A channels-only job reads no fid: its pass's entries, then the fid_done of fid 0 that
// waypoint.backfill_progress counts it done by; a pass that keeps failing reports failed.
TEST(ChannelBackfill, AChannelsOnlyJobEndsWithTheFidDoneOfFidZero) {
  for (const bool down : {false, true}) {
    RedisServer redis;
    ChannelHub hub;
    hub.registry = {Register("alpha", 0)};
    hub.members[IdOf("alpha")][3] = 2;
    hub.registry_down = down;
    Config cfg;
    cfg.node_addr = hub.Start();
    cfg.redis_url = redis.url();
    cfg.partitions = 4;
    cfg.node_rps = 10000;
    cfg.fid_attempts = 2;
    cfg.backoff_base_ms = 1;
    cfg.backoff_max_ms = 2;
    std::atomic<bool> stop{false};
    Node node(cfg, &stop);
    BackfillWorker w(cfg, &node, &stop);
    Redis r(ParseRedisUrl(redis.url()));
    const Job job = ParseJob("0-1", {{"v", "1"}, {"job", "12"}, {"fids", "all"}, {"types", "channel"}});
    ASSERT_TRUE(w.RunJob(r, job));
    const auto landed = ReadPartitionEntries(r, cfg.partitions);
    ASSERT_EQ(landed.size(), down ? 1u : 3u);  // the registry event and one channel_state before it
    const auto& last = landed.back();
    EXPECT_EQ(last.partition, waypoint::core::PartitionOf(0, cfg.partitions));
    EXPECT_EQ(last.entry.kind, waypoint::core::EntryKind::kFidDone);
    EXPECT_EQ(last.entry.fid, 0u);
    EXPECT_EQ(last.entry.job_id, "12");
    const auto done = waypoint::core::ParseFidDone(last.entry.payload);
    EXPECT_EQ(done.status, down ? "failed" : "ok");
    EXPECT_EQ(done.messages, down ? 0 : 2);
    if (down) {
      EXPECT_NE(done.error.find("GetOnChainEvents"), std::string::npos) << done.error;
    }
  }
}
