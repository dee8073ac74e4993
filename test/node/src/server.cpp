#include "waypoint/testnode/server.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>

#include "rpc.grpc.pb.h"

namespace waypoint::testnode {

namespace {

using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;
using grpc::Status;
using grpc::StatusCode;

constexpr uint32_t kDefaultMessagePage = 10000;
constexpr uint32_t kDefaultEventPage = 1000;
constexpr uint32_t kDefaultFidPage = 1000;

enum FaultKind : uint32_t { kDuplicateFault = 1, kGarbleFault = 2, kWithholdFault = 3 };

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::string Be64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[7 - i] = static_cast<char>(v >> (8 * i));
  return s;
}

std::optional<uint64_t> ParseBe64(const std::string& s) {
  if (s.size() != 8) return std::nullopt;
  uint64_t v = 0;
  for (unsigned char c : s) v = (v << 8) | c;
  return v;
}

// Page token of a message list: timestamp (4 bytes BE) + 20-byte hash of the last one sent.
std::string MsgKey(const MsgRec& m) {
  std::string k(4, '\0');
  for (int i = 0; i < 4; ++i) k[3 - i] = static_cast<char>(m.ts >> (8 * i));
  k.append(reinterpret_cast<const char*>(m.hash.data()), m.hash.size());
  return k;
}

ServerUnaryReactor* Done(CallbackServerContext* ctx, const Status& st) {
  auto* r = ctx->DefaultReactor();
  r->Finish(st);
  return r;
}

Status InvalidShard() { return Status(StatusCode::INVALID_ARGUMENT, "Invalid shard id"); }

// Pages a (timestamp, hash)-sorted list of held messages into a MessagesResponse.
Status PageMessages(const Node& node, const std::vector<uint32_t>& sorted, uint32_t page_size, const std::string& token,
                    bool reverse, std::optional<uint64_t> start_ts, std::optional<uint64_t> stop_ts,
                    MessagesResponse* out) {
  if (!token.empty() && token.size() != 24) return Status(StatusCode::INVALID_ARGUMENT, "invalid page token");
  if (page_size == 0) page_size = kDefaultMessagePage;
  std::vector<uint32_t> list;
  for (uint32_t i : sorted) {
    const MsgRec& m = node.Msg(i);
    if (start_ts && m.ts < *start_ts) continue;
    if (stop_ts && m.ts > *stop_ts) continue;
    list.push_back(i);
  }
  if (reverse) std::reverse(list.begin(), list.end());
  size_t pos = 0;
  if (!token.empty()) {
    while (pos < list.size()) {
      const std::string k = MsgKey(node.Msg(list[pos]));
      if (reverse ? k < token : k > token) break;
      ++pos;
    }
  }
  size_t end = std::min(list.size(), pos + page_size);
  for (size_t i = pos; i < end; ++i) out->add_messages()->ParseFromString(node.Msg(list[i]).bytes);
  if (end < list.size() && end > pos) out->set_next_page_token(MsgKey(node.Msg(list[end - 1])));
  return Status::OK;
}

std::optional<uint64_t> OptTs(bool has, uint64_t v) { return has ? std::optional<uint64_t>(v) : std::nullopt; }

}  // namespace

bool FaultHits(uint64_t seed, uint32_t kind, uint64_t id, double rate) {
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  const uint64_t h = Mix(Mix(seed ^ (uint64_t{kind} << 56)) ^ id);
  return static_cast<double>(h >> 11) / static_cast<double>(uint64_t{1} << 53) < rate;
}

std::string GarbleBytes(const std::string& event_bytes) {
  // Cut inside the event, then an over-long varint: no protobuf parser accepts this.
  std::string g = event_bytes.substr(0, event_bytes.size() / 2);
  g.append(11, '\xff');
  return g;
}

// ---- Subscribe ----------------------------------------------------------------------

