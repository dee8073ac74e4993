// Round trips against the real test-node gRPC server on loopback.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <thread>

#include "rpc.grpc.pb.h"
#include "waypoint/testnode/generator.hpp"
#include "waypoint/testnode/server.hpp"

namespace wt = waypoint::testnode;
using namespace std::chrono_literals;

namespace {

struct Running {
  std::unique_ptr<wt::NodeServer> srv;
  wt::Generator* gen = nullptr;
  std::unique_ptr<wt::Generator> gen_holder;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<HubService::Stub> stub;
};

// A small history (two shards) served on a free loopback port.
Running StartNode(wt::FaultOptions faults = {}) {
  Running r;
  auto node = std::make_unique<wt::Node>(2, 5);
  wt::GeneratorOptions opt;
  opt.seed = 5;
  opt.fids = 40;
  opt.messages_per_fid = 12;
  opt.sign_threads = 2;
  r.gen_holder = std::make_unique<wt::Generator>(*node, opt);
  r.gen = r.gen_holder.get();
  r.gen->BuildHistory();
  r.srv = std::make_unique<wt::NodeServer>(std::move(node), faults);
  const int port = r.srv->Start(0);
  EXPECT_GT(port, 0);
  r.channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  r.stub = HubService::NewStub(r.channel);
  return r;
}

std::vector<uint64_t> LogIds(const wt::NodeServer& srv, uint32_t shard) {
  return srv.Read([&](const wt::Node& n) {
    std::vector<uint64_t> ids;
    for (const auto& e : n.Log(shard)->events) ids.push_back(e.id);
    return ids;
  });
}

// Raw Subscribe: the bytes of each event as sent, so undecodable ones can be seen.
struct RawStream {
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call;
  explicit RawStream(grpc::Channel* ch, const SubscribeRequest& req) {
    grpc::GenericStub stub(std::shared_ptr<grpc::Channel>(ch, [](grpc::Channel*) {}));
    call = stub.PrepareCall(&ctx, "/HubService/Subscribe", &cq);
    call->StartCall(Tag(1));
    Wait(1);
    grpc::Slice s(req.SerializeAsString());
    grpc::ByteBuffer bb(&s, 1);
    call->Write(bb, Tag(2));
    Wait(2);
    call->WritesDone(Tag(3));
    Wait(3);
  }
  ~RawStream() {
    ctx.TryCancel();
    cq.Shutdown();
    void* t;
    bool ok;
    while (cq.Next(&t, &ok)) {
    }
  }
  static void* Tag(intptr_t i) { return reinterpret_cast<void*>(i); }
  bool Wait(intptr_t want, std::chrono::milliseconds timeout = 5000ms) {
    void* t;
    bool ok;
    auto st = cq.AsyncNext(&t, &ok, std::chrono::system_clock::now() + timeout);
    if (st != grpc::CompletionQueue::GOT_EVENT) return false;
    EXPECT_EQ(t, Tag(want));
    return ok;
  }
  // Next event bytes; nullopt at end of stream or timeout.
  std::optional<std::string> Next(std::chrono::milliseconds timeout = 5000ms) {
    grpc::ByteBuffer bb;
    call->Read(&bb, Tag(4));
    void* t;
    bool ok;
    auto st = cq.AsyncNext(&t, &ok, std::chrono::system_clock::now() + timeout);
    if (st != grpc::CompletionQueue::GOT_EVENT) {
      timed_out = true;
      return std::nullopt;
    }
    if (!ok) return std::nullopt;
    std::vector<grpc::Slice> slices;
    bb.Dump(&slices);
    std::string out;
    for (auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
    return out;
  }
  grpc::Status Finish() {
    grpc::Status st;
    call->Finish(&st, Tag(5));
    Wait(5);
    return st;
  }
  bool timed_out = false;
};

SubscribeRequest AllTypes(uint32_t shard, std::optional<uint64_t> from) {
  SubscribeRequest req;
  req.set_shard_index(shard);
  if (from) req.set_from_id(*from);
  for (int t : {1, 2, 3, 6, 9, 10, 11, 12}) req.add_event_types(static_cast<HubEventType>(t));
  return req;
}

}  // namespace

TEST(Server, SubscribeReplayIsInclusiveThenLive) {
  Running r = StartNode();
  const auto ids = LogIds(*r.srv, 1);
  const uint64_t from = ids[ids.size() / 2];
  grpc::ClientContext ctx;
  auto reader = r.stub->Subscribe(&ctx, AllTypes(1, from));
  HubEvent ev;
  size_t i = ids.size() / 2;
  for (; i < ids.size(); ++i) {
    ASSERT_TRUE(reader->Read(&ev));
    ASSERT_EQ(ev.id(), ids[i]);  // the first one is from_id itself
    EXPECT_EQ(ev.shard_index(), 1u);
  }
  // Live: a new block arrives, BLOCK_CONFIRMED first.
  r.srv->Mutate([&](wt::Node&) { r.gen->LiveBlock(30); });
  ASSERT_TRUE(reader->Read(&ev));
  EXPECT_EQ(ev.type(), HUB_EVENT_TYPE_BLOCK_CONFIRMED);
  EXPECT_EQ(ev.id() & 0x3fff, 0u);
  EXPECT_EQ(ev.block_number(), (ids.back() >> 14) + 1);
  ctx.TryCancel();
}

TEST(Server, SubscribeWithoutFromIdIsLiveOnly) {
  Running r = StartNode();
  grpc::ClientContext ctx;
  auto reader = r.stub->Subscribe(&ctx, AllTypes(2, std::nullopt));
  std::this_thread::sleep_for(100ms);
  const uint64_t head = LogIds(*r.srv, 2).back();
  r.srv->Mutate([&](wt::Node&) { r.gen->LiveBlock(5); });
  HubEvent ev;
  ASSERT_TRUE(reader->Read(&ev));
  EXPECT_GT(ev.id(), head);
  ctx.TryCancel();
}

TEST(Server, EventTypesFilter) {
  Running r = StartNode();
  grpc::ClientContext ctx;
  SubscribeRequest req;
  req.set_shard_index(1);
  req.set_from_id(0);
  req.add_event_types(HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT);
  auto reader = r.stub->Subscribe(&ctx, req);
  const size_t want = r.srv->Read([](const wt::Node& n) {
    size_t k = 0;
    for (const auto& e : n.Log(1)->events) k += e.type == HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT;
    return k;
  });
  ASSERT_GT(want, 0u);
  HubEvent ev;
  for (size_t i = 0; i < want; ++i) {
    ASSERT_TRUE(reader->Read(&ev));
    EXPECT_EQ(ev.type(), HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT);
  }
  ctx.TryCancel();

  // An empty list sends nothing.
  RawStream raw(r.channel.get(), [] {
    SubscribeRequest q;
    q.set_shard_index(1);
    q.set_from_id(0);
    return q;
  }());
  EXPECT_FALSE(raw.Next(300ms).has_value());
  EXPECT_TRUE(raw.timed_out);
}

TEST(Server, SubscribeShardIndexErrors) {
  Running r = StartNode();
  for (std::optional<uint32_t> shard :
       {std::optional<uint32_t>(), std::optional<uint32_t>(0u), std::optional<uint32_t>(3u)}) {
    grpc::ClientContext ctx;
    SubscribeRequest req;
    if (shard) req.set_shard_index(*shard);
    req.add_event_types(HUB_EVENT_TYPE_MERGE_MESSAGE);
    auto reader = r.stub->Subscribe(&ctx, req);
    HubEvent ev;
    EXPECT_FALSE(reader->Read(&ev));
    const grpc::Status st = reader->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(st.error_message(), "Invalid shard id");
  }
  grpc::ClientContext ctx;
  FidsRequest fr;
  fr.set_shard_id(0);
  FidsResponse fresp;
  EXPECT_EQ(r.stub->GetFids(&ctx, fr, &fresp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(Server, GetAllCastMessagesByFidPages) {
  Running r = StartNode();
  // The fid holding the most casts.
  uint64_t fid = 0;
  std::vector<uint32_t> held;
  r.srv->Read([&](const wt::Node& n) {
    for (uint64_t f = 1; f <= 40; ++f) {
      auto h = n.HeldSorted(f, wt::Store::kCast);
      if (h.size() > held.size()) held = h, fid = f;
    }
    return 0;
  });
  ASSERT_GE(held.size(), 3u);
  for (bool reverse : {false, true}) {
    std::vector<std::string> got;
    std::string token;
    int pages = 0;
    for (;;) {
      grpc::ClientContext ctx;
      FidTimestampRequest req;
      req.set_fid(fid);
      req.set_page_size(2);
      req.set_reverse(reverse);
      if (!token.empty()) req.set_page_token(token);
      MessagesResponse resp;
      ASSERT_TRUE(r.stub->GetAllCastMessagesByFid(&ctx, req, &resp).ok());
      ASSERT_LE(resp.messages_size(), 2);
      for (const auto& m : resp.messages()) got.push_back(m.hash());
      pages++;
      if (!resp.has_next_page_token()) break;
      token = resp.next_page_token();
    }
    std::vector<std::string> want;
    r.srv->Read([&](const wt::Node& n) {
      for (uint32_t i : held) want.push_back(std::string(reinterpret_cast<const char*>(n.Msg(i).hash.data()), 20));
      return 0;
    });
    if (reverse) std::reverse(want.begin(), want.end());
    EXPECT_EQ(got, want);
    EXPECT_EQ(pages, static_cast<int>((held.size() + 1) / 2));
  }
  // Timestamp bounds are inclusive.
  grpc::ClientContext ctx;
  FidTimestampRequest req;
  req.set_fid(fid);
  const uint32_t ts = r.srv->Read([&](const wt::Node& n) { return n.Msg(held[1]).ts; });
  req.set_start_timestamp(ts);
  req.set_stop_timestamp(ts);
  MessagesResponse resp;
  ASSERT_TRUE(r.stub->GetAllCastMessagesByFid(&ctx, req, &resp).ok());
  ASSERT_GE(resp.messages_size(), 1);
  for (const auto& m : resp.messages()) EXPECT_EQ(m.data().timestamp(), ts);
}

TEST(Server, GetEventsPagesAndBlockCountsMatch) {
  Running r = StartNode();
  const auto ids = LogIds(*r.srv, 2);
  std::vector<HubEvent> all;
  std::string token;
  for (;;) {
    grpc::ClientContext ctx;
    EventsRequest req;
    req.set_start_id(0);
    req.set_shard_index(2);
    req.set_page_size(7);
    if (!token.empty()) req.set_page_token(token);
    EventsResponse resp;
    ASSERT_TRUE(r.stub->GetEvents(&ctx, req, &resp).ok());
    ASSERT_LE(resp.events_size(), 7);
    for (const auto& e : resp.events()) all.push_back(e);
    if (!resp.has_next_page_token()) break;
    token = resp.next_page_token();
  }
  ASSERT_EQ(all.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) ASSERT_EQ(all[i].id(), ids[i]);
  // Each BLOCK_CONFIRMED counts exactly the events of its block.
  std::map<uint64_t, std::map<int32_t, uint64_t>> counted;
  std::map<uint64_t, HubEvent> confirmed;
  for (const auto& e : all) {
    if (e.type() == HUB_EVENT_TYPE_BLOCK_CONFIRMED) {
      confirmed[e.block_number()] = e;
    } else {
      counted[e.block_number()][e.type()]++;
    }
  }
  for (const auto& [block, bc] : confirmed) {
    std::map<int32_t, uint64_t> want(bc.block_confirmed_body().event_counts_by_type().begin(),
                                     bc.block_confirmed_body().event_counts_by_type().end());
    EXPECT_EQ(want, counted[block]) << "block " << block;
    uint64_t total = 0;
    for (const auto& [t, n] : counted[block]) total += n;
    EXPECT_EQ(bc.block_confirmed_body().total_events(), total);
  }
  // stop_id is exclusive; GetEvent finds one event.
  grpc::ClientContext ctx;
  EventsRequest req;
  req.set_shard_index(2);
  req.set_start_id(ids[3]);
  req.set_stop_id(ids[6]);
  EventsResponse resp;
  ASSERT_TRUE(r.stub->GetEvents(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.events_size(), 3);
  EXPECT_EQ(resp.events(0).id(), ids[3]);
  grpc::ClientContext ctx2;
  EventRequest one;
  one.set_id(ids[5]);
  one.set_shard_index(2);
  HubEvent ev;
  ASSERT_TRUE(r.stub->GetEvent(&ctx2, one, &ev).ok());
  EXPECT_EQ(ev.id(), ids[5]);
}

TEST(Server, BulkReadsAndInfo) {
  Running r = StartNode();
  grpc::ClientContext c1;
  GetInfoResponse info;
  ASSERT_TRUE(r.stub->GetInfo(&c1, GetInfoRequest(), &info).ok());
  EXPECT_EQ(info.num_shards(), 2u);
  ASSERT_EQ(info.shard_infos_size(), 3);
  EXPECT_EQ(info.shard_infos(0).shard_id(), 0u);
  EXPECT_EQ(info.shard_infos(1).max_height(), LogIds(*r.srv, 1).back() >> 14);
  // GetFids over both shards lists every fid once.
  std::set<uint64_t> fids;
  for (uint32_t s = 1; s <= 2; ++s) {
    std::string token;
    for (;;) {
      grpc::ClientContext c;
      FidsRequest req;
      req.set_shard_id(s);
      req.set_page_size(7);
      if (!token.empty()) req.set_page_token(token);
      FidsResponse resp;
      ASSERT_TRUE(r.stub->GetFids(&c, req, &resp).ok());
      for (uint64_t f : resp.fids()) EXPECT_TRUE(fids.insert(f).second);
      if (!resp.has_next_page_token()) break;
      token = resp.next_page_token();
    }
  }
  EXPECT_EQ(fids.size(), 40u);
  grpc::ClientContext c2;
  FidRequest fr;
  fr.set_fid(3);
  OnChainEvent idr;
  ASSERT_TRUE(r.stub->GetIdRegistryOnChainEvent(&c2, fr, &idr).ok());
  EXPECT_EQ(idr.type(), EVENT_TYPE_ID_REGISTER);
  EXPECT_EQ(idr.fid(), 3u);
  grpc::ClientContext c3;
  OnChainEventResponse signers;
  ASSERT_TRUE(r.stub->GetOnChainSignersByFid(&c3, fr, &signers).ok());
  EXPECT_EQ(signers.events_size(), 1);  // exactly one active key
  grpc::ClientContext c4;
  StorageLimitsResponse limits;
  ASSERT_TRUE(r.stub->GetCurrentStorageLimitsByFid(&c4, fr, &limits).ok());
  EXPECT_GE(limits.units(), 1u);
  // GetCast finds a held cast add.
  auto cast = r.srv->Read([](const wt::Node& n) {
    for (uint64_t f = 1; f <= 40; ++f)
      for (uint32_t i : n.HeldSorted(f, wt::Store::kCast))
        if (n.Msg(i).type == MESSAGE_TYPE_CAST_ADD) return std::make_pair(f, i);
    return std::make_pair(uint64_t{0}, wt::kNone);
  });
  ASSERT_NE(cast.second, wt::kNone);
  grpc::ClientContext c5;
  CastId id;
  id.set_fid(cast.first);
  id.set_hash(r.srv->Read([&](const wt::Node& n) {
    return std::string(reinterpret_cast<const char*>(n.Msg(cast.second).hash.data()), 20);
  }));
  Message m;
  ASSERT_TRUE(r.stub->GetCast(&c5, id, &m).ok());
  EXPECT_EQ(m.hash(), id.hash());
}

TEST(Faults, GarbledEventsDoNotDecodeButGetEventsHasThem) {
  wt::FaultOptions f;
  f.garble_rate = 0.2;
  Running r = StartNode(f);
  const auto ids = LogIds(*r.srv, 1);
  RawStream raw(r.channel.get(), AllTypes(1, 0));
  size_t bad = 0, good = 0;
  std::vector<uint64_t> good_ids;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto bytes = raw.Next();
    ASSERT_TRUE(bytes.has_value());
    HubEvent ev;
    if (ev.ParseFromString(*bytes)) {
      good++;
      good_ids.push_back(ev.id());
    } else {
      bad++;
    }
  }
  EXPECT_GT(bad, 0u);
  EXPECT_GT(good, bad);
  // The garbled ones are exactly the ids missing from the good set, and GetEvent has them.
  for (uint64_t id : ids) {
    if (std::find(good_ids.begin(), good_ids.end(), id) != good_ids.end()) continue;
    grpc::ClientContext ctx;
    EventRequest req;
    req.set_id(id);
    req.set_shard_index(1);
    HubEvent ev;
    ASSERT_TRUE(r.stub->GetEvent(&ctx, req, &ev).ok());
    EXPECT_EQ(ev.id(), id);
  }
}

TEST(Faults, WithholdLeavesCountedGapsAndDuplicatesRepeat) {
  wt::FaultOptions f;
  f.withhold = 0.2;
  f.duplicate_rate = 0.2;
  Running r = StartNode(f);
  grpc::ClientContext ctx;
  auto reader = r.stub->Subscribe(&ctx, AllTypes(1, 0));
  const auto ids = LogIds(*r.srv, 1);
  std::map<uint64_t, uint64_t> received, confirmed;
  size_t dups = 0;
  uint64_t prev = 0;
  HubEvent ev;
  while (reader->Read(&ev)) {
    if (ev.id() == prev) dups++;
    prev = ev.id();
    if (ev.type() == HUB_EVENT_TYPE_BLOCK_CONFIRMED) {
      confirmed[ev.block_number()] = ev.block_confirmed_body().total_events();
    } else {
      received[ev.block_number()]++;
    }
    if (ev.id() == ids.back()) break;
  }
  ctx.TryCancel();
  EXPECT_GT(dups, 0u);
  size_t short_blocks = 0;
  for (const auto& [b, total] : confirmed) short_blocks += received[b] < total;
  EXPECT_GT(short_blocks, 0u);
}

TEST(Faults, DropEveryEndsWithUnavailableAndStallKeepsOpen) {
  {
    wt::FaultOptions f;
    f.drop_every = 10;
    Running r = StartNode(f);
    grpc::ClientContext ctx;
    auto reader = r.stub->Subscribe(&ctx, AllTypes(1, 0));
    HubEvent ev;
    int n = 0;
    while (reader->Read(&ev)) n++;
    EXPECT_EQ(n, 10);
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  {
    wt::FaultOptions f;
    f.stall_after = 5;
    Running r = StartNode(f);
    RawStream raw(r.channel.get(), AllTypes(1, 0));
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(raw.Next().has_value());
    EXPECT_FALSE(raw.Next(500ms).has_value());
    EXPECT_TRUE(raw.timed_out);  // still open: no end of stream, just silence
  }
}

// The channel state reads (docs/channels-and-keys.md 4.2) from the ChannelModel: lists paged
// in key order until the token is unset (a full last page brings one empty page), NOT_FOUND
// for a channel nobody registered, INVALID_ARGUMENT for page_size 0, a 31-byte id and
// another channel's token; metadata, pin and moderations as the model holds them.
TEST(ChannelModel, StateReadsPageLikeTheNode) {
  Running r = StartNode();
  const auto channels = r.srv->Read([](const wt::Node& n) { return n.Channels(); });
  ASSERT_GE(channels.size(), 2u);
  size_t members_seen = 0, moderations_seen = 0;
  for (const auto& [id, c] : channels) {
    for (uint32_t size : {1u, 2u, 1000u}) {
      std::vector<std::pair<uint64_t, int>> got;
      std::string token;
      int pages = 0;
      while (true) {
        ChannelMembersRequest q;
        q.set_channel_id(id);
        q.set_page_size(size);
        if (!token.empty()) q.set_page_token(token);
        ChannelMembersResponse resp;
        grpc::ClientContext ctx;
        ASSERT_TRUE(r.stub->GetChannelMembers(&ctx, q, &resp).ok());
        ++pages;
        ASSERT_LE(static_cast<uint32_t>(resp.members_size()), size);
        for (const auto& m : resp.members()) got.emplace_back(m.fid(), static_cast<int>(m.state()));
        if (!resp.has_next_page_token()) break;
        token = resp.next_page_token();
      }
      std::vector<std::pair<uint64_t, int>> want;
      for (const auto& [fid, slot] : c.members) want.emplace_back(fid, static_cast<int>(slot.second));
      EXPECT_EQ(got, want);
      if (size == 1) {
        EXPECT_EQ(pages, static_cast<int>(want.size()) + 1);  // ends with an empty page
      }
    }
    members_seen += c.members.size();
    std::vector<std::string> casts;
    std::string token;
    while (true) {
      ChannelModerationsRequest q;
      q.set_channel_id(id);
      q.set_page_size(2);
      if (!token.empty()) q.set_page_token(token);
      ChannelModerationsResponse resp;
      grpc::ClientContext ctx;
      ASSERT_TRUE(r.stub->GetChannelModerations(&ctx, q, &resp).ok());
      for (const auto& m : resp.moderations()) {
        casts.push_back(m.cast_hash());
        const auto& slot = c.moderations.at(m.cast_hash());
        EXPECT_EQ(m.action() == CHANNEL_MODERATE_ACTION_HIDE, slot.second);
      }
      if (!resp.has_next_page_token()) break;
      token = resp.next_page_token();
    }
    EXPECT_EQ(casts.size(), c.moderations.size());
    moderations_seen += casts.size();
    ChannelRequest q;
    q.set_channel_id(id);
    ChannelPinResponse pin;
    grpc::ClientContext pctx;
    ASSERT_TRUE(r.stub->GetChannelPin(&pctx, q, &pin).ok());
    EXPECT_EQ(pin.has_pin(), !c.pinned.empty());
    if (pin.has_pin()) {
      EXPECT_EQ(pin.pin().cast_hash(), c.pinned);
    }
    ChannelMetadataResponse meta;
    grpc::ClientContext mctx;
    ASSERT_TRUE(r.stub->GetChannelMetadata(&mctx, q, &meta).ok());
    EXPECT_NE(meta.casting_mode(), CASTING_MODE_NONE);
    EXPECT_EQ(static_cast<int>(meta.membership_mode()), c.update == wt::kNone ? 2 : c.membership_mode);
  }
  EXPECT_GT(members_seen, 0u);
  EXPECT_GT(moderations_seen, 0u);

  const std::string first = channels.begin()->first, second = std::next(channels.begin())->first;
  auto members = [&](const std::string& id, std::optional<uint32_t> size, const std::string& token) {
    ChannelMembersRequest q;
    q.set_channel_id(id);
    if (size) q.set_page_size(*size);
    if (!token.empty()) q.set_page_token(token);
    ChannelMembersResponse resp;
    grpc::ClientContext ctx;
    return r.stub->GetChannelMembers(&ctx, q, &resp).error_code();
  };
  EXPECT_EQ(members(first, 0u, ""), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(members(first, std::nullopt, ""), grpc::StatusCode::OK);
  EXPECT_EQ(members(std::string(32, '\x11'), 10u, ""), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(members(std::string(31, '\x11'), 10u, ""), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(members(second, 10u, first + std::string(8, '\0')), grpc::StatusCode::INVALID_ARGUMENT);
  ChannelRequest unknown;
  unknown.set_channel_id(std::string(32, '\x11'));
  ChannelMetadataResponse meta;
  grpc::ClientContext ctx;
  EXPECT_EQ(r.stub->GetChannelMetadata(&ctx, unknown, &meta).error_code(), grpc::StatusCode::NOT_FOUND);
}
