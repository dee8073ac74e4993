// The test node's gRPC server: HubService (proto/rpc.proto) over a Node, on 127.0.0.1.
// Subscribe is a raw (ByteBuffer) callback stream so that fault switches can send bytes
// that do not decode; everything else is the typed callback API. Faults apply to
// Subscribe streams only; GetEvent(s) and bulk reads always tell the truth.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>

#include "waypoint/testnode/node.hpp"

namespace waypoint::testnode {

struct FaultOptions {
  uint64_t drop_every = 0;    // close each stream with UNAVAILABLE after N events (0 = never)
  double duplicate_rate = 0;  // probability an event is sent twice in a row
  double garble_rate = 0;     // probability an event is sent as bytes that do not decode
  double withhold = 0;        // probability an event (never BLOCK_CONFIRMED) is skipped
  uint64_t stall_after = 0;   // stop sending after N events, keep the stream open (0 = never)
  bool lag_skip = false;      // a subscriber more than lag_capacity behind silently skips
  uint64_t lag_capacity = 10000;
  uint64_t seed = 1;  // fault decisions are a deterministic function of (seed, event id)
};

// Whether fault `kind` hits event `id` at probability `rate` (deterministic).
bool FaultHits(uint64_t seed, uint32_t kind, uint64_t id, double rate);
// Bytes that cannot be parsed as a HubEvent, derived from real event bytes.
std::string GarbleBytes(const std::string& event_bytes);

class SubscribeReactor;

class NodeServer {
 public:
  NodeServer(std::unique_ptr<Node> node, FaultOptions faults);
  ~NodeServer();
  NodeServer(const NodeServer&) = delete;
  NodeServer& operator=(const NodeServer&) = delete;

  // Listens on 127.0.0.1:port (0 = any free port); returns the bound port, or 0.
  int Start(int port);
  // Ends every stream with UNAVAILABLE and stops the server.
  void Shutdown();

  // Exclusive access (block production), then wakes every subscriber.
  template <class F>
  void Mutate(F&& f) {
    {
      std::unique_lock<std::shared_mutex> l(mu_);
      f(*node_);
    }
    NotifyAll();
  }
  template <class F>
  auto Read(F&& f) const {
    std::shared_lock<std::shared_mutex> l(mu_);
    return f(static_cast<const Node&>(*node_));
  }
  // Writes the sorted state lines atomically (tmp file + rename).
  bool WriteStateFile(const std::string& path) const;

  // Used by the service implementation.
  const Node& node() const { return *node_; }
  std::shared_mutex& mutex() const { return mu_; }
  const FaultOptions& faults() const { return faults_; }
  void Register(SubscribeReactor* r);
  void Unregister(SubscribeReactor* r);
  bool stopping() const;

 private:
  void NotifyAll();

  std::unique_ptr<Node> node_;
  FaultOptions faults_;
  mutable std::shared_mutex mu_;
  mutable std::mutex subs_mu_;
  std::set<SubscribeReactor*> subs_;
  bool stopping_ = false;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace waypoint::testnode
