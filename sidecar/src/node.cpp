#include "node.hpp"

#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/impl/rpc_method.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "metrics.hpp"
#include "waypoint/core/errors.hpp"

namespace waypoint::sidecar {

namespace {

bool ReadVarint(std::string_view& in, uint64_t* v) {
  uint64_t out = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    const uint8_t b = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    out |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = out;
      return true;
    }
  }
  return false;
}

}  // namespace

bool ForEachLengthDelimited(std::string_view msg, const std::function<void(uint32_t, std::string_view)>& fn) {
  while (!msg.empty()) {
    uint64_t key = 0;
    if (!ReadVarint(msg, &key)) return false;
    const uint32_t field = static_cast<uint32_t>(key >> 3);
    switch (key & 7) {
      case 0: {
        uint64_t ignored;
        if (!ReadVarint(msg, &ignored)) return false;
        break;
      }
      case 1:
        if (msg.size() < 8) return false;
        msg.remove_prefix(8);
        break;
      case 5:
        if (msg.size() < 4) return false;
        msg.remove_prefix(4);
        break;
      case 2: {
        uint64_t len = 0;
        if (!ReadVarint(msg, &len) || len > msg.size()) return false;
        fn(field, msg.substr(0, len));
        msg.remove_prefix(len);
        break;
      }
      default: return false;
    }
  }
  return true;
}

bool RepeatedBytes(std::string_view msg, uint32_t field, std::vector<std::string>* out, std::string* token,
                   uint32_t token_field) {
  return ForEachLengthDelimited(msg, [&](uint32_t f, std::string_view v) {
    if (f == field)
      out->emplace_back(v);
    else if (token && f == token_field)
      token->assign(v);
  });
}

std::string ByteBufferToString(const grpc::ByteBuffer& buf) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buf.Dump(&slices).ok()) return out;
  out.reserve(buf.Length());
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

uint64_t FidOfEvent(const HubEvent& e) {
  switch (e.body_case()) {
    case HubEvent::kMergeMessageBody: return e.merge_message_body().message().data().fid();
    case HubEvent::kPruneMessageBody: return e.prune_message_body().message().data().fid();
    case HubEvent::kRevokeMessageBody: return e.revoke_message_body().message().data().fid();
    case HubEvent::kMergeOnChainEventBody: return e.merge_on_chain_event_body().on_chain_event().fid();
    case HubEvent::kMergeUsernameProofBody: {
      const auto& b = e.merge_username_proof_body();
      if (b.username_proof().fid() != 0) return b.username_proof().fid();
      if (b.deleted_username_proof().fid() != 0) return b.deleted_username_proof().fid();
      if (b.username_proof_message().data().fid() != 0) return b.username_proof_message().data().fid();
      return b.deleted_username_proof_message().data().fid();
    }
    case HubEvent::kMergeFailure: return e.merge_failure().message().data().fid();
    default: return 0;
  }
}

EventInfo InspectEvent(const std::string& bytes) {
  EventInfo info;
  HubEvent e;
  if (!e.ParseFromString(bytes)) return info;
  info.decoded = true;
  info.id = e.id();
  info.type = e.type();
  info.fid = FidOfEvent(e);
  if (e.has_block_confirmed_body()) {
    for (const auto& [t, n] : e.block_confirmed_body().event_counts_by_type()) info.counts[t] = n;
    info.max_seq = e.block_confirmed_body().max_block_event_seqnum();
  }
  return info;
}

Node::Node(const Config& cfg, std::atomic<bool>* stop)
    : cfg_(cfg),
      stop_(stop),
      breaker_(cfg.breaker_failures, cfg.breaker_open_ms),
      limiter_(cfg.node_rps, std::max(1.0, cfg.node_rps)) {
  grpc::ChannelArguments args;
  // Keepalive pings detect a dead TCP path even when the node sends nothing.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 256 * 1024 * 1024);
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (cfg.node_tls) {
    grpc::SslCredentialsOptions o;
    if (!cfg.node_ca_file.empty()) {
      std::ifstream f(cfg.node_ca_file);
      if (!f) throw core::Error(core::ErrorClass::kConfig, "node.ca_file '" + cfg.node_ca_file + "' cannot be read");
      std::stringstream ss;
      ss << f.rdbuf();
      o.pem_root_certs = ss.str();
    }
    creds = grpc::SslCredentials(o);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  channel_ = grpc::CreateCustomChannel(cfg.node_addr, creds, args);
}

void Node::PrepareContext(grpc::ClientContext* ctx, bool deadline) const {
  ctx->set_wait_for_ready(!deadline);
  if (!cfg_.api_key_header.empty()) ctx->AddMetadata(cfg_.api_key_header, cfg_.api_key);
  if (deadline) ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(cfg_.node_timeout_ms));
}

