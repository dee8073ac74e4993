// The Snapchain node as the sidecar sees it: one gRPC channel (keepalive, optional TLS,
// API-key header), unary calls that return the node's *raw* response bytes (so payloads
// reach Redis byte-for-byte as the node sent them), the shared request rate limit and
// the circuit breaker, and a minimal protobuf wire walker to cut repeated fields out of
// raw responses without re-serializing them.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include <thread>
#include <condition_variable>
#include <mutex>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "hub_event.pb.h"
#include "request_response.pb.h"
#include "util.hpp"

namespace waypoint::sidecar {

// ForEachLengthDelimited calls fn(field_number, bytes) for every length-delimited
// field at the top level of a protobuf message. Returns false on malformed input.
bool ForEachLengthDelimited(std::string_view msg, const std::function<void(uint32_t, std::string_view)>& fn);
// RepeatedBytes returns the raw bytes of every occurrence of `field` (length-delimited).
bool RepeatedBytes(std::string_view msg, uint32_t field, std::vector<std::string>* out, std::string* token,
                   uint32_t token_field);

std::string ByteBufferToString(const grpc::ByteBuffer& buf);

// What the sidecar needs to know about one HubEvent.
struct EventInfo {
  bool decoded = false;
  uint64_t id = 0;
  int type = 0;
  uint64_t fid = 0;
  // BLOCK_CONFIRMED only:
  std::map<int, uint64_t> counts;  // event_counts_by_type
  uint64_t max_seq = 0;
};
EventInfo InspectEvent(const std::string& bytes);
// FidOfEvent: the fid an event belongs to (proof's fid, then deleted proof's fid, for
// username proofs; 0 when none).
uint64_t FidOfEvent(const HubEvent& e);

class Node {
 public:
  Node(const Config& cfg, std::atomic<bool>* stop);
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  // PrepareContext sets the API-key header and, for unary calls (deadline), the deadline.
  // Streams wait for the channel to be ready (the watchdog bounds the wait); unary calls
  // fail fast instead so a shutdown never waits out a deadline against a dead node.
  void PrepareContext(grpc::ClientContext* ctx, bool deadline) const;
  // CallRaw does one unary call through the rate limiter and breaker; raw response in *out.
  // `abort` (optional) also ends waiting for the breaker or the rate limiter.
  grpc::Status CallRaw(const std::string& method, const google::protobuf::MessageLite& req, std::string* out,
                       const std::atomic<bool>* abort = nullptr);
  // Typed convenience for small control calls.
  grpc::Status GetInfo(GetInfoResponse* out, const std::atomic<bool>* abort = nullptr);
  CircuitBreaker& breaker() { return breaker_; }
  TokenBucket& limiter() { return limiter_; }
  const Config& config() const { return cfg_; }
  // PublishBreaker puts the breaker state into the metrics
  // (waypoint_sidecar_breaker_state{dependency="node"}: 0 closed, 1 half-open, 2 open)
  // and logs each change of state once.
  void PublishBreaker();
  int in_flight() const { return in_flight_.load(); }
  int max_in_flight_seen() const { return max_in_flight_seen_.load(); }

 private:
  // Concurrency cap toward the node (node.max_in_flight), shared by every caller.
  bool EnterFlight(const std::function<bool()>& stopping);
  void LeaveFlight();

  const Config& cfg_;
  std::atomic<bool>* stop_;
  std::shared_ptr<grpc::Channel> channel_;
  CircuitBreaker breaker_;
  TokenBucket limiter_;
  std::mutex flight_mu_;
  std::condition_variable flight_cv_;
  std::atomic<int> in_flight_{0}, max_in_flight_seen_{0};
  std::mutex publish_mu_;
  int published_state_ = -1;
  uint64_t published_opened_ = 0;
};

// ErrorClassOf sorts a failed node call: "transient" (unavailable, timeouts, overload,
// rate limited: retried with capped exponential backoff and jitter, and counted by the
// breaker) or "permanent" (invalid argument, not found, unimplemented...: not retried).
const char* ErrorClassOf(const grpc::Status& s);

// Retryable says whether a failed call is worth retrying (transport trouble, overload).
bool Retryable(const grpc::Status& s);

}  // namespace waypoint::sidecar
