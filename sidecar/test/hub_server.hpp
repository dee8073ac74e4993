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
#include <chrono>
#include <string>
#include <vector>

#include "rpc.grpc.pb.h"
#include "waypoint/core/routing.hpp"

namespace waypoint::sidecar::test {

class HubServer final : public HubService::Service {
 public:
  uint32_t num_shards = 1;
  std::map<uint32_t, std::vector<HubEvent>> log;   // per shard, ordered by id
  std::set<uint64_t> withhold;                     // ids Subscribe skips
  std::set<uint64_t> garble;                       // ids Subscribe sends as undecodable events
  std::map<uint64_t, uint32_t> casts_per_fid;      // backfill: number of casts per fid
  std::set<uint64_t> failing_fids;                 // backfill: these fids get UNAVAILABLE
  std::set<uint64_t> invalid_fids;                 // backfill: these fids get INVALID_ARGUMENT
  std::map<uint64_t, uint32_t> user_data_per_fid;  // backfill: user-data messages per fid
  // backfill: GetSignersByFid is served only when set (else UNIMPLEMENTED, as an older
  // node); signers per fid, paged by page_size with a token even after a full last page
  std::map<uint64_t, std::vector<Signer>>* signers_per_fid = nullptr;
  std::atomic<int> subscribes{0}, get_events{0};
  std::atomic<int> active_streams{0};
  // Operations tests: every unary call is recorded (method, steady ms) and may be slowed
  // down or refused with UNAVAILABLE, like an overloaded or restarting node.
  std::atomic<bool> unavailable{false};
  std::atomic<int> delay_ms{0};
  std::atomic<int> in_flight{0}, max_in_flight{0};
  std::vector<std::pair<std::string, int64_t>> Calls() {
    std::lock_guard<std::mutex> l(calls_mu_);
    return calls_;
  }
  // Note records a call; returns UNAVAILABLE when the node is "down". The Flight guard
  // keeps the in-flight count while a handler runs.
  struct Flight {
    HubServer* h;
    explicit Flight(HubServer* s) : h(s) {
      const int n = ++h->in_flight;
      int m = h->max_in_flight.load();
      while (n > m && !h->max_in_flight.compare_exchange_weak(m, n)) {
      }
      if (h->delay_ms.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(h->delay_ms.load()));
    }
    ~Flight() { --h->in_flight; }
  };
  bool Note(const std::string& method) {
    std::lock_guard<std::mutex> l(calls_mu_);
    calls_.emplace_back(method, std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now().time_since_epoch())
                                    .count());
    return !unavailable.load();
  }

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
    if (!Note("GetInfo")) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "node restarting");
    out->set_version("hub-server-test");
    out->set_num_shards(num_shards);
    return grpc::Status::OK;
  }

  grpc::Status Subscribe(grpc::ServerContext* ctx, const SubscribeRequest* req,
                         grpc::ServerWriter<HubEvent>* w) override {
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
    Flight f(this);
    if (!Note("GetAllCastMessagesByFid")) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "node restarting");
    if (failing_fids.count(req->fid())) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "fid unavailable");
    if (invalid_fids.count(req->fid())) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad fid");
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
    if (!Note("GetFids")) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "node restarting");
    for (const auto& [fid, n] : casts_per_fid)
      if (core::ShardOf(fid, num_shards) == req->shard_id()) out->add_fids(fid);
    return grpc::Status::OK;
  }

  // The other per-fid stores hold nothing in these tests.
#define WAYPOINT_EMPTY(Method, Req, Resp)                                                      \
  grpc::Status Method(grpc::ServerContext*, const Req*, Resp*) override {                      \
    Flight f(this);                                                                            \
    if (!Note(#Method)) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "node restarting"); \
    return grpc::Status::OK;                                                                   \
  }
  WAYPOINT_EMPTY(GetAllReactionMessagesByFid, FidTimestampRequest, MessagesResponse)
  WAYPOINT_EMPTY(GetAllLinkMessagesByFid, FidTimestampRequest, MessagesResponse)
  WAYPOINT_EMPTY(GetAllVerificationMessagesByFid, FidTimestampRequest, MessagesResponse)
  WAYPOINT_EMPTY(GetAllLendStorageMessagesByFid, FidTimestampRequest, MessagesResponse)
  WAYPOINT_EMPTY(GetLinkCompactStateMessageByFid, FidRequest, MessagesResponse)
  WAYPOINT_EMPTY(GetUserNameProofsByFid, FidRequest, UsernameProofsResponse)
  WAYPOINT_EMPTY(GetOnChainEvents, OnChainEventRequest, OnChainEventResponse)
#undef WAYPOINT_EMPTY

  grpc::Status GetAllUserDataMessagesByFid(grpc::ServerContext*, const FidTimestampRequest* req,
                                           MessagesResponse* out) override {
    Flight f(this);
    if (!Note("GetAllUserDataMessagesByFid")) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "node restarting");
    const uint32_t n = user_data_per_fid.count(req->fid()) ? user_data_per_fid[req->fid()] : 0;
    for (uint32_t i = 0; i < n; ++i) {
      Message* m = out->add_messages();
      m->mutable_data()->set_fid(req->fid());
      m->mutable_data()->set_type(MESSAGE_TYPE_USER_DATA_ADD);
      m->mutable_data()->mutable_user_data_body()->set_type(USER_DATA_TYPE_DISPLAY);
      m->mutable_data()->mutable_user_data_body()->set_value("name-" + std::to_string(i));
      m->set_hash("ud-" + std::to_string(req->fid()) + "-" + std::to_string(i));
    }
    return grpc::Status::OK;
  }

  grpc::Status GetSignersByFid(grpc::ServerContext*, const SignersByFidRequest* req,
                               SignersByFidResponse* out) override {
    Flight f(this);
    if (!Note("GetSignersByFid")) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "node restarting");
    if (!signers_per_fid) return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "unknown method");
    auto it = signers_per_fid->find(req->fid());
    if (it == signers_per_fid->end()) return grpc::Status::OK;
    size_t from = 0;
    for (unsigned char c : req->page_token()) from = from * 256 + c;
    const size_t n = req->page_size() > 0 ? req->page_size() : 1000;
    size_t i = from;
    for (; i < it->second.size() && i < from + n; ++i) *out->add_signers() = it->second[i];
    if (i - from == n) out->set_next_page_token(std::string(1, static_cast<char>(i)));
    return grpc::Status::OK;
  }

  grpc::Status GetIdRegistryOnChainEvent(grpc::ServerContext*, const FidRequest*, OnChainEvent*) override {
    Flight f(this);
    if (!Note("GetIdRegistryOnChainEvent")) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "node restarting");
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
  std::mutex mu_, calls_mu_;
  std::vector<std::pair<std::string, int64_t>> calls_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace waypoint::sidecar::test
