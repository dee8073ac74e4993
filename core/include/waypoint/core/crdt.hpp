// The node's conflict order, and the rules that make apply exact.
//
// Every message ever seen for a store key is a candidate. Per message the database keeps
// the latest MERGE event id and the latest tombstone event id (prune, revoke, superseded:
// both maxes, so any order and duplicates converge); the message is ALIVE unless its
// latest tombstone is at or after its latest merge (a later merge of the same message
// revives it; a backfill page has no event id and never revives). Per key the row holds
// the highest ALIVE candidate, or, when none is alive, a dead one (out of the live views
// and state lines). The SQL upserts (extension/src/apply/apply.cpp) implement exactly
// CompareInBatch (one candidate per key per statement) and Replaces (ON CONFLICT WHERE).
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

// Store order of two candidates of the same key (docs/apply-semantics.md, "Store order"):
//   casts:  remove beats add first, then timestamp, then hash bytes
//   others: timestamp, then remove beats add, then hash bytes
// Returns <0, 0, >0 like memcmp; 0 only for the same hash.
int CompareCandidates(Store store, const Candidate& a, const Candidate& b);

// Fname/ENS proof order: timestamp, then signature bytes.
int CompareProofs(const ProofRow& a, const ProofRow& b);

// Whether a message with these latest merge / tombstone event ids is alive.
inline bool Alive(const std::optional<int64_t>& merge_event, const std::optional<int64_t>& death_event) {
  return !death_event || (merge_event && *merge_event > *death_event);
}

// A candidate as the database sees it once the batch's messages are written.
struct Standing {
  Candidate c;
  bool alive = true;
  std::optional<int64_t> merge_event;  // latest merge event id; none: pages/tombstones only
};

// Order of two candidates of one key inside a batch (the statement keeps the highest):
// alive first; among alive ones the later merge event (none sorts lowest); then store order.
int CompareInBatch(Store store, const Standing& a, const Standing& b);

// Whether an incoming candidate replaces the row's winner (a different message):
//   both alive: the later merge event when both have one and the fid is the same (a
//     message merged later was merged while the other was not held, or superseded it),
//     else store order;
//   one alive, one dead: the alive one (a 'reconciled' row counts as dead);
//   both dead: store order.
// The same message offered again always refreshes the row (lifecycle, confirmed_seq).
bool Replaces(Store store, const Standing& incoming, const Standing& winner);

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
// On-chain events by (tx_hash, log_index); the first copy is kept (copies are equal).
std::vector<OnChainRow> ReduceOnChain(std::vector<OnChainRow> rows);

// Reduces every table of a RowSet in place.
void ReduceRowSet(RowSet& rows);

}  // namespace waypoint::core
