// The node's conflict order, and the reduction that makes apply exact.
//
// Every message ever seen for a store key is a candidate; the key holds the highest
// candidate (a max is commutative, associative and idempotent), and the message
// lifecycle (pruned/revoked/dropped) is a set of tombstones OR-ed per hash. The SQL
// upserts apply the same rule (ON CONFLICT ... WHERE new order >= old order), so a
// batch reduced here and merged there gives the same rows as any other order.
#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "waypoint/core/rows.hpp"

namespace waypoint::core {

// Store order of two candidates of the same key (farcaster-spec.md §6.6):
//   casts:  remove beats add first, then timestamp, then hash bytes
//   others: timestamp, then remove beats add, then hash bytes
// Returns <0, 0, >0 like memcmp; 0 only for the same hash.
int CompareCandidates(Store store, const Candidate& a, const Candidate& b);

// Fname/ENS proof order: timestamp, then signature bytes.
int CompareProofs(const ProofRow& a, const ProofRow& b);

// Combines two candidates of one key: the higher wins; equal (same message) keeps `a`.
template <typename Row>
const Row& MaxCandidate(Store store, const Row& a, const Row& b) {
  return CompareCandidates(store, b.c, a.c) > 0 ? b : a;
}

// Keeps the highest row per key, first-seen key order. Used before an upsert: ON
// CONFLICT cannot touch one row twice in a statement.
template <typename Row>
std::vector<Row> ReduceByKey(Store store, const std::vector<Row>& rows) {
  std::vector<Row> out;
  std::unordered_map<std::string, size_t> index;
  for (const Row& r : rows) {
    auto [it, inserted] = index.emplace(r.Key(), out.size());
    if (inserted) {
      out.push_back(r);
    } else if (CompareCandidates(store, r.c, out[it->second].c) > 0) {
      out[it->second] = r;
    }
  }
  return out;
}

// Messages by hash; lifecycle flags are OR-ed, the earliest known event time kept.
std::vector<MessageRow> ReduceMessages(const std::vector<MessageRow>& rows);
// Proofs by name: highest (timestamp, signature); the same proof OR-s `deleted`.
std::vector<ProofRow> ReduceProofs(const std::vector<ProofRow>& rows);
// On-chain events by (tx_hash, log_index); the first copy is kept (copies are equal).
std::vector<OnChainRow> ReduceOnChain(const std::vector<OnChainRow>& rows);

// Reduces every table of a RowSet in place.
void ReduceRowSet(RowSet& rows);

}  // namespace waypoint::core
