#include "waypoint/core/crdt.hpp"

#include <algorithm>

namespace waypoint::core {
namespace {

int Cmp(uint64_t a, uint64_t b) { return a < b ? -1 : (a > b ? 1 : 0); }

// Bytewise, unsigned; a shorter prefix sorts first (as Postgres compares bytea).
int CmpBytes(const std::string& a, const std::string& b) {
  int c = a.compare(b);  // char_traits<char>::compare is memcmp-based: unsigned bytes
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

}  // namespace

int CompareCandidates(Store store, const Candidate& a, const Candidate& b) {
  int c;
  if (store == Store::kCast) {
    // A cast remove is final: it beats every add of that cast whatever the timestamps.
    if ((c = Cmp(a.removed, b.removed)) != 0) return c;
    if ((c = Cmp(a.timestamp, b.timestamp)) != 0) return c;
  } else {
    if ((c = Cmp(a.timestamp, b.timestamp)) != 0) return c;
    if ((c = Cmp(a.removed, b.removed)) != 0) return c;
  }
  return CmpBytes(a.message_hash, b.message_hash);
}

namespace {
void MaxOpt(std::optional<int64_t>& into, const std::optional<int64_t>& v) {
  if (v && (!into || *v > *into)) into = v;
}
}  // namespace

int CompareInBatch(Store store, const Standing& a, const Standing& b) {
  if (a.alive != b.alive) return a.alive ? 1 : -1;
  if (a.alive) {
    const int64_t ma = a.merge_event.value_or(-1), mb = b.merge_event.value_or(-1);
    if (ma != mb) return ma < mb ? -1 : 1;
  }
  return CompareCandidates(store, a.c, b.c);
}

bool Replaces(Store store, const Standing& in, const Standing& w) {
  if (in.c.message_hash == w.c.message_hash) return true;
  const bool higher = CompareCandidates(store, in.c, w.c) > 0;
  if (in.alive && w.alive) {
    if (in.merge_event && w.merge_event && in.c.fid == w.c.fid) return *in.merge_event > *w.merge_event;
    return higher;
  }
  // Alive beats dead. (Under any history the node can produce, an alive candidate was
  // merged at or after the dead winner's death; requiring that explicitly would, when a
  // batch picks another candidate, leave the winner's own new tombstone unrecorded.)
  if (in.alive != w.alive) return in.alive;
  return higher;
}

int CompareProofs(const ProofRow& a, const ProofRow& b) {
  int c = Cmp(a.timestamp, b.timestamp);
  if (c != 0) return c;
  return CmpBytes(a.signature, b.signature);
}

std::vector<MessageRow> ReduceMessages(const std::vector<MessageRow>& rows) {
  std::vector<MessageRow> out;
  std::unordered_map<std::string, size_t> index;
  for (const MessageRow& r : rows) {
    auto [it, inserted] = index.emplace(r.hash, out.size());
    if (inserted) {
      out.push_back(r);
      continue;
    }
    MessageRow& m = out[it->second];
    m.pruned |= r.pruned;
    m.revoked |= r.revoked;
    m.dropped |= r.dropped;
    if (r.event_unix != 0 && (m.event_unix == 0 || r.event_unix < m.event_unix)) m.event_unix = r.event_unix;
    if (m.raw.empty()) m.raw = r.raw;
    MaxOpt(m.merge_event, r.merge_event);
    MaxOpt(m.death_event, r.death_event);
  }
  return out;
}

std::vector<ProofRow> ReduceProofs(const std::vector<ProofRow>& rows) {
  std::vector<ProofRow> out;
  std::unordered_map<std::string, size_t> index;
  for (const ProofRow& r : rows) {
    // One row per proof (name, timestamp, signature); the statement picks per name.
    std::string key = r.name;
    key.push_back('\0');
    key += std::to_string(r.timestamp);
    key.push_back('\0');
    key += r.signature;
    auto [it, inserted] = index.emplace(key, out.size());
    if (inserted) {
      out.push_back(r);
      continue;
    }
    ProofRow& cur = out[it->second];
    cur.deleted |= r.deleted;
    MaxOpt(cur.merge_event, r.merge_event);
    MaxOpt(cur.death_event, r.death_event);
  }
  return out;
}

std::vector<OnChainRow> ReduceOnChain(const std::vector<OnChainRow>& rows) {
  std::vector<OnChainRow> out;
  std::unordered_map<std::string, size_t> index;
  for (const OnChainRow& r : rows) {
    if (index.emplace(r.Key(), out.size()).second) out.push_back(r);
  }
  return out;
}

void ReduceRowSet(RowSet& r) {
  r.messages = ReduceMessages(r.messages);
  r.casts = DedupeCandidates(r.casts);
  r.reactions = DedupeCandidates(r.reactions);
  r.links = DedupeCandidates(r.links);
  r.link_compact_states = DedupeCandidates(r.link_compact_states);
  r.verifications = DedupeCandidates(r.verifications);
  r.user_data = DedupeCandidates(r.user_data);
  r.username_proof_messages = DedupeCandidates(r.username_proof_messages);
  r.lend_storage = DedupeCandidates(r.lend_storage);
  r.proofs = ReduceProofs(r.proofs);
  r.onchain = ReduceOnChain(r.onchain);
}

}  // namespace waypoint::core
