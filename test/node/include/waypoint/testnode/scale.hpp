// Scale mode of the test node (docs/test-node.md, "Scale mode"): a mainnet-shaped dataset
// of tens of millions of messages that is never held in memory. Every message is a pure
// function of (seed, fid, index): the stream is a k-way merge of the fids' message
// sequences by timestamp, generated block by block as far as the bench releases it
// (a release file), and a backfill of a fid re-walks that fid's sequence alone. Only
// small per-fid cursors and the not yet trimmed part of the event log (compact records,
// no bytes) stay in memory; message bytes are built and signed when they are sent.
//
// What a fid holds follows the node's rules for this (conflict-free by construction)
// data: removes delete the add they name, a later user data of the same type supersedes
// the earlier one, pruned adds are gone. Hashes are BLAKE3-160 of the data bytes and
// signatures real Ed25519 (a pool of 64 signer keys, one per fid, added on chain at the
// fid's registration).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "message.pb.h"

namespace waypoint::testnode {

struct ScaleOptions {
  uint64_t seed = 1;
  uint64_t messages = 1000000;  // total user messages (approximately: per-fid counts are rounded)
  uint32_t fids = 0;            // 0: messages / 600 (mainnet's ratio), at least 100
  uint32_t shards = 2;
  double alpha = 0.6;           // Pareto exponent of the per-fid message counts
  bool thread_parents = false;  // replies name earlier casts of the dataset (else synthetic hashes)
  std::string release_file;     // stream generated while its messages < the number in this file
  std::string status_file;      // progress of the generator (see docs/test-node.md)
  std::string plan_file;        // per fid: shard, messages, held messages
};

// Message kinds of the scale dataset.
enum class ScaleKind : uint8_t {
  kReactionAdd,
  kCastAdd,
  kLinkAdd,
  kUserData,
  kVerification,
  kCastRemove,
  kReactionRemove,
  kLinkRemove,
};

class ScaleDataset;

// The server: HubService over a ScaleDataset (Subscribe, GetEvents, GetInfo, GetFids and
// the bulk reads a backfill uses). Start() also starts the block producer.
class ScaleServer {
 public:
  explicit ScaleServer(const ScaleOptions& opt);
  ~ScaleServer();
  ScaleServer(const ScaleServer&) = delete;
  ScaleServer& operator=(const ScaleServer&) = delete;

  // Listens on 127.0.0.1:port (0 = any free port); returns the bound port, or 0.
  int Start(int port);
  void Shutdown();
  // One line about the dataset for the log.
  std::string Describe() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace waypoint::testnode
