// Deterministic dataset generator: from a seed and a size, a history of submitted
// messages, on-chain events and fname proofs over blocks, fed through the Node's store
// model (which decides what merges). The same generator produces live blocks.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "waypoint/testnode/node.hpp"

namespace waypoint::testnode {

struct GeneratorOptions {
  uint64_t seed = 1;
  uint32_t fids = 200;
  uint32_t messages_per_fid = 20;
  uint32_t blocks = 0;  // 0 = automatic from the size
  unsigned sign_threads = 2;
  // After each submission, with this probability, a forged cast of the same fid (the
  // kinds taken in turn); drawn from its own random stream, so the rest of the history
  // is the same with or without forgeries.
  double forge_rate = 0;
  std::vector<Forgery> forge_kinds;
  // KEY_ADD / KEY_REMOVE (app keys: adds, upserts, removes, re-adds, refused ones) and
  // messages signed by the held app keys within their scopes.
  bool app_keys = true;
  // Channels (docs/test-node.md): a few registered channels, registry renews and transfers,
  // owners verifying their address, and channel messages of every kind admitted (or
  // refused) by the node's authority rules; drawn from their own random stream, after each
  // block's other submissions, so the rest of the history is the same with or without them.
  bool channels = true;
};

class Generator {
 public:
  Generator(Node& node, GeneratorOptions opt);

  // Builds the whole initial history (registrations, then ops over the blocks) and
  // signs it. Returns the number of planned blocks.
  uint64_t BuildHistory();
  // Appends `blocks` more blocks to the history at the history's op rate, deterministically
  // (the same seed and size give the same extra blocks). Run after BuildHistory: the node
  // then holds a later state of the same history (more removes, prunes, revokes, fname
  // transfers), as a node that went on while a mirror was not listening.
  uint64_t ExtraHistory(uint32_t blocks);
  // One more block with `ops` submissions at planned block `planned_block()+1`.
  // Returns the number of events (other than BLOCK_CONFIRMED) it produced.
  uint64_t LiveBlock(uint32_t ops);
  uint64_t last_planned_block() const { return planned_; }

 private:
  struct GenFid {
    uint32_t last_ts = 0;
    uint32_t key = 0;
    uint32_t counter = 0;
    std::vector<Hash20> casts;         // recent own cast hashes
    std::vector<std::string> reacted;  // serialized ReactionBody targets used
    MessageData last;
    bool has_last = false;
    bool registered = false;
    bool removed_a_key = false;  // every history removes an app key (KeyOp)
  };

  uint64_t Rand(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  bool Chance(uint32_t percent) { return Rand(100) < percent; }
  void Register(uint64_t fid);
  void Op(uint64_t fid);
  void Submit(uint64_t fid, MessageData d);
  void KeyOp(uint64_t fid);
  void ChannelOps(uint64_t ops);
  void ChannelOp();
  void RegisterChannels();
  uint64_t ChanRand(uint64_t n) { return n == 0 ? 0 : chan_rng_() % n; }
  bool ChanChance(uint32_t percent) { return ChanRand(100) < percent; }
  uint64_t ChanFid();
  void ChannelSubmit(MessageData d, uint64_t author);
  void VerifyAddress(uint64_t fid, const std::string& address);
  uint32_t Timestamp(GenFid& g);
  std::string Bytes(size_t n);
  uint64_t RandomFid();
  uint64_t CountEvents() const;

  Node& node_;
  GeneratorOptions opt_;
  std::mt19937_64 rng_;
  std::mt19937_64 forge_rng_;
  uint64_t forged_ = 0;
  std::vector<GenFid> gen_;  // index = fid - 1
  std::vector<uint64_t> registered_;
  std::vector<std::pair<uint64_t, Hash20>> recent_casts_;  // ring of any fid's casts
  std::vector<std::string> fnames_;
  uint64_t planned_ = 0;
  std::mt19937_64 chan_rng_;
  std::vector<std::string> channel_ids_;  // channels registered (ids)
  std::vector<uint32_t> channel_msgs_;    // channel messages merged, for resubmissions
  std::vector<std::string> hidden_pool_;  // cast hashes moderated, so hides meet unhides
};

}  // namespace waypoint::testnode
