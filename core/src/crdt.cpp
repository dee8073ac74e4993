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
  }
  return out;
}

std::vector<ProofRow> ReduceProofs(const std::vector<ProofRow>& rows) {
  std::vector<ProofRow> out;
  std::unordered_map<std::string, size_t> index;
  for (const ProofRow& r : rows) {
    auto [it, inserted] = index.emplace(r.name, out.size());
    if (inserted) {
      out.push_back(r);
      continue;
    }
    ProofRow& cur = out[it->second];
    int c = CompareProofs(r, cur);
    if (c > 0) {
      cur = r;
    } else if (c == 0) {
      cur.deleted |= r.deleted;
    }
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
  r.casts = ReduceByKey(Store::kCast, r.casts);
  r.reactions = ReduceByKey(Store::kReaction, r.reactions);
  r.links = ReduceByKey(Store::kLink, r.links);
  r.link_compact_states = ReduceByKey(Store::kLinkCompactState, r.link_compact_states);
  r.verifications = ReduceByKey(Store::kVerification, r.verifications);
  r.user_data = ReduceByKey(Store::kUserData, r.user_data);
  r.username_proof_messages = ReduceByKey(Store::kUsernameProof, r.username_proof_messages);
  r.lend_storage = ReduceByKey(Store::kLendStorage, r.lend_storage);
  r.proofs = ReduceProofs(r.proofs);
  r.onchain = ReduceOnChain(r.onchain);
}

}  // namespace waypoint::core
