// A small real HubService on loopback for sidecar tests: a scripted per-shard event log
// served by Subscribe (with events to withhold or garble), GetEvents and GetInfo, and
// paged cast messages for backfill. It is a real gRPC server, not a mock object.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "rpc.grpc.pb.h"
#include "waypoint/core/routing.hpp"

namespace waypoint::sidecar::test {

class HubServer final : public HubService::Service {
 public:
  uint32_t num_shards = 1;
  std::map<uint32_t, std::vector<HubEvent>> log;  // per shard, ordered by id
  std::set<uint64_t> withhold;                      // ids Subscribe skips
  std::set<uint64_t> garble;                        // ids Subscribe sends as undecodable events
  std::map<uint64_t, uint32_t> casts_per_fid;       // backfill: number of casts per fid
  std::set<uint64_t> failing_fids;                  // backfill: these fids get UNAVAILABLE
  std::atomic<int> subscribes{0}, get_events{0};
  std::atomic<int> active_streams{0};

  // Build a log of `blocks` blocks with `per_block` MERGE_MESSAGE events each.
  void BuildLog(uint32_t shard, uint64_t first_block, uint64_t blocks, uint32_t per_block) {
    auto& l = log[shard];
    for (uint64_t b = first_block; b < first_block + blocks; ++b) {
      HubEvent bc;
      bc.set_type(HUB_EVENT_TYPE_BLOCK_CONFIRMED);
      bc.set_id(core::MakeEventId(b, 0));
      bc.set_block_number(b);
      bc.set_shard_index(shard);
      auto* body = bc.mutable_block_confirmed_body();
      body->set_block_number(b);
      body->set_shard_index(shard);
      body->set_total_events(per_block + 1);
      (*body->mutable_event_counts_by_type())[HUB_EVENT_TYPE_MERGE_MESSAGE] = per_block;
      (*body->mutable_event_counts_by_type())[HUB_EVENT_TYPE_BLOCK_CONFIRMED] = 1;
      body->set_max_block_event_seqnum(per_block);
      l.push_back(bc);
      for (uint32_t s = 1; s <= per_block; ++s) {
        HubEvent e;
        e.set_type(HUB_EVENT_TYPE_MERGE_MESSAGE);
        e.set_id(core::MakeEventId(b, s));
        e.set_block_number(b);
        e.set_shard_index(shard);
        auto* m = e.mutable_merge_message_body()->mutable_message();
        m->mutable_data()->set_fid(1 + (b * 7 + s) % 13);
        m->mutable_data()->set_type(MESSAGE_TYPE_CAST_ADD);
        m->set_hash("h" + std::to_string(e.id()));
        l.push_back(e);
      }
    }
  }

  grpc::Status GetInfo(grpc::ServerContext*, const GetInfoRequest*, GetInfoResponse* out) override {
    out->set_version("hub-server-test");
    out->set_num_shards(num_shards);
    return grpc::Status::OK;
  }

