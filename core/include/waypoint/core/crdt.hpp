// The batch reducers of the apply: one row per message and one candidate per (key,
// message) before the set-based statements run, which cannot touch a row twice.
// Which candidate wins a key is the SQL of sql/apply/ (docs/apply-semantics.md), the
// only copy of that rule; test/integration/apply_property.cpp tests it against a
// simulated node.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "waypoint/core/rows.hpp"

namespace waypoint::core {

// Drops repeated (key, hash) rows, first seen kept: the statement ranks the rest.
template <typename Row>
std::vector<Row> DedupeCandidates(std::vector<Row> rows) {
  std::vector<Row> out;
  out.reserve(rows.size());
  std::unordered_set<std::string> seen;
  seen.reserve(rows.size());
  for (Row& r : rows) {
    if (seen.insert(r.Key() + r.c.message_hash).second) out.push_back(std::move(r));
  }
  return out;
}

// Messages by hash; lifecycle flags are OR-ed, the earliest known event time kept, the
// latest merge and tombstone event ids kept.
std::vector<MessageRow> ReduceMessages(std::vector<MessageRow> rows);
// Proofs by (name, timestamp, signature): the same proof OR-s `deleted` and keeps the
// latest event ids. Per name the statement keeps the highest alive proof (else a dead one).
std::vector<ProofRow> ReduceProofs(std::vector<ProofRow> rows);
// KEY_ADDs by (fid, key, hash), as DedupeCandidates, but a copy that names the KEY_REMOVE
// which deleted it gives the kept one that remove.
std::vector<AppKeyRow> ReduceAppKeys(std::vector<AppKeyRow> rows);
// Channel slot rows by (slot, hash): the same message merged again keeps its latest merge
// event (a re-merge of a superseded message takes the slot again).
template <typename Row>
std::vector<Row> ReduceChannelSlots(std::vector<Row> rows) {
  std::vector<Row> out;
  out.reserve(rows.size());
  std::unordered_map<std::string, size_t> index;
  for (Row& r : rows) {
    auto [it, inserted] = index.emplace(r.Key() + r.s.message_hash, out.size());
    if (inserted) {
      out.push_back(std::move(r));
    } else if (r.s.merge_event > out[it->second].s.merge_event) {
      out[it->second].s.merge_event = r.s.merge_event;
    }
  }
  return out;
}
// Channel registry events by (tx_hash, log_index), first copy kept.
std::vector<ChannelRegistryRow> ReduceChannelRegistry(std::vector<ChannelRegistryRow> rows);
// On-chain events by (tx_hash, log_index); the first copy is kept (copies are equal).
std::vector<OnChainRow> ReduceOnChain(std::vector<OnChainRow> rows);

// Reduces every table of a RowSet in place.
void ReduceRowSet(RowSet& rows);

}  // namespace waypoint::core