class SubscribeReactor : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  SubscribeReactor(NodeServer* srv, uint32_t shard, std::set<int> types, std::optional<uint64_t> from_id)
      : srv_(srv), shard_(shard), types_(std::move(types)) {
    std::shared_lock<std::shared_mutex> l(srv_->mutex());
    const ShardLog* log = srv_->node().Log(shard_);
    live_start_ = log->events.size();
    cursor_ = from_id ? log->LowerBound(*from_id) : live_start_;
  }

  void Start() {
    srv_->Register(this);
    if (srv_->stopping()) {
      FinishOnce(Status(StatusCode::UNAVAILABLE, "shutting down"));
      return;
    }
    Pump();
  }

  // Sends the next event if none is in flight.
  void Pump() {
    std::unique_lock<std::mutex> lk(mu_);
    if (writing_ || finished_ || stalled_) return;
    std::string payload;
    bool have = false;
    if (has_dup_) {
      payload = std::move(dup_);
      has_dup_ = false;
      have = true;
    } else {
      const FaultOptions& f = srv_->faults();
      std::shared_lock<std::shared_mutex> nl(srv_->mutex());
      const ShardLog* log = srv_->node().Log(shard_);
      while (cursor_ < log->events.size()) {
        // The node's live broadcast channel drops what a lagging receiver has not read.
        if (f.lag_skip && cursor_ >= live_start_ && log->events.size() - cursor_ > f.lag_capacity) {
          cursor_ = log->events.size() - f.lag_capacity;
        }
        const EventRec& e = log->events[cursor_++];
        if (types_.count(e.type) == 0) continue;
        if (e.type != HUB_EVENT_TYPE_BLOCK_CONFIRMED && FaultHits(f.seed, kWithholdFault, e.id, f.withhold)) continue;
        payload = srv_->node().EventBytes(shard_, e);
        if (FaultHits(f.seed, kGarbleFault, e.id, f.garble_rate)) {
          payload = GarbleBytes(payload);
        } else if (FaultHits(f.seed, kDuplicateFault, e.id, f.duplicate_rate)) {
          dup_ = payload;
          has_dup_ = true;
        }
        have = true;
        break;
      }
    }
    if (!have) return;
    writing_ = true;
    grpc::Slice slice(payload);
    buf_ = grpc::ByteBuffer(&slice, 1);
    lk.unlock();
    StartWrite(&buf_);
  }

  // Ends the stream once; deferred while a write is in flight.
  void FinishOnce(const Status& st) {
    std::unique_lock<std::mutex> lk(mu_);
    if (finished_) return;
    finished_ = true;
    if (writing_) {
      pending_finish_ = st;
      return;
    }
    lk.unlock();
    Finish(st);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lk(mu_);
    writing_ = false;
    if (pending_finish_) {
      Status st = *pending_finish_;
      pending_finish_.reset();
      lk.unlock();
      Finish(st);
      return;
    }
    if (!ok) {
      lk.unlock();
      FinishOnce(Status(StatusCode::CANCELLED, "write failed"));
      return;
    }
    sent_++;
    const FaultOptions& f = srv_->faults();
    if (f.drop_every > 0 && sent_ >= f.drop_every) {
      lk.unlock();
      FinishOnce(Status(StatusCode::UNAVAILABLE, "test node: stream dropped (--drop-every)"));
      return;
    }
    if (f.stall_after > 0 && sent_ >= f.stall_after) stalled_ = true;
    lk.unlock();
    Pump();
  }

  void OnCancel() override { FinishOnce(Status(StatusCode::CANCELLED, "cancelled")); }

  void OnDone() override {
    srv_->Unregister(this);
    delete this;
  }

 private:
  NodeServer* srv_;
  uint32_t shard_;
  std::set<int> types_;
  std::mutex mu_;
  size_t cursor_ = 0;
  size_t live_start_ = 0;
  uint64_t sent_ = 0;
  bool writing_ = false;
  bool finished_ = false;
  bool stalled_ = false;
  std::optional<Status> pending_finish_;
  std::string dup_;
  bool has_dup_ = false;
  grpc::ByteBuffer buf_;
};

// ---- the service ----------------------------------------------------------------------

class HubServiceImpl final : public HubService::WithRawCallbackMethod_Subscribe<HubService::CallbackService> {
 public:
  explicit HubServiceImpl(NodeServer* srv) : srv_(srv) {}