void Node::PublishBreaker() {
  const auto st = breaker_.state(NowMs());
  const int v = st == CircuitBreaker::State::kClosed ? 0 : st == CircuitBreaker::State::kHalfOpen ? 1 : 2;
  GlobalMetrics().Set("waypoint_sidecar_breaker_state", Label("dependency", "node"), v);
  GlobalMetrics().Set("waypoint_sidecar_breaker_open", "", v == 2 ? 1 : 0);
  const uint64_t opened = breaker_.opened_count();
  GlobalMetrics().Set("waypoint_sidecar_breaker_opened_total", Label("dependency", "node"),
                      static_cast<double>(opened));
  std::lock_guard<std::mutex> l(publish_mu_);
  if (v == published_state_ && opened == published_opened_) return;
  if (v == 2 && opened != published_opened_)
    spdlog::warn("node circuit breaker open ({} consecutive failures or a failed trial); next trial in {} ms",
                 cfg_.breaker_failures, cfg_.breaker_open_ms);
  else if (v != published_state_ && (published_state_ != -1 || v != 0))
    spdlog::info("node circuit breaker {}", BreakerStateName(st));
  published_state_ = v;
  published_opened_ = opened;
}

bool Node::EnterFlight(const std::function<bool()>& stopping) {
  std::unique_lock<std::mutex> l(flight_mu_);
  while (in_flight_.load() >= cfg_.node_max_in_flight) {
    if (stopping()) return false;
    flight_cv_.wait_for(l, Ms(50));
  }
  const int n = ++in_flight_;
  int seen = max_in_flight_seen_.load();
  while (n > seen && !max_in_flight_seen_.compare_exchange_weak(seen, n)) {
  }
  GlobalMetrics().Set("waypoint_sidecar_node_in_flight", "", n);
  return true;
}

void Node::LeaveFlight() {
  {
    std::lock_guard<std::mutex> l(flight_mu_);
    GlobalMetrics().Set("waypoint_sidecar_node_in_flight", "", --in_flight_);
  }
  flight_cv_.notify_one();
}

grpc::Status Node::CallRaw(const std::string& method, const google::protobuf::MessageLite& req, std::string* out,
                           const std::atomic<bool>* abort) {
  auto stopping = [&] { return (stop_ && stop_->load()) || (abort && abort->load()); };
  // The cap and the rate limit hold for everyone (backfill fids, repairs, GetFids).
  if (!EnterFlight(stopping)) return grpc::Status(grpc::StatusCode::CANCELLED, "shutting down");
  struct Leave {
    Node* n;
    ~Leave() { n->LeaveFlight(); }
  } leave{this};
  while (!breaker_.Allow(NowMs())) {
    PublishBreaker();
    if (stopping()) return grpc::Status(grpc::StatusCode::CANCELLED, "shutting down");
    std::this_thread::sleep_for(Ms(50));
  }
  bool limited = false;
  while (!limiter_.TryAcquire(NowMs())) {
    if (!limited) GlobalMetrics().Add("waypoint_sidecar_node_rate_limited_total", "");
    limited = true;
    if (stopping()) return grpc::Status(grpc::StatusCode::CANCELLED, "shutting down");
    std::this_thread::sleep_for(Ms(std::clamp<int64_t>(limiter_.WaitMs(NowMs()), 1, 50)));
  }
  GlobalMetrics().Add("waypoint_sidecar_node_requests_total", Label("method", method));
  grpc::ClientContext ctx;
  PrepareContext(&ctx, true);
  grpc::ByteBuffer resp;
  const std::string path = "/HubService/" + method;
  grpc::internal::RpcMethod m(path.c_str(), grpc::internal::RpcMethod::NORMAL_RPC);
  grpc::Status s = grpc::internal::BlockingUnaryCall<google::protobuf::MessageLite, grpc::ByteBuffer>(channel_.get(), m,
                                                                                                      &ctx, req, &resp);
  if (s.ok()) {
    breaker_.Success();
    *out = ByteBufferToString(resp);
  } else if (Retryable(s)) {
    breaker_.Failure(NowMs());
  } else {
    breaker_.Success();  // the node answered; the request itself was refused
  }
  if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND)
    GlobalMetrics().Add("waypoint_sidecar_errors_total",
                        Label("dependency", "node") + "," + Label("class", ErrorClassOf(s)));
  PublishBreaker();
  return s;
}

const char* ErrorClassOf(const grpc::Status& s) { return Retryable(s) ? "transient" : "permanent"; }

grpc::Status Node::GetInfo(GetInfoResponse* out, const std::atomic<bool>* abort) {
  std::string raw;
  GetInfoRequest req;
  auto s = CallRaw("GetInfo", req, &raw, abort);
  if (s.ok() && !out->ParseFromString(raw)) return grpc::Status(grpc::StatusCode::INTERNAL, "undecodable GetInfo");
  return s;
}

bool Retryable(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN: return true;
    default: return false;
  }
}

}  // namespace waypoint::sidecar