  grpc::Status Subscribe(grpc::ServerContext* ctx, const SubscribeRequest* req, grpc::ServerWriter<HubEvent>* w) override {
    ++subscribes;
    ++active_streams;
    const uint32_t shard = req->shard_index();
    std::vector<HubEvent> events;
    {
      std::lock_guard<std::mutex> l(mu_);
      events = log[shard];
    }
    for (const auto& e : events) {
      if (ctx->IsCancelled()) break;
      if (req->has_from_id() && e.id() < req->from_id()) continue;
      if (withhold.count(e.id())) continue;
      if (garble.count(e.id())) {
        // ServerWriter<HubEvent> cannot send raw bytes; send an event with a broken message instead.
        HubEvent broken = e;
        broken.mutable_merge_message_body()->mutable_message()->mutable_data()->mutable_cast_add_body()->set_text(
            std::string("\xff\xfe", 2));  // invalid UTF-8 in a proto3 string: the parser rejects it
        w->Write(broken);
        continue;
      }
      w->Write(e);
    }
    // Stay open like a live stream until the client leaves.
    while (!ctx->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    --active_streams;
    return grpc::Status::OK;
  }

  grpc::Status GetEvents(grpc::ServerContext*, const EventsRequest* req, EventsResponse* out) override {
    ++get_events;
    std::lock_guard<std::mutex> l(mu_);
    const uint32_t page = req->has_page_size() ? req->page_size() : 1000;
    uint64_t start = req->start_id();
    if (req->has_page_token()) start = std::stoull(req->page_token());
    for (const auto& e : log[req->shard_index()]) {
      if (e.id() < start || (req->has_stop_id() && e.id() >= req->stop_id())) continue;
      if (static_cast<uint32_t>(out->events_size()) == page) {
        out->set_next_page_token(std::to_string(e.id()));
        break;
      }
      *out->add_events() = e;
    }
    return grpc::Status::OK;
  }

  grpc::Status GetAllCastMessagesByFid(grpc::ServerContext*, const FidTimestampRequest* req,
                                       MessagesResponse* out) override {
    if (failing_fids.count(req->fid())) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "fid unavailable");
    const uint32_t n = casts_per_fid.count(req->fid()) ? casts_per_fid[req->fid()] : 0;
    const uint32_t page = req->has_page_size() ? req->page_size() : 100;
    const uint32_t start = req->has_page_token() ? std::stoul(req->page_token()) : 0;
    for (uint32_t i = start; i < n && i < start + page; ++i) {
      Message* m = out->add_messages();
      m->mutable_data()->set_fid(req->fid());
      m->set_hash("cast-" + std::to_string(req->fid()) + "-" + std::to_string(i));
    }
    if (start + page < n) out->set_next_page_token(std::to_string(start + page));
    return grpc::Status::OK;
  }

  grpc::Status GetFids(grpc::ServerContext*, const FidsRequest* req, FidsResponse* out) override {
    for (const auto& [fid, n] : casts_per_fid)
      if (core::ShardOf(fid, num_shards) == req->shard_id()) out->add_fids(fid);
    return grpc::Status::OK;
  }

  // The other per-fid stores hold nothing in these tests.
#define WAYPOINT_EMPTY(Method, Req, Resp) \
  grpc::Status Method(grpc::ServerContext*, const Req*, Resp*) override { return grpc::Status::OK; }
  WAYPOINT_EMPTY(GetAllReactionMessagesByFid, FidTimestampRequest, MessagesResponse)
  WAYPOINT_EMPTY(GetAllLinkMessagesByFid, FidTimestampRequest, MessagesResponse)
  WAYPOINT_EMPTY(GetAllVerificationMessagesByFid, FidTimestampRequest, MessagesResponse)
  WAYPOINT_EMPTY(GetAllUserDataMessagesByFid, FidTimestampRequest, MessagesResponse)
  WAYPOINT_EMPTY(GetAllLendStorageMessagesByFid, FidTimestampRequest, MessagesResponse)
  WAYPOINT_EMPTY(GetLinkCompactStateMessageByFid, FidRequest, MessagesResponse)
  WAYPOINT_EMPTY(GetUserNameProofsByFid, FidRequest, UsernameProofsResponse)
  WAYPOINT_EMPTY(GetOnChainEvents, OnChainEventRequest, OnChainEventResponse)
#undef WAYPOINT_EMPTY

  grpc::Status GetIdRegistryOnChainEvent(grpc::ServerContext*, const FidRequest*, OnChainEvent*) override {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no id registration");
  }

  // Start serves on a free loopback port; returns "127.0.0.1:<port>".
  std::string Start() {
    grpc::ServerBuilder b;
    int port = 0;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(this);
    server_ = b.BuildAndStart();
    return "127.0.0.1:" + std::to_string(port);
  }
  void Stop() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    server_.reset();
  }
  ~HubServer() override { Stop(); }

 private:
  std::mutex mu_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace waypoint::sidecar::test