  grpc::ServerWriteReactor<grpc::ByteBuffer>* Subscribe(CallbackServerContext* ctx,
                                                        const grpc::ByteBuffer* raw) override {
    SubscribeRequest req;
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (raw->Dump(&slices).ok()) {
      for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    const bool parsed = req.ParseFromString(bytes);
    const uint32_t shard = req.has_shard_index() ? req.shard_index() : 0;
    if (!parsed || shard == 0 || shard > srv_->node().num_shards()) {
      auto* r = new ErrorWriter(parsed ? InvalidShard() : Status(StatusCode::INVALID_ARGUMENT, "bad request"));
      return r;
    }
    std::set<int> types(req.event_types().begin(), req.event_types().end());
    auto* r = new SubscribeReactor(srv_, shard, std::move(types),
                                   req.has_from_id() ? std::optional<uint64_t>(req.from_id()) : std::nullopt);
    r->Start();
    return r;
  }

  ServerUnaryReactor* GetInfo(CallbackServerContext* ctx, const GetInfoRequest*, GetInfoResponse* resp) override {
    std::shared_lock<std::shared_mutex> l(srv_->mutex());
    const Node& n = srv_->node();
    resp->set_version("waypoint-test-node 0.1");
    resp->set_peerid("waypoint-test-node");
    resp->set_num_shards(n.num_shards());
    resp->mutable_db_stats()->set_num_messages(n.NumHeldMessages());
    resp->mutable_db_stats()->set_num_fid_registrations(n.NumFids());
    resp->mutable_db_stats()->set_approx_size(n.NumMessages() * 256);
    uint64_t max_height = 0;
    for (uint32_t s = 1; s <= n.num_shards(); ++s) max_height = std::max(max_height, n.Log(s)->Head());
    auto* s0 = resp->add_shard_infos();
    s0->set_shard_id(0);
    s0->set_max_height(max_height);
    for (uint32_t s = 1; s <= n.num_shards(); ++s) {
      auto* si = resp->add_shard_infos();
      si->set_shard_id(s);
      si->set_max_height(n.Log(s)->Head());
      si->set_num_messages(n.NumHeldMessagesInShard(s));
      si->set_num_fid_registrations(n.FidsOfShard(s).size());
      si->set_approx_size(n.NumHeldMessagesInShard(s) * 256);
    }
    return Done(ctx, Status::OK);
  }

  ServerUnaryReactor* GetFids(CallbackServerContext* ctx, const FidsRequest* req, FidsResponse* resp) override {
    std::shared_lock<std::shared_mutex> l(srv_->mutex());
    const Node& n = srv_->node();
    if (req->shard_id() == 0 || req->shard_id() > n.num_shards()) return Done(ctx, InvalidShard());
    std::vector<uint64_t> fids = n.FidsOfShard(req->shard_id());
    const bool reverse = req->reverse();
    if (reverse) std::reverse(fids.begin(), fids.end());
    uint32_t page = req->page_size() ? req->page_size() : kDefaultFidPage;
    size_t pos = 0;
    if (!req->page_token().empty()) {
      auto after = ParseBe64(req->page_token());
      if (!after) return Done(ctx, Status(StatusCode::INVALID_ARGUMENT, "invalid page token"));
      while (pos < fids.size() && (reverse ? fids[pos] >= *after : fids[pos] <= *after)) ++pos;
    }
    const size_t end = std::min(fids.size(), pos + page);
    for (size_t i = pos; i < end; ++i) resp->add_fids(fids[i]);
    if (end < fids.size() && end > pos) resp->set_next_page_token(Be64(fids[end - 1]));
    return Done(ctx, Status::OK);
  }

  ServerUnaryReactor* GetEvent(CallbackServerContext* ctx, const EventRequest* req, HubEvent* resp) override {
    std::shared_lock<std::shared_mutex> l(srv_->mutex());
    const Node& n = srv_->node();
    const ShardLog* log = n.Log(req->shard_index());
    if (!log) return Done(ctx, InvalidShard());
    const size_t i = log->LowerBound(req->id());
    if (i >= log->events.size() || log->events[i].id != req->id()) {
      return Done(ctx, Status(StatusCode::NOT_FOUND, "event not found"));
    }
    resp->ParseFromString(n.EventBytes(req->shard_index(), log->events[i]));
    return Done(ctx, Status::OK);
  }

  ServerUnaryReactor* GetEvents(CallbackServerContext* ctx, const EventsRequest* req, EventsResponse* resp) override {
    std::shared_lock<std::shared_mutex> l(srv_->mutex());
    const Node& n = srv_->node();
    const uint32_t shard = req->has_shard_index() ? req->shard_index() : 0;
    const ShardLog* log = n.Log(shard);
    if (!log) return Done(ctx, InvalidShard());
    const uint32_t page = req->page_size() ? req->page_size() : kDefaultEventPage;
    // Range [start_id, stop_id); the token is the next id to return.
    uint64_t lo = req->start_id();
    uint64_t hi = req->has_stop_id() ? req->stop_id() : UINT64_MAX;
    std::optional<uint64_t> token;
    if (!req->page_token().empty()) {
      token = ParseBe64(req->page_token());
      if (!token) return Done(ctx, Status(StatusCode::INVALID_ARGUMENT, "invalid page token"));
    }
    const auto& ev = log->events;
    if (!req->reverse()) {
      if (token) lo = std::max(lo, *token);
      size_t i = log->LowerBound(lo);
      uint32_t taken = 0;
      for (; i < ev.size() && ev[i].id < hi && taken < page; ++i, ++taken) {
        resp->add_events()->ParseFromString(n.EventBytes(shard, ev[i]));
      }
      if (i < ev.size() && ev[i].id < hi) resp->set_next_page_token(Be64(ev[i].id));
    } else {
      if (token) hi = std::min(hi, *token + 1);
      size_t i = log->LowerBound(hi);  // first index not returned
      uint32_t taken = 0;
      while (i > 0 && ev[i - 1].id >= lo && taken < page) {
        --i;
        ++taken;
        resp->add_events()->ParseFromString(n.EventBytes(shard, ev[i]));
      }
      if (i > 0 && ev[i - 1].id >= lo) resp->set_next_page_token(Be64(ev[i - 1].id));
    }
    return Done(ctx, Status::OK);
  }

  ServerUnaryReactor* GetCast(CallbackServerContext* ctx, const CastId* req, Message* resp) override {
    std::shared_lock<std::shared_mutex> l(srv_->mutex());
    const Node& n = srv_->node();
    const FidState* f = n.Fid(req->fid());
    if (f) {
      const auto& casts = f->held[static_cast<size_t>(Store::kCast)];
      auto it = casts.find(req->hash());
      if (it != casts.end() && n.Msg(it->second).type == MESSAGE_TYPE_CAST_ADD) {
        resp->ParseFromString(n.Msg(it->second).bytes);
        return Done(ctx, Status::OK);
      }
    }
    return Done(ctx, Status(StatusCode::NOT_FOUND, "cast not found"));
  }

  ServerUnaryReactor* GetUserDataByFid(CallbackServerContext* ctx, const FidRequest* req,
                                       MessagesResponse* resp) override {
    return ByFid(ctx, req, Store::kUserData, resp);
  }
  ServerUnaryReactor* GetLinkCompactStateMessageByFid(CallbackServerContext* ctx, const FidRequest* req,
                                                      MessagesResponse* resp) override {
    return ByFid(ctx, req, Store::kLinkCompactState, resp);
  }

  ServerUnaryReactor* GetUserNameProofsByFid(CallbackServerContext* ctx, const FidRequest* req,
                                             UsernameProofsResponse* resp) override {
    std::shared_lock<std::shared_mutex> l(srv_->mutex());
    const Node& n = srv_->node();
    const FidState* f = n.Fid(req->fid());
    if (f) {
      std::vector<std::string> names = f->fnames;
      std::sort(names.begin(), names.end());
      for (const auto& name : names) resp->add_proofs()->ParseFromString(n.Proof(n.FnameProof(name)).bytes);
      for (uint32_t i : n.HeldSorted(req->fid(), Store::kUsernameProof)) {
        Message m;
        m.ParseFromString(n.Msg(i).bytes);
        *resp->add_proofs() = m.data().username_proof_body();
      }
    }
    return Done(ctx, Status::OK);
  }

  ServerUnaryReactor* GetAllCastMessagesByFid(CallbackServerContext* ctx, const FidTimestampRequest* req,
                                              MessagesResponse* resp) override {
    return AllByFid(ctx, req, Store::kCast, resp);
  }
  ServerUnaryReactor* GetAllReactionMessagesByFid(CallbackServerContext* ctx, const FidTimestampRequest* req,
                                                  MessagesResponse* resp) override {
    return AllByFid(ctx, req, Store::kReaction, resp);
  }
  ServerUnaryReactor* GetAllVerificationMessagesByFid(CallbackServerContext* ctx, const FidTimestampRequest* req,
                                                      MessagesResponse* resp) override {
    return AllByFid(ctx, req, Store::kVerification, resp);
  }
  ServerUnaryReactor* GetAllUserDataMessagesByFid(CallbackServerContext* ctx, const FidTimestampRequest* req,
                                                  MessagesResponse* resp) override {
    return AllByFid(ctx, req, Store::kUserData, resp);
  }
  ServerUnaryReactor* GetAllLinkMessagesByFid(CallbackServerContext* ctx, const FidTimestampRequest* req,
                                              MessagesResponse* resp) override {
    return AllByFid(ctx, req, Store::kLink, resp);
  }
  ServerUnaryReactor* GetAllLendStorageMessagesByFid(CallbackServerContext* ctx, const FidTimestampRequest* req,
                                                     MessagesResponse* resp) override {
    return AllByFid(ctx, req, Store::kLendStorage, resp);
  }

  ServerUnaryReactor* GetOnChainSignersByFid(CallbackServerContext* ctx, const FidRequest* req,
                                             OnChainEventResponse* resp) override {
    std::shared_lock<std::shared_mutex> l(srv_->mutex());
    const Node& n = srv_->node();
    if (const FidState* f = n.Fid(req->fid())) {
      for (uint32_t i : f->onchain) {
        const OnchainRec& o = n.Onchain(i);
        if (o.type == EVENT_TYPE_SIGNER && o.signer_event == SIGNER_EVENT_TYPE_ADD && o.key < f->key_active.size() &&
            f->key_active[o.key]) {
          resp->add_events()->ParseFromString(o.bytes);
        }
      }
    }
    return Done(ctx, Status::OK);
  }

  // The unified signer read, as the node's list_signers_for_fid: the active on-chain
  // signers first (in merge order), then the held gasless keys (by public key), at most
  // page_size in all. The token is ours and opaque: 'o' + the position in the fid's
  // on-chain events to go on from, or 'g' + the last gasless key sent. A page that fills
  // page_size gets a token even when nothing follows (the next page is then empty), as a
  // store page does; paging ends when the token is unset.
  ServerUnaryReactor* GetSignersByFid(CallbackServerContext* ctx, const SignersByFidRequest* req,
                                      SignersByFidResponse* resp) override {
    std::shared_lock<std::shared_mutex> l(srv_->mutex());
    const Node& n = srv_->node();
    const FidState* f = n.Fid(req->fid());
    if (req->reverse()) return Done(ctx, Status(StatusCode::UNIMPLEMENTED, "reverse paging is not served"));
    const uint32_t limit = req->page_size() > 0 ? req->page_size() : 1000;
    const std::string& token = req->page_token();
    if (!token.empty() && token[0] != 'o' && token[0] != 'g')
      return Done(ctx, Status(StatusCode::INVALID_ARGUMENT, "invalid signers page token"));
    const auto apps = n.HeldAppKeys(req->fid());
    resp->set_gasless_signer_count(static_cast<uint32_t>(apps.size()));
    resp->set_gasless_signer_limit(1000);
    resp->set_current_user_nonce(f ? f->user_nonce : 0);
    if (!f) return Done(ctx, Status::OK);
    uint32_t sent = 0;
    std::string next;
    if (token.empty() || token[0] == 'o') {
      size_t from = 0;
      for (size_t i = 1; i < token.size() && i < 5; ++i) from = from << 8 | static_cast<uint8_t>(token[i]);
      for (size_t i = from; i < f->onchain.size(); ++i) {
        const OnchainRec& o = n.Onchain(f->onchain[i]);
        if (o.type != EVENT_TYPE_SIGNER || o.signer_event != SIGNER_EVENT_TYPE_ADD || o.key >= f->key_active.size() ||
            !f->key_active[o.key])
          continue;
        if (sent == limit) {
          const uint32_t at = static_cast<uint32_t>(i);
          next = std::string("o") + char(at >> 24) + char(at >> 16) + char(at >> 8) + char(at);
          break;
        }
        Signer* s = resp->add_signers();
        s->set_source(SIGNER_SOURCE_ONCHAIN);
        OnChainEvent* ev = s->mutable_onchain_event();
        ev->ParseFromString(o.bytes);
        s->set_key(ev->signer_event_body().key());
        s->set_key_type(ev->signer_event_body().key_type());
        s->set_fid(req->fid());
        s->set_added_at(ev->block_timestamp());
        ++sent;
      }
    }
    if (next.empty()) {
      const std::string after = !token.empty() && token[0] == 'g' ? token.substr(1) : std::string();
      std::string last = after;
      for (const auto& [pk, d] : apps) {
        if (!after.empty() && pk <= after) continue;
        if (sent == limit) break;
        const auto& b = d.key_add_body();
        Signer* s = resp->add_signers();
        s->set_source(SIGNER_SOURCE_OFFCHAIN);
        s->set_key(pk);
        s->set_key_type(b.key_type());
        s->set_fid(req->fid());
        const uint64_t added = uint64_t{d.timestamp()} + 1609459200;  // Farcaster time to Unix seconds
        s->set_added_at(added);
        s->set_last_used_at(added);  // nothing bumps it here (TTLs of 90 days: nothing expires)
        s->set_ttl(b.ttl());
        if (b.ttl() > 0) s->set_expires_at(added + b.ttl());
        for (int sc : b.scopes()) s->add_scopes(sc);
        s->set_request_fid(1 + req->fid() % 7);  // the request fid of the test node's metadata
        s->set_nonce(b.nonce());
        last = pk;
        ++sent;
      }
      if (sent == limit) next = "g" + last;
    }
    if (!next.empty()) resp->set_next_page_token(next);
    return Done(ctx, Status::OK);
  }

  ServerUnaryReactor* GetOnChainEvents(CallbackServerContext* ctx, const OnChainEventRequest* req,
                                       OnChainEventResponse* resp) override {
    std::shared_lock<std::shared_mutex> l(srv_->mutex());
    const Node& n = srv_->node();
    if (const FidState* f = n.Fid(req->fid())) {
      for (uint32_t i : f->onchain) {
        if (n.Onchain(i).type == req->event_type()) resp->add_events()->ParseFromString(n.Onchain(i).bytes);
      }
    }
    return Done(ctx, Status::OK);  // every event, never a next_page_token (as the node)
  }

  ServerUnaryReactor* GetIdRegistryOnChainEvent(CallbackServerContext* ctx, const FidRequest* req,
                                                OnChainEvent* resp) override {
    std::shared_lock<std::shared_mutex> l(srv_->mutex());
    const Node& n = srv_->node();
    if (const FidState* f = n.Fid(req->fid())) {
      for (uint32_t i : f->onchain) {
        if (n.Onchain(i).type == EVENT_TYPE_ID_REGISTER) {
          resp->ParseFromString(n.Onchain(i).bytes);
          return Done(ctx, Status::OK);
        }
      }
    }
    return Done(ctx, Status(StatusCode::NOT_FOUND, "no id registry event for fid"));
  }

  // Channel state reads (docs/channels-and-keys.md 4.2), from the ChannelModel: NOT_FOUND
  // for a channel no REGISTER made known, INVALID_ARGUMENT for a channel id that is not 32
  // bytes, page_size 0, or a token another channel minted. Lists are in key order (target
  // fid; cast hash), page_size clamped to 1000 (the default); the token is the channel id
  // and the last key sent, and a full page always carries one, so a list that ends on a
  // page boundary ends with one empty page, as the node's may.
  static constexpr uint32_t kChannelPageMax = 1000;
  Status ChannelOf(const std::string& id, const ChannelState** out) const {
    if (id.size() != 32) return Status(StatusCode::INVALID_ARGUMENT, "channel_id must be 32 bytes");
    *out = srv_->node().Channel(id);
    if (!*out) return Status(StatusCode::NOT_FOUND, "channel not registered");
    return Status::OK;
  }
  template <typename Req>
  static Status ChannelPage(const Req& req, const std::string& id, uint32_t* size, std::optional<std::string>* after) {
    if (req.has_page_size() && req.page_size() == 0)
      return Status(StatusCode::INVALID_ARGUMENT,
                    "page_size must be greater than zero; omit it for the server default");
    *size = req.has_page_size() ? std::min(req.page_size(), kChannelPageMax) : kChannelPageMax;
    if (req.has_page_token() && !req.page_token().empty()) {
      if (req.page_token().size() <= 32 || req.page_token().compare(0, 32, id) != 0)
        return Status(StatusCode::INVALID_ARGUMENT, "page token of another channel");
      *after = req.page_token().substr(32);
    }
    return Status::OK;
  }

  ServerUnaryReactor* GetChannelMetadata(CallbackServerContext* ctx, const ChannelRequest* req,
                                         ChannelMetadataResponse* resp) override {
    std::shared_lock<std::shared_mutex> l(srv_->mutex());
    const ChannelState* c = nullptr;
    if (Status s = ChannelOf(req->channel_id(), &c); !s.ok()) return Done(ctx, s);
    ChannelUpdateBody u;
    resp->set_casting_mode(CASTING_MODE_MEMBERS_ONLY);
    resp->set_membership_mode(MEMBERSHIP_MODE_APPROVAL);
    if (srv_->node().ChannelUpdateOf(*c, &u)) {
      if (u.has_name()) resp->set_name(u.name());
      if (u.has_description()) resp->set_description(u.description());
      if (u.has_image_url()) resp->set_image_url(u.image_url());
      if (u.has_header()) resp->set_header(u.header());
      if (u.has_rules()) resp->set_rules(u.rules());
      if (u.has_casting_mode() && u.casting_mode() != CASTING_MODE_NONE) resp->set_casting_mode(u.casting_mode());
      resp->set_membership_mode(static_cast<MembershipMode>(c->membership_mode));
    }
    return Done(ctx, Status::OK);
  }

  ServerUnaryReactor* GetChannelPin(CallbackServerContext* ctx, const ChannelRequest* req,
                                    ChannelPinResponse* resp) override {
    std::shared_lock<std::shared_mutex> l(srv_->mutex());
    const ChannelState* c = nullptr;
    if (Status s = ChannelOf(req->channel_id(), &c); !s.ok()) return Done(ctx, s);
    if (c->pin != kNone && !c->pinned.empty()) {  // an unpin reads as no pin
      resp->mutable_pin()->set_cast_hash(c->pinned);
      resp->mutable_pin()->set_author_fid(srv_->node().Msg(c->pin).fid);
    }
    return Done(ctx, Status::OK);
  }

  ServerUnaryReactor* GetChannelMembers(CallbackServerContext* ctx, const ChannelMembersRequest* req,
                                        ChannelMembersResponse* resp) override {
    std::shared_lock<std::shared_mutex> l(srv_->mutex());
    const ChannelState* c = nullptr;
    if (Status s = ChannelOf(req->channel_id(), &c); !s.ok()) return Done(ctx, s);
    uint32_t size = 0;
    std::optional<std::string> after;
    if (Status s = ChannelPage(*req, req->channel_id(), &size, &after); !s.ok()) return Done(ctx, s);
    if (req->has_reverse() && req->reverse()) return Done(ctx, Status(StatusCode::UNIMPLEMENTED, "reverse"));
    auto it = c->members.begin();
    if (after) {
      auto last = ParseBe64(*after);
      if (!last) return Done(ctx, Status(StatusCode::INVALID_ARGUMENT, "bad page token"));
      it = c->members.upper_bound(*last);
    }
    const int filter = req->has_state_filter() ? static_cast<int>(req->state_filter()) : 0;
    uint32_t n = 0;
    for (; it != c->members.end() && n < size; ++it) {
      const int state = static_cast<int>(it->second.second);  // MemberState has the proto's numbers
      if (filter != 0 && state != filter) continue;
      auto* m = resp->add_members();
      m->set_fid(it->first);
      m->set_state(static_cast<ChannelMemberState>(state));
      if (++n == size) resp->set_next_page_token(req->channel_id() + Be64(it->first));
    }
    return Done(ctx, Status::OK);
  }

  ServerUnaryReactor* GetChannelModerations(CallbackServerContext* ctx, const ChannelModerationsRequest* req,
                                            ChannelModerationsResponse* resp) override {
    std::shared_lock<std::shared_mutex> l(srv_->mutex());
    const ChannelState* c = nullptr;
    if (Status s = ChannelOf(req->channel_id(), &c); !s.ok()) return Done(ctx, s);
    uint32_t size = 0;
    std::optional<std::string> after;
    if (Status s = ChannelPage(*req, req->channel_id(), &size, &after); !s.ok()) return Done(ctx, s);
    if (req->has_reverse() && req->reverse()) return Done(ctx, Status(StatusCode::UNIMPLEMENTED, "reverse"));
    auto it = after ? c->moderations.upper_bound(*after) : c->moderations.begin();
    uint32_t n = 0;
    for (; it != c->moderations.end() && n < size; ++it) {
      auto* m = resp->add_moderations();
      m->set_cast_hash(it->first);
      m->set_action(it->second.second ? CHANNEL_MODERATE_ACTION_HIDE : CHANNEL_MODERATE_ACTION_UNHIDE);
      m->set_author_fid(srv_->node().Msg(it->second.first).fid);
      if (++n == size) resp->set_next_page_token(req->channel_id() + it->first);
    }
    return Done(ctx, Status::OK);
  }

  ServerUnaryReactor* GetCurrentStorageLimitsByFid(CallbackServerContext* ctx, const FidRequest* req,
                                                   StorageLimitsResponse* resp) override {
    std::shared_lock<std::shared_mutex> l(srv_->mutex());
    const Node& n = srv_->node();
    const FidState* f = n.Fid(req->fid());
    const uint32_t units = f ? f->units : 0;
    resp->set_units(units);
    auto* ud = resp->add_unit_details();
    ud->set_unit_type(UNIT_TYPE_2024);
    ud->set_unit_size(units);
    ud->set_purchased_unit_size(units);
    const std::pair<Store, StoreType> stores[] = {{Store::kCast, STORE_TYPE_CASTS},
                                                  {Store::kLink, STORE_TYPE_LINKS},
                                                  {Store::kReaction, STORE_TYPE_REACTIONS},
                                                  {Store::kUserData, STORE_TYPE_USER_DATA},
                                                  {Store::kVerification, STORE_TYPE_VERIFICATIONS},
                                                  {Store::kUsernameProof, STORE_TYPE_USERNAME_PROOFS},
                                                  {Store::kLendStorage, STORE_TYPE_STORAGE_LENDS}};
    for (const auto& [s, t] : stores) {
      auto* lim = resp->add_limits();
      lim->set_store_type(t);
      lim->set_name(StoreName(s));
      lim->set_limit(uint64_t{StoreLimitPerUnit(s)} * std::max<uint32_t>(units, 1));
      const auto held = n.HeldSorted(req->fid(), s);
      lim->set_used(held.size());
      if (!held.empty()) {
        lim->set_earliesttimestamp(n.Msg(held.front()).ts);
        lim->set_earliesthash(std::string(reinterpret_cast<const char*>(n.Msg(held.front()).hash.data()), 20));
      }
    }
    return Done(ctx, Status::OK);
  }

 private:
  // Error-only stream for a rejected Subscribe.
  class ErrorWriter : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
   public:
    explicit ErrorWriter(const Status& st) { Finish(st); }
    void OnDone() override { delete this; }
  };

