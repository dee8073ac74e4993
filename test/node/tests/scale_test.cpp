// Scale mode (scale.hpp): the stream and the bulk reads describe the same dataset, every
// message has a valid hash and signature, and the release file bounds the stream.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "rpc.grpc.pb.h"
#include "waypoint/core/verify.hpp"
#include "waypoint/testnode/scale.hpp"

namespace wt = waypoint::testnode;
using namespace std::chrono_literals;

namespace {

std::map<std::string, std::string> ReadStatus(const std::string& path) {
  std::map<std::string, std::string> kv;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto sp = line.find(' ');
    if (sp != std::string::npos)
      kv[line.substr(0, sp)] += (kv.count(line.substr(0, sp)) ? ";" : "") + line.substr(sp + 1);
  }
  return kv;
}

bool WaitFor(const std::function<bool()>& f) {
  for (int i = 0; i < 300; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// Every event of a shard up to last_id (the stream never ends on its own).
std::vector<HubEvent> ReadShard(HubService::Stub* stub, uint32_t shard, uint64_t last_id) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 60s);
  SubscribeRequest req;
  req.set_shard_index(shard);
  req.set_from_id(0);
  for (auto t : {HUB_EVENT_TYPE_BLOCK_CONFIRMED, HUB_EVENT_TYPE_MERGE_MESSAGE, HUB_EVENT_TYPE_PRUNE_MESSAGE,
                 HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT})
    req.add_event_types(t);
  auto reader = stub->Subscribe(&ctx, req);
  std::vector<HubEvent> out;
  HubEvent e;
  while (reader->Read(&e)) {
    out.push_back(e);
    if (e.id() >= last_id) break;
  }
  ctx.TryCancel();
  reader->Finish();
  return out;
}

}  // namespace

TEST(ScaleNode, StreamAndBulkReadsAgree) {
  char dir[] = "/tmp/waypoint-scale-test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string release = std::string(dir) + "/release", status = std::string(dir) + "/status";
  std::ofstream(release) << 2000 << "\n";
  wt::ScaleOptions opt;
  opt.seed = 3;
  opt.messages = 20000;  // the 1% cap lets busy fids pass kPruneAge (64) messages: prunes
  opt.fids = 150;
  opt.shards = 2;
  opt.release_file = release;
  opt.status_file = status;
  wt::ScaleServer srv(opt);
  const int port = srv.Start(0);
  ASSERT_GT(port, 0);
  auto stub =
      HubService::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));

  // The release bounds the stream (to the end of the block that passes it).
  ASSERT_TRUE(WaitFor([&] { return ReadStatus(status)["release"] == "2000"; }));
  const uint64_t first = std::stoull(ReadStatus(status)["messages"]);
  EXPECT_GE(first, 2000u);
  EXPECT_LT(first, 8000u);
  // Everything, then the whole stream is read and replayed into a model of what each fid holds.
  std::ofstream(release) << 1000000 << "\n";
  ASSERT_TRUE(WaitFor([&] { return ReadStatus(status)["done"] == "1"; }));
  auto st = ReadStatus(status);
  std::map<uint64_t, std::set<std::string>> held;  // fid -> message hashes
  std::map<uint64_t, int> onchain;
  uint64_t merges = 0, events = 0, prunes = 0, removes = 0;
  std::istringstream ids(st["last_id"]);
  std::string item;
  while (std::getline(ids, item, ';')) {
    const uint32_t shard = static_cast<uint32_t>(std::stoul(item.substr(0, item.find(' '))));
    const uint64_t last = std::stoull(item.substr(item.find(' ') + 1));
    uint64_t prev = 0;
    for (const HubEvent& e : ReadShard(stub.get(), shard, last)) {
      EXPECT_GT(e.id(), prev);
      prev = e.id();
      if (e.type() == HUB_EVENT_TYPE_BLOCK_CONFIRMED) continue;
      ++events;
      if (e.type() == HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT) {
        onchain[e.merge_on_chain_event_body().on_chain_event().fid()]++;
        continue;
      }
      const Message& m = e.type() == HUB_EVENT_TYPE_MERGE_MESSAGE ? e.merge_message_body().message()
                                                                  : e.prune_message_body().message();
      const auto v = waypoint::core::VerifyMessage(m);
      EXPECT_TRUE(v.ok()) << v.reason;
      auto& h = held[m.data().fid()];
      if (e.type() == HUB_EVENT_TYPE_MERGE_MESSAGE) {
        ++merges;
        h.insert(m.hash());
        for (const Message& d : e.merge_message_body().deleted_messages()) {
          EXPECT_EQ(h.erase(d.hash()), 1u);
          removes += m.data().type() != MESSAGE_TYPE_USER_DATA_ADD;
        }
      } else {
        ++prunes;
        EXPECT_EQ(h.erase(m.hash()), 1u);
      }
    }
  }
  EXPECT_EQ(std::to_string(merges), st["messages"]);
  EXPECT_EQ(std::to_string(events), st["events"]);
  EXPECT_GT(prunes, 0u);
  EXPECT_GT(removes, 0u);
  EXPECT_NEAR(static_cast<double>(merges), 20000, 2000);

  // The bulk reads (small pages, so the token is exercised) return exactly what the stream left.
  for (uint64_t fid = 1; fid <= opt.fids; ++fid) {
    EXPECT_EQ(onchain[fid], 6) << fid;  // three registration events, each on two shards
    std::set<std::string> got;
    using Call =
        grpc::Status (HubService::Stub::*)(grpc::ClientContext*, const FidTimestampRequest&, MessagesResponse*);
    for (Call call : {&HubService::Stub::GetAllCastMessagesByFid, &HubService::Stub::GetAllReactionMessagesByFid,
                      &HubService::Stub::GetAllLinkMessagesByFid, &HubService::Stub::GetAllVerificationMessagesByFid,
                      &HubService::Stub::GetAllUserDataMessagesByFid}) {
      std::string token;
      uint32_t last_ts = 0;
      do {
        grpc::ClientContext ctx;
        FidTimestampRequest req;
        req.set_fid(fid);
        req.set_page_size(7);
        req.set_page_token(token);
        MessagesResponse resp;
        ASSERT_TRUE(((*stub).*call)(&ctx, req, &resp).ok());
        for (const Message& m : resp.messages()) {
          EXPECT_GT(m.data().timestamp(), last_ts);  // (timestamp, hash) order, timestamps unique per fid
          last_ts = m.data().timestamp();
          EXPECT_TRUE(waypoint::core::VerifyMessage(m).ok());
          got.insert(m.hash());
        }
        token = resp.next_page_token();
      } while (!token.empty());
    }
    EXPECT_EQ(got, held[fid]) << "fid " << fid;
    grpc::ClientContext ctx;
    FidRequest req;
    req.set_fid(fid);
    OnChainEvent ev;
    ASSERT_TRUE(stub->GetIdRegistryOnChainEvent(&ctx, req, &ev).ok());
    EXPECT_EQ(ev.type(), EVENT_TYPE_ID_REGISTER);
  }
  srv.Shutdown();
  std::remove(release.c_str());
  std::remove(status.c_str());
  std::remove(dir);
}