  ServerUnaryReactor* ByFid(CallbackServerContext* ctx, const FidRequest* req, Store s, MessagesResponse* resp) {
    std::shared_lock<std::shared_mutex> l(srv_->mutex());
    const Node& n = srv_->node();
    return Done(ctx, PageMessages(n, n.ServedSorted(req->fid(), s), req->page_size(), req->page_token(), req->reverse(),
                                  std::nullopt, std::nullopt, resp));
  }

  ServerUnaryReactor* AllByFid(CallbackServerContext* ctx, const FidTimestampRequest* req, Store s,
                               MessagesResponse* resp) {
    std::shared_lock<std::shared_mutex> l(srv_->mutex());
    const Node& n = srv_->node();
    return Done(ctx, PageMessages(n, n.ServedSorted(req->fid(), s), req->page_size(), req->page_token(), req->reverse(),
                                  OptTs(req->has_start_timestamp(), req->start_timestamp()),
                                  OptTs(req->has_stop_timestamp(), req->stop_timestamp()), resp));
  }

  NodeServer* srv_;
};

// ---- NodeServer -----------------------------------------------------------------------

NodeServer::NodeServer(std::unique_ptr<Node> node, FaultOptions faults) : node_(std::move(node)), faults_(faults) {}

NodeServer::~NodeServer() { Shutdown(); }

int NodeServer::Start(int port) {
  service_ = std::make_unique<HubServiceImpl>(this);
  grpc::ServerBuilder b;
  int bound = 0;
  b.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(), &bound);
  b.RegisterService(service_.get());
  b.SetMaxSendMessageSize(256 << 20);
  server_ = b.BuildAndStart();
  if (!server_) return 0;
  return bound;
}

void NodeServer::Shutdown() {
  std::vector<SubscribeReactor*> subs;
  {
    std::lock_guard<std::mutex> l(subs_mu_);
    if (stopping_ && !server_) return;
    stopping_ = true;
    for (auto* r : subs_) r->FinishOnce(Status(StatusCode::UNAVAILABLE, "test node shutting down"));
  }
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
    server_.reset();
  }
}

bool NodeServer::stopping() const {
  std::lock_guard<std::mutex> l(subs_mu_);
  return stopping_;
}

void NodeServer::Register(SubscribeReactor* r) {
  std::lock_guard<std::mutex> l(subs_mu_);
  subs_.insert(r);
}

void NodeServer::Unregister(SubscribeReactor* r) {
  std::lock_guard<std::mutex> l(subs_mu_);
  subs_.erase(r);
}

void NodeServer::NotifyAll() {
  std::lock_guard<std::mutex> l(subs_mu_);
  for (auto* r : subs_) r->Pump();
}

bool NodeServer::WriteStateFile(const std::string& path) const {
  const std::vector<std::string> lines = Read([](const Node& n) { return n.StateLines(); });
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    for (const auto& line : lines) out << line << '\n';
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace waypoint::testnode
